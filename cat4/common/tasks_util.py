import logging

from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue_on_commit(task, *args, **kwargs) -> None:
    """Send ``task`` to the broker once the current transaction commits.

    Rolled-back work never runs; a broker hiccup after the commit is logged
    (robust=True) rather than turning a committed request into a 500.
    """
    transaction.on_commit(lambda: task.delay(*args, **kwargs), robust=True)

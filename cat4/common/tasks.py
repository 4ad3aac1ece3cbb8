"""Platform housekeeping. Runs every few minutes from beat; proves worker and beat are alive."""

import logging

from celery import shared_task
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.utils import timezone

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "housekeeping:last_run"


@shared_task(name="cat4.common.tasks.housekeeping")
def housekeeping() -> dict:
    """Delete expired sessions; record when it last ran.

    Idempotent: a second run finds nothing left to delete.
    """
    now = timezone.now()
    sessions, _ = Session.objects.filter(expire_date__lt=now).delete()
    cache.set(HEARTBEAT_KEY, now.isoformat(), timeout=None)
    result = {"expired_sessions": sessions, "at": now.isoformat()}
    logger.info("housekeeping: %s", result)
    return result

"""Platform housekeeping. Runs every few minutes from beat; proves worker and beat are alive."""

import logging

from celery import shared_task
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.utils import timezone
from django_scopes import scopes_disabled

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "housekeeping:last_run"


@shared_task(name="cat4.common.tasks.housekeeping")
def housekeeping() -> dict:
    """Delete expired sessions and lapsed invitations; record when it last ran.

    Idempotent: a second run finds nothing left to delete.
    """
    from cat4.tenancy.models import Invitation

    now = timezone.now()
    sessions, _ = Session.objects.filter(expire_date__lt=now).delete()
    with scopes_disabled():  # cross-tenant on purpose: platform clean-up
        invitations = Invitation.objects.filter(
            accepted_at__isnull=True, revoked_at__isnull=True,
            expires_at__lt=now - timezone.timedelta(days=30),
        ).update(revoked_at=now)
    cache.set(HEARTBEAT_KEY, now.isoformat(), timeout=None)
    result = {"expired_sessions": sessions, "lapsed_invitations": invitations,
              "at": now.isoformat()}
    logger.info("housekeeping: %s", result)
    return result

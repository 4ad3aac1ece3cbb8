"""Tenancy jobs."""

import logging

from celery import shared_task

from . import services

logger = logging.getLogger(__name__)


@shared_task(name="tenancy.lapse_invitations")
def lapse_invitations() -> dict:
    """Hourly: close the invitations that expired long ago and were never answered,
    each with a MembershipEvent. Idempotent: a second run finds none left."""
    result = {"lapsed_invitations": services.invitation_lapse_expired()}
    logger.info("tenancy.lapse_invitations: %s", result)
    return result

"""Governance jobs. Each takes ids, opens the tenant scope itself, holds a
PostgreSQL advisory lock per organisation and job (a second run at the same time
skips that organisation), and is idempotent: unique keys make a rerun change nothing
and notify nobody twice."""

import logging
from datetime import date, datetime

from celery import shared_task
from django_scopes import scope, scopes_disabled

from cat4.common.locks import try_org_job_lock
from cat4.tenancy.models import Organization

from . import escalations, notifications, reminders
from .models import Delivery, Notification

logger = logging.getLogger(__name__)


@shared_task(name="governance.evaluate_escalations")
def evaluate_escalations() -> int:
    """Hourly: one task per organisation, so a large tenant does not hold up the rest."""
    org_ids = escalations.organisations()
    for org_id in org_ids:
        evaluate_escalations_for_org.delay(org_id)
    return len(org_ids)


@shared_task(name="governance.evaluate_escalations_for_org")
def evaluate_escalations_for_org(organization_id: int, now: str | None = None) -> dict:
    """Raise escalations whose rule fires, resolve those whose condition has cleared,
    and move the unresolved ones up their path when their days are up. ``now`` (ISO
    8601) evaluates as of another moment: for tests and for replaying a missed run."""
    at = datetime.fromisoformat(now) if now else None
    result = escalations.evaluate_org(organization_id, now=at)
    logger.info("governance.evaluate_escalations_for_org: %s", result)
    return result


# --- Reminders and the daily digest ----------------------------------------------------


@shared_task(name="governance.send_reminders")
def send_reminders(today: str | None = None) -> list[dict]:
    """Daily: remind owners of status updates and KPI readings due soon or today,
    organisation by organisation (see governance/reminders.py; never for a due date
    more than a day past). ``today`` (ISO date) runs as of another day: for tests."""
    day = date.fromisoformat(today) if today else None
    results = [reminders.send_for_org(org_id, today=day) for org_id in reminders.organisations()]
    logger.info("governance.send_reminders: %s", results)
    return results


DIGEST_JOB = "governance.send_digests"


def send_digests_for_org(organization_id: int) -> dict:
    """One organisation's daily digest emails, under its advisory lock."""
    with try_org_job_lock(DIGEST_JOB, organization_id) as acquired:
        if not acquired:
            return {"organization": organization_id, "skipped": "another run holds the lock"}
        org = Organization.objects.get(pk=organization_id)
        with scope(organization=org):
            emails = notifications.send_digests(organization=org)
    return {"organization": organization_id, "emails": emails}


@shared_task(name="governance.send_digests")
def send_digests() -> list[dict]:
    """Daily: each member's waiting digest notifications in one email per organisation.
    Idempotent: a sent notification is marked and never picked again."""
    with scopes_disabled():  # which organisations have work: across tenants on purpose
        org_ids = sorted(set(Notification.objects.filter(
            delivery=Delivery.DIGEST, emailed_at__isnull=True)
            .values_list("organization_id", flat=True).distinct()))
    results = [send_digests_for_org(org_id) for org_id in org_ids]
    logger.info("governance.send_digests: %s", results)
    return results

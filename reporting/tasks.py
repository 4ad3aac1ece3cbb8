"""Reporting jobs. Each takes ids, opens the tenant scope itself (through the code it
calls), holds a PostgreSQL advisory lock per organisation and job (a second run at the
same time skips that organisation) and is idempotent (rebuilt from source, upserted by
unique keys)."""

import logging

from celery import shared_task
from django_scopes import scopes_disabled

from cat4.tenancy.models import Organization

from . import imports
from .boardpack import board_pack_build
from .rollups import refresh_rollups_for

logger = logging.getLogger(__name__)


@shared_task(name="reporting.refresh_rollups_for_org")
def refresh_rollups_for_org(organization_id: int) -> dict:
    result = refresh_rollups_for(organization_id)
    logger.info("reporting.refresh_rollups_for_org: %s", result)
    return result


@shared_task(name="reporting.refresh_rollups")
def refresh_rollups() -> int:
    """Every five minutes: one task per organisation, so a large tenant does not hold
    up the others."""
    with scopes_disabled():  # every organisation: across tenants on purpose
        org_ids = list(Organization.objects.order_by("pk").values_list("pk", flat=True))
    for org_id in org_ids:
        refresh_rollups_for_org.delay(org_id)
    return len(org_ids)


@shared_task(name="reporting.build_board_pack")
def build_board_pack(board_pack_id: int) -> str:
    """Build one board pack (reporting/boardpack.py): progress committed step by step,
    the snapshot and its SHA-256 stored, the PDF drawn from the snapshot."""
    result = board_pack_build(board_pack_id=board_pack_id)
    logger.info("reporting.build_board_pack %s: %s", board_pack_id, result)
    return result


@shared_task(name="reporting.run_import", soft_time_limit=1800, time_limit=2400)
def run_import(job_id: int) -> str:
    """The Excel import's dry run or import of one ImportJob (whichever it waits for),
    with progress committed as it goes. Safe to run twice: a concurrent second run skips
    (advisory lock per job), and a re-delivery after a crash repeats the step, which is
    idempotent by initiative code. Time limits stay below the broker's visibility timeout."""
    result = imports.run_job(job_id)
    logger.info("reporting.run_import %s: %s", job_id, result)
    return result

"""KPI variance jobs. Idempotent (recompute from source, upsert by unique key),
safe to run twice at once (an advisory lock per organisation and job: the second
run skips that organisation), crash-safe (a KPI stays dirty until its recompute
commits) and chunked (a bounded batch per organisation, dirty-oldest first, then
the job enqueues itself again while work is left)."""

import logging

from celery import shared_task
from django.db.models import Min
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from cat4.common.locks import try_org_job_lock
from cat4.tenancy.models import Organization

from . import services
from .models import Kpi

logger = logging.getLogger(__name__)

BATCH = 200


def recompute_dirty_for_org(organization_id: int, *, batch: int = BATCH) -> dict:
    """Recompute up to ``batch`` dirty KPIs of one organisation, oldest dirt first."""
    with try_org_job_lock("kpis.recompute_dirty", organization_id) as acquired:
        if not acquired:
            return {"organization": organization_id, "skipped": "another run holds the lock"}
        org = Organization.objects.get(pk=organization_id)
        with scope(organization=org):
            ids = list(Kpi.objects.filter(organization=org, needs_recompute=True)
                       .order_by("dirty_since", "id").values_list("pk", flat=True)[:batch])
            for kpi_id in ids:
                services.kpi_recompute(kpi_id=kpi_id)
            left = Kpi.objects.filter(organization=org, needs_recompute=True).exists()
    return {"organization": organization_id, "recomputed": len(ids), "left": left}


@shared_task(name="kpis.recompute_dirty")
def recompute_dirty(batch: int = BATCH) -> list[dict]:
    """Every few minutes: the KPIs whose inputs changed, organisation by organisation,
    the organisation with the oldest dirt first."""
    with scopes_disabled():  # which organisations have work: across tenants on purpose
        org_ids = list(Kpi.objects.filter(needs_recompute=True).values("organization_id")
                       .annotate(oldest=Min("dirty_since")).order_by("oldest")
                       .values_list("organization_id", flat=True))
    results = [recompute_dirty_for_org(org_id, batch=batch) for org_id in org_ids]
    if any(r.get("left") for r in results):
        recompute_dirty.delay(batch)  # keep going in a fresh task, not one long run
    logger.info("kpis.recompute_dirty: %s", results)
    return results


@shared_task(name="kpis.recompute_all")
def recompute_all() -> int:
    """Nightly: mark every KPI dirty (thresholds, expected paths and dates move even
    when no reading does) and let recompute_dirty work through them in batches."""
    with scopes_disabled():
        marked = Kpi.objects.filter(needs_recompute=False).update(
            needs_recompute=True, dirty_since=timezone.now())
    recompute_dirty.delay()
    return marked

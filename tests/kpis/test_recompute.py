"""The variance jobs: same result on a second run, one effect when two runs
overlap, bounded batches that continue, and a real worker on the real Redis."""

import datetime as dt
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection
from django_scopes import scopes_disabled

from cat4.celery import app
from cat4.common.locks import try_org_job_lock
from cat4.tenancy.models import Role
from kpis import services, tasks
from kpis.models import Kpi, KpiSnapshot

DEFINITION = {"unit": "%", "direction": "higher", "baseline": "80",
              "baseline_date": dt.date(2026, 1, 1), "target": "90",
              "target_date": dt.date(2026, 11, 1), "frequency": "monthly"}


def make_kpi(world, name="On-time delivery", readings=(("2026-03-01", "82"),
                                                     ("2026-06-01", "80"))):
    kpi = services.kpi_create(membership=world.a[Role.ADMIN].membership, name=name,
                              owner=world.a[Role.OWNER].user, **DEFINITION)
    for period, value in readings:
        services.reading_record(membership=world.a[Role.OWNER].membership, kpi_id=kpi.pk,
                                period=dt.date.fromisoformat(period), value=value)
    return kpi


def snapshot_rows(kpi):
    with scopes_disabled():
        return list(KpiSnapshot.objects.filter(kpi=kpi).order_by("period").values_list(
            "period", "expected", "actual", "rag", "explanation"))


@pytest.fixture(autouse=True)
def _empty_queue():
    yield
    app.control.purge()  # self-requeued tasks must not outlive the test


@pytest.mark.django_db
def test_recompute_writes_one_snapshot_per_reading_and_is_idempotent(world):
    kpi = make_kpi(world)
    with scopes_disabled():
        assert services.kpi_recompute(kpi_id=kpi.pk) == 2
        first = snapshot_rows(kpi)
        kpi.refresh_from_db()
        assert not kpi.needs_recompute and kpi.dirty_since is None
        services.kpi_recompute(kpi_id=kpi.pk)
    assert snapshot_rows(kpi) == first
    march, june = first
    assert june[1] > march[1]  # the expected path climbs from 80 to 90
    assert june[3] == "red" and "→ red" in june[4]


@pytest.mark.django_db
def test_a_new_target_changes_the_snapshots(world):
    kpi = make_kpi(world)
    with scopes_disabled():
        services.kpi_recompute(kpi_id=kpi.pk)
    before = snapshot_rows(kpi)
    services.kpi_update(membership=world.a[Role.ADMIN].membership, kpi_id=kpi.pk, target="81")
    with scopes_disabled():
        assert Kpi.objects.get(pk=kpi.pk).needs_recompute
        services.kpi_recompute(kpi_id=kpi.pk)
    assert snapshot_rows(kpi) != before


@pytest.mark.django_db
def test_batches_are_bounded_and_say_what_is_left(world):
    for n in range(3):
        make_kpi(world, name=f"KPI {n}", readings=(("2026-03-01", "82"),))
    first = tasks.recompute_dirty_for_org(world.org_a.pk, batch=2)
    second = tasks.recompute_dirty_for_org(world.org_a.pk, batch=2)
    assert (first["recomputed"], first["left"]) == (2, True)
    assert (second["recomputed"], second["left"]) == (1, False)


@pytest.mark.django_db(transaction=True)
def test_an_overlapping_run_skips_the_organisation(world):
    make_kpi(world)
    holding, release = threading.Event(), threading.Event()

    def other_run():
        try:
            with try_org_job_lock("kpis.recompute_dirty", world.org_a.pk) as acquired:
                assert acquired
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=other_run)
    thread.start()
    assert holding.wait(10)
    try:
        result = tasks.recompute_dirty_for_org(world.org_a.pk)
    finally:
        release.set()
        thread.join()
    assert "skipped" in result
    with scopes_disabled():
        assert KpiSnapshot.objects.count() == 0  # one effect: the other run's
    assert tasks.recompute_dirty_for_org(world.org_a.pk)["recomputed"] == 1


@pytest.mark.slow
def test_a_real_worker_recomputes_dirty_kpis(world, worker):
    kpi = make_kpi(world)
    tasks.recompute_dirty.delay()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with scopes_disabled():
            kpi.refresh_from_db()
        if not kpi.needs_recompute:
            break
        time.sleep(0.2)
    else:
        pytest.fail("the worker did not recompute within 60 s")
    assert [row[2] for row in snapshot_rows(kpi)] == [Decimal("82.0000"), Decimal("80.0000")]

"""bench/generate.py at a tiny scale: it runs, writes consistent audit history, and is
idempotent (a second run skips, --reset rebuilds the same data). No timings here: the
figures live in docs/benchmarks.md."""

import importlib.util
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django_scopes import scope, scopes_disabled

from cat4.tenancy.models import Organization
from initiatives.models import Initiative, MonthlyValue
from reporting import history

pytestmark = pytest.mark.django_db

BENCH = Path(__file__).resolve().parents[2] / "bench"
TINY = ["--initiatives", "50", "--kpis", "10", "--noise", "2", "--noise-initiatives", "5"]


def _load(name):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _counts():
    with scopes_disabled():
        return {slug: (Initiative.objects.filter(organization__slug=slug).count(),
                       MonthlyValue.objects.filter(organization__slug=slug).count())
                for slug in ("reference", "noise-01", "noise-02")}


def test_generator_is_idempotent_and_its_history_matches_the_rows():
    generate = _load("generate")
    assert generate.main(TINY) == 0
    first = _counts()
    assert first["reference"][0] == 50 and first["noise-02"][0] == 5
    assert first["reference"][1] > 50 * 2 * 12  # 2-3 lines, 12-30 months, planned at least

    assert generate.main(TINY) == 0  # skipped: nothing added
    assert _counts() == first
    assert generate.main([*TINY, "--reset"]) == 0  # rebuilt: the same data again
    assert _counts() == first

    # The backfilled events reproduce the current rows: the portfolio as of today
    # equals the raw aggregate the benchmark compares the dashboard with.
    run = _load("run")
    with scopes_disabled():
        org = Organization.objects.get(slug="reference")
    fy = date.today().year
    with connection.cursor() as cursor:
        cursor.execute(run.HEADLINE_SQL, {
            "org": org.pk, "fy_start": date(fy, 1, 1), "fy_end": date(fy + 1, 1, 1)})
        rows = cursor.fetchall()
    with scope(organization=org):
        now = history.portfolio_as_of(organization=org, when=date.today(), fiscal_year=fy)
    assert {r[0]: r[1] for r in rows} == {s.stage: s.count for s in now.stages if s.count}
    assert sum((r[2] for r in rows), Decimal(0)) == now.headline.planned
    assert sum((r[5] for r in rows), Decimal(0)) == now.headline.outturn

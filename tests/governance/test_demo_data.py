"""seed_demo: two organisations with about 40 initiatives each over every stage,
built through the services (history, stage events, pending approvals), idempotent."""

import io
from collections import Counter

import pytest
from django.core.management import call_command
from django_scopes import scopes_disabled

from governance.models import (
    Approval,
    DecisionLogEntry,
    Escalation,
    Rebaseline,
    StageEvent,
)
from initiatives import selectors
from initiatives.models import Initiative, MonthlyValue, Risk
from kpis import selectors as selectors_kpis

pytestmark = pytest.mark.django_db


def counts():
    with scopes_disabled():
        return (Initiative.objects.count(), MonthlyValue.objects.count(),
                StageEvent.objects.count(), Approval.objects.count(),
                Escalation.objects.count())


def test_seed_demo_builds_believable_portfolios_once():
    call_command("seed_demo", stdout=io.StringIO())
    first = counts()
    call_command("seed_demo", stdout=io.StringIO())
    assert counts() == first

    with scopes_disabled():
        for slug in ("northwind", "aurora"):
            initiatives = Initiative.objects.filter(organization__slug=slug)
            stages = Counter(initiatives.values_list("stage", flat=True))
            assert initiatives.count() == 40
            assert set(stages) == {"identified", "detailed", "decided", "implemented", "closed",
                                   "on_hold", "cancelled"}, stages
            assert Approval.objects.filter(organization__slug=slug,
                                           decision="pending").exists()
            assert DecisionLogEntry.objects.filter(organization__slug=slug).count() > 40
            closed = initiatives.filter(stage="closed")
            assert all(i.value_validated_at for i in closed)
            # Forecasts exist from Decided on, actuals from Implemented on.
            assert MonthlyValue.objects.filter(line__initiative__in=closed,
                                               kind="actual").exists()
            assert not MonthlyValue.objects.filter(line__initiative__stage="identified",
                                                   kind="forecast").exists()
            # Dependencies (some late), risks, and a re-baseline for the controller.
            late = [d for i in initiatives for d in selectors.dependencies_of(initiative=i)
                    if d.late and d.direction == "needs"]
            assert late
            assert Risk.objects.filter(organization__slug=slug).exists()
            assert Rebaseline.objects.filter(organization__slug=slug, status="pending").exists()
            # About 30 KPIs with 24 months of readings, some off track, some stale.
            kpis = selectors_kpis.kpi_rows(
                selectors_kpis.kpi_queryset(organization=initiatives.first().organization))
            assert len(kpis) == 30
            assert any(r.rag.colour == "red" for r in kpis)
            assert any(r.stale for r in kpis) and not all(r.stale for r in kpis)
            # Open escalations of several rules, at different levels of their paths.
            unresolved = Escalation.objects.filter(organization__slug=slug).exclude(
                state="resolved")
            levels = Counter(unresolved.values_list("level", flat=True))
            assert len(levels) >= 2, levels
            assert unresolved.values("rule").distinct().count() >= 3
            assert all(e.explanation for e in unresolved)

"""Reads of KPIs for the list and detail pages, in a fixed number of queries."""

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from cat4.common.rag import Rag, RagColour, apply_staleness
from cat4.tenancy.models import Organization

from . import calculations as calc
from .models import Kpi, KpiLink, KpiReading, KpiSnapshot
from .services import plan_periods, spec_of


@lru_cache(maxsize=64)
def _last_completed_period(today: date, frequency: str) -> date:
    # Cached: a list judges thousands of KPIs against a handful of (day, frequency).
    current = calc.period_start(today, frequency)
    return calc.period_start(current - timedelta(days=1), frequency)


def is_stale(*, latest_period: date | None, frequency: str, today: date) -> bool:
    """Stale: no reading for the last completed period (or anything later)."""
    return latest_period is None or latest_period < _last_completed_period(
        today, str(frequency))


@dataclass
class KpiRow:
    kpi: Kpi
    latest: KpiSnapshot | None
    rag: Rag
    stale: bool
    spark: str  # SVG polyline points of the recent readings, "" when fewer than two


def _spark(values: list[Decimal], width: int = 96, height: int = 24) -> str:
    if len(values) < 2:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or Decimal(1)
    step = Decimal(width) / (len(values) - 1)
    return " ".join(f"{step * i:.1f},{Decimal(height) - (v - low) / span * height:.1f}"
                    for i, v in enumerate(values))


def kpi_queryset(*, organization: Organization) -> QuerySet[Kpi]:
    return (Kpi.objects.filter(organization=organization).select_related("owner")
            .prefetch_related(
                Prefetch("snapshots", queryset=KpiSnapshot.objects.order_by("-period"),
                         to_attr="recent_snapshots"),
                Prefetch("readings", queryset=KpiReading.objects.order_by("period"),
                         to_attr="all_readings")))


def current_rag(*, rag: str | None, explanation: str, latest_period: date | None,
                frequency: str, today: date) -> tuple[Rag, bool]:
    """A KPI's colour as shown everywhere (list, detail, dashboard): its latest
    snapshot's RAG (grey without one), never green when stale; and whether it is stale.
    ``latest_period`` is the period of its newest reading."""
    stale = is_stale(latest_period=latest_period, frequency=frequency, today=today)
    result = (Rag(RagColour(rag), explanation or "") if rag
              else Rag(RagColour.GREY, "no reading yet"))
    return apply_staleness(result, stale=stale, last_update=latest_period), stale


def kpi_rows(kpis, *, today: date | None = None) -> list[KpiRow]:
    today = today or timezone.localdate()
    rows = []
    for kpi in kpis:
        latest = kpi.recent_snapshots[0] if kpi.recent_snapshots else None
        readings = kpi.all_readings
        rag, stale = current_rag(rag=latest.rag if latest else None,
                                 explanation=latest.explanation if latest else "",
                                 latest_period=readings[-1].period if readings else None,
                                 frequency=kpi.frequency, today=today)
        rows.append(KpiRow(kpi, latest, rag, stale,
                           _spark([r.value for r in readings[-12:]])))
    return rows


def kpi_get(*, organization: Organization, kpi_id) -> Kpi | None:
    return kpi_queryset(organization=organization).filter(pk=kpi_id).first()


@dataclass
class KpiDetail:
    row: KpiRow
    table: list[dict]
    projection: calc.Projection | None
    chart: dict


def kpi_detail(*, kpi: Kpi, today: date | None = None) -> KpiDetail:
    """Readings against the expected path, the projection, and the same numbers for
    the chart (which the page also shows as a table)."""
    today = today or timezone.localdate()
    spec = spec_of(kpi)
    snapshots = {s.period: s for s in kpi.recent_snapshots}
    table = [{"period": r.period, "label": calc.period_label(r.period, kpi.frequency),
              "value": r.value, "comment": r.comment,
              "expected": snapshots[r.period].expected if r.period in snapshots else None,
              "rag": snapshots[r.period].rag if r.period in snapshots else "grey",
              "explanation": snapshots[r.period].explanation if r.period in snapshots else ""}
             for r in kpi.all_readings]
    projection = calc.projection(spec, {r.period: r.value for r in kpi.all_readings})
    end = max(kpi.target_date, today)
    periods = calc.periods_between(kpi.baseline_date, end, kpi.frequency)
    readings = {r.period: r.value for r in kpi.all_readings}
    chart = {
        "labels": [calc.period_label(p, kpi.frequency) for p in periods],
        "unit": kpi.unit,
        "series": [
            {"label": "Reading", "kind": "reading",
             "data": [str(readings[p]) if p in readings else None for p in periods]},
            {"label": "Expected path", "kind": "expected",
             "data": [str(calc.expected_value(spec, p)) for p in periods]},
        ],
    }
    if projection is not None and readings:
        # From the latest reading to where the trend lands on the target date (the
        # projection card says the same in words).
        last = max(readings)
        target_period = calc.period_start(kpi.target_date, kpi.frequency)
        points = {last: readings[last], target_period: projection.projected_value}
        chart["series"].append({
            "label": "Projection (trend to the target date)", "kind": "projection",
            "data": [str(points[p]) if p in points else None for p in periods]})
    return KpiDetail(kpi_rows([kpi], today=today)[0], table, projection, chart)


@dataclass
class PlanRow:
    period: date
    label: str
    planned: Decimal | None  # the planned value, if one is set
    linear: Decimal  # the straight line from baseline to target
    expected: Decimal  # what the variance is judged against: planned, else linear
    outside: bool  # a planned value left outside the KPI's periods by a changed definition


def kpi_plan(*, kpi: Kpi) -> list[PlanRow]:
    """Every period of a KPI (baseline to target) with its planned value, the linear
    value and the expected value the variance uses; planned values outside that range
    (after the definition changed) are listed too, so they can be cleared."""
    spec = spec_of(kpi)
    line = replace(spec, planned={})
    periods = plan_periods(kpi)
    inside = set(periods)
    rows = []
    for period in sorted(inside | set(spec.planned)):
        rows.append(PlanRow(
            period=period,
            label=(calc.period_label(period, kpi.frequency) if period in inside
                   else period.isoformat()),
            planned=spec.planned.get(period), linear=calc.expected_value(line, period),
            expected=calc.expected_value(spec, period), outside=period not in inside))
    return rows


def kpi_links(*, kpi: Kpi) -> list[KpiLink]:
    """The initiatives and objectives a KPI serves, initiatives first."""
    return sorted(
        KpiLink.objects.filter(organization_id=kpi.organization_id, kpi=kpi)
        .select_related("initiative", "objective"),
        key=lambda link: (link.initiative_id is None,
                          link.initiative.code if link.initiative else link.objective.code))

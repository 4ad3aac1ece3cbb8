"""Reads of the executive dashboard and its drill-down, from the rollups
(``InitiativeFact`` / ``InitiativeYearValue``, see reporting/rollups.py), each in a fixed
number of queries whatever the number of initiatives. Money is summed in SQL.

Visibility: every member of an organisation sees every initiative (the initiative list
does the same, ``initiatives.permissions.can_view_initiatives``), so every member sees
the dashboard. Escalations are shown only to those who may see escalations."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import urlencode

from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    FilteredRelation,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from cat4.tenancy.models import Membership, Organization
from governance.models import (
    Approval,
    Decision,
    Escalation,
    EscalationState,
    Level,
    SubmissionStatus,
)
from governance.permissions import can_view_escalations
from initiatives import calculations as calc
from initiatives.models import GATE_ORDER, Stage
from kpis.models import Kpi, KpiReading, KpiSnapshot
from kpis.selectors import current_rag as kpi_current_rag

from .models import InitiativeFact, RollupRun

# A variance against plan means something only once there is a forecast (from the
# Decided gate on): before that the outturn is 0 and every plan would look like a
# shortfall. Grey money RAG is exactly "no forecast yet" (or no value lines).
HAS_FORECAST = ~Q(financial_rag="grey")

ZERO = Decimal("0")
MONEY = DecimalField(max_digits=18, decimal_places=2)
COLOURS = ["green", "amber", "red", "grey"]
TOP = 10


@dataclass(frozen=True)
class DashboardFilters:
    """Which part of the portfolio the dashboard shows (ids already resolved inside the
    organisation by ``reporting.filters.DashboardFilterSet``)."""

    portfolio: int | None = None
    program: int | None = None
    business_unit: int | None = None
    owner: int | None = None
    fiscal_year: int | None = None

    def params(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}

    def query(self, **extra) -> str:
        """The query string of these filters plus ``extra`` (for drill-down links)."""
        return urlencode({**self.params(), **{k: v for k, v in extra.items() if v}})

    @property
    def structure(self) -> Q:
        """The condition on ``InitiativeFact`` rows."""
        q = Q()
        for name in ("portfolio", "program", "business_unit", "owner"):
            value = getattr(self, name)
            if value is not None:
                q &= Q(**{f"{name}_id": value})
        return q

    @property
    def is_narrowed(self) -> bool:
        return bool(self.structure)


@dataclass(frozen=True)
class DrillFilters:
    """The figure a drill-down stands for, on top of the dashboard's filters."""

    stage: str = ""
    schedule_rag: str = ""
    financial_rag: str = ""
    stale: bool = False
    variance: str = ""  # "shortfall" (outturn below plan) or "ahead"
    escalation_level: int | None = None

    def params(self) -> dict:
        out = {k: v for k, v in asdict(self).items() if v not in ("", None, False)}
        if self.stale:
            out["stale"] = 1
        return out

    @property
    def default_sort(self) -> str:
        """The list's order when none is asked for: the largest shortfall first for the
        shortfall figure, else by code."""
        return "variance" if self.variance == "shortfall" else "code"


def _facts(*, organization: Organization, filters: DashboardFilters) -> QuerySet:
    """The filtered facts, each joined with its value in the selected fiscal year."""
    return (InitiativeFact.objects.filter(organization=organization)
            .filter(filters.structure)
            .annotate(fy=FilteredRelation(
                "initiative__year_values",
                condition=Q(initiative__year_values__fiscal_year=filters.fiscal_year)))
            .annotate(fy_planned=Coalesce(F("fy__planned"), Value(ZERO), output_field=MONEY),
                      fy_forecast=Coalesce(F("fy__forecast"), Value(ZERO), output_field=MONEY),
                      fy_actual=Coalesce(F("fy__actual"), Value(ZERO), output_field=MONEY),
                      fy_outturn=Coalesce(F("fy__outturn"), Value(ZERO), output_field=MONEY))
            .annotate(fy_variance=ExpressionWrapper(F("fy_outturn") - F("fy_planned"),
                                                    output_field=MONEY)))


def open_escalations(*, organization: Organization, filters: DashboardFilters) -> QuerySet:
    """The escalations not yet resolved, of the initiatives in the selection when the
    filters narrow it (the dashboard's counts and the board pack's list)."""
    qs = Escalation.objects.filter(organization=organization).exclude(
        state=EscalationState.RESOLVED)
    if filters.is_narrowed:
        # Only escalations of initiatives in the selection (KPI escalations have none).
        qs = qs.filter(initiative__fact__in=InitiativeFact.objects.filter(
            organization=organization).filter(filters.structure))
    return qs


def figures_as_of(*, organization: Organization) -> datetime | None:
    """When the rollups the dashboard reads were last rebuilt ("figures as of")."""
    run = RollupRun.objects.filter(organization=organization).first()
    return run.finished_at if run else None


def drill_queryset(*, organization: Organization, filters: DashboardFilters,
                   drill: DrillFilters) -> QuerySet:
    """The initiatives behind one dashboard figure."""
    qs = _facts(organization=organization, filters=filters)
    if drill.stage:
        qs = qs.filter(stage=drill.stage)
    if drill.schedule_rag:
        qs = qs.filter(schedule_rag=drill.schedule_rag)
    if drill.financial_rag:
        qs = qs.filter(financial_rag=drill.financial_rag)
    if drill.stale:
        qs = qs.filter(stale=True)
    if drill.variance == "shortfall":
        qs = qs.filter(HAS_FORECAST, fy_variance__lt=0)
    elif drill.variance == "ahead":
        qs = qs.filter(HAS_FORECAST, fy_variance__gt=0)
    if drill.escalation_level:
        qs = qs.filter(initiative_id__in=open_escalations(
            organization=organization, filters=DashboardFilters())
            .filter(level=drill.escalation_level).values("initiative_id"))
    return qs


# --------------------------------------------------------------------------- dashboard


@dataclass
class Money:
    planned: Decimal = ZERO
    forecast: Decimal = ZERO
    actual: Decimal = ZERO
    outturn: Decimal = ZERO

    @property
    def variance(self) -> Decimal:
        return self.outturn - self.planned


@dataclass
class StageRow:
    stage: str
    label: str
    count: int = 0
    money: Money = field(default_factory=Money)
    run_rate: Decimal = ZERO
    on_gate_path: bool = True


@dataclass
class MatrixCell:
    schedule: str
    financial: str
    count: int
    flagged: bool  # green on delivery, red on money
    heat: int = 0  # 0 (none) to 4 (the fullest cell), for the heatmap's shading


@dataclass
class EscalationLevelRow:
    level: int
    label: str
    escalations: int
    initiatives: int


@dataclass
class KpiScore:
    kpi_id: int
    name: str
    unit: str
    colour: str
    explanation: str
    stale: bool
    latest_period: date | None


@dataclass
class Dashboard:
    filters: DashboardFilters
    fiscal_year: int
    fiscal_label: str
    currency: str
    as_of: datetime | None
    initiatives: int
    money: Money
    run_rate: Decimal
    stages: list[StageRow]
    matrix: list[list[MatrixCell]]  # rows: schedule colour; columns: financial colour
    shortfall_count: int
    shortfall_total: Decimal
    variances: list  # InitiativeFact rows (annotated), worst shortfall first
    stale_count: int
    stale_initiatives: list
    escalations: list[EscalationLevelRow] | None  # None: not shown to this member
    approvals_waiting: int
    approvals: list  # Approval rows, waiting longest first
    kpi_counts: dict[str, int]
    kpi_total: int
    kpi_stale: int
    kpi_exceptions: list[KpiScore]

    @property
    def funnel(self) -> list[StageRow]:
        return [s for s in self.stages if s.on_gate_path]

    @property
    def chart(self) -> dict:
        """The value-by-stage chart's data (the page shows the same numbers as a table)."""
        return {
            "type": "bar",
            "labels": [s.label for s in self.funnel],
            "unit": self.currency,
            "series": [
                {"label": f"Planned {self.fiscal_label}", "kind": "planned",
                 "data": [str(s.money.planned) for s in self.funnel]},
                {"label": f"Outturn {self.fiscal_label}", "kind": "outturn",
                 "data": [str(s.money.outturn) for s in self.funnel]},
            ],
            "links": [f"?{self.filters.query(stage=s.stage)}" for s in self.funnel],
        }

    @property
    def chart_json(self) -> str:
        """The chart's data for an attribute of its canvas: htmx drops every <script>
        element (json_script included) from swapped content (allowScriptTags is off)."""
        return json.dumps(self.chart)


def dashboard(*, organization: Organization, membership: Membership | None,
              filters: DashboardFilters, today: date | None = None) -> Dashboard:
    """Every figure of the executive dashboard, in a fixed number of queries."""
    today = today or timezone.localdate()
    start = organization.fiscal_year_start_month
    fy = filters.fiscal_year or calc.fiscal_year(today, start_month=start)
    if filters.fiscal_year != fy:
        filters = DashboardFilters(**{**asdict(filters), "fiscal_year": fy})
    facts = _facts(organization=organization, filters=filters)

    # Per stage: counts and money; the headline is their sum (query 1).
    by_stage = {r["stage"]: r for r in facts.order_by().values("stage").annotate(
        n=Count("id"), planned=Sum("fy_planned"), forecast=Sum("fy_forecast"),
        actual=Sum("fy_actual"), outturn=Sum("fy_outturn"), run_rate=Sum("run_rate"),
        stale=Count("id", filter=Q(stale=True)),
        shortfalls=Count("id", filter=HAS_FORECAST & Q(fy_variance__lt=0)),
        shortfall=Sum("fy_variance", filter=HAS_FORECAST & Q(fy_variance__lt=0)))}
    stages = []
    for stage in Stage:
        r = by_stage.get(stage.value, {})
        stages.append(StageRow(
            stage=stage.value, label=stage.label, count=r.get("n", 0),
            money=Money(planned=r.get("planned") or ZERO, forecast=r.get("forecast") or ZERO,
                        actual=r.get("actual") or ZERO, outturn=r.get("outturn") or ZERO),
            run_rate=r.get("run_rate") or ZERO, on_gate_path=stage in GATE_ORDER))
    total = Money(*(sum((getattr(s.money, k) for s in stages), ZERO)
                    for k in ("planned", "forecast", "actual", "outturn")))

    # Dual-status matrix (query 2).
    counts = {(r["schedule_rag"], r["financial_rag"]): r["n"] for r in facts.order_by()
              .values("schedule_rag", "financial_rag").annotate(n=Count("id"))}
    matrix = [[MatrixCell(s, f, counts.get((s, f), 0), s == "green" and f == "red")
               for f in COLOURS] for s in COLOURS]
    fullest = max(counts.values(), default=0)
    for cell in (c for row in matrix for c in row if c.count):
        cell.heat = max(1, -(-4 * cell.count // fullest))

    # Exceptions (queries 3 to 8).
    variances = list(facts.filter(HAS_FORECAST, fy_variance__lt=0).select_related("initiative")
                     .order_by("fy_variance", "initiative__code")[:TOP])
    # Without the fiscal year's values, which the list does not show (a join less).
    stale_initiatives = list(
        InitiativeFact.objects.filter(organization=organization, stale=True)
        .filter(filters.structure).select_related("initiative", "owner")
        .order_by(F("last_update").asc(nulls_first=True), "initiative__code")[:TOP])
    escalations = None
    if can_view_escalations(membership=membership):
        rows = {r["level"]: r for r in open_escalations(
            organization=organization, filters=filters).order_by().values("level").annotate(
            n=Count("id"), initiatives=Count("initiative", distinct=True,
                                             filter=Q(initiative__fact__isnull=False)))}
        escalations = [EscalationLevelRow(level.value, level.label,
                                          rows.get(level.value, {}).get("n", 0),
                                          rows.get(level.value, {}).get("initiatives", 0))
                       for level in Level]
    approvals_qs = Approval.objects.filter(
        organization=organization, decision=Decision.PENDING,
        submission__status=SubmissionStatus.PENDING)
    if filters.is_narrowed:
        approvals_qs = approvals_qs.filter(submission__initiative__fact__in=InitiativeFact
                                           .objects.filter(organization=organization)
                                           .filter(filters.structure))
    approvals_waiting = approvals_qs.count()
    approvals = list(approvals_qs.select_related("submission__initiative", "approver")
                     .order_by("submission__submitted_at", "id")[:TOP])
    kpi_counts, kpi_stale, kpi_exceptions = _kpi_scorecard(organization, today=today)

    return Dashboard(
        filters=filters, fiscal_year=fy,
        fiscal_label=calc.fiscal_year_label(fy, start_month=start),
        currency=organization.base_currency, as_of=figures_as_of(organization=organization),
        initiatives=sum(s.count for s in stages), money=total,
        run_rate=sum((s.run_rate for s in stages), ZERO), stages=stages, matrix=matrix,
        shortfall_count=sum(r["shortfalls"] for r in by_stage.values()),
        shortfall_total=sum((r["shortfall"] or ZERO for r in by_stage.values()), ZERO),
        variances=variances, stale_count=sum(r["stale"] for r in by_stage.values()),
        stale_initiatives=stale_initiatives, escalations=escalations,
        approvals_waiting=approvals_waiting, approvals=approvals, kpi_counts=kpi_counts,
        kpi_total=sum(kpi_counts.values()), kpi_stale=kpi_stale,
        kpi_exceptions=kpi_exceptions)


_RANK = {"red": 0, "amber": 1, "grey": 2, "green": 3}


def _kpi_scorecard(organization: Organization, *, today: date
                   ) -> tuple[dict[str, int], int, list[KpiScore]]:
    """Latest RAG of every KPI (stale never green, as on the KPI pages), the count per
    colour, the stale count, and the worst KPIs. One query."""
    latest = KpiSnapshot.objects.filter(kpi=OuterRef("pk")).order_by("-period")
    # The newest reading's period from the (kpi, period) index, one lookup per KPI
    # (cheaper than grouping all readings).
    newest = KpiReading.objects.filter(kpi=OuterRef("pk")).order_by("-period")
    rows = (Kpi.objects.filter(organization=organization)
            .annotate(latest_period=Subquery(newest.values("period")[:1]),
                      latest_rag=Subquery(latest.values("rag")[:1]),
                      latest_explanation=Subquery(latest.values("explanation")[:1]))
            .values_list("pk", "name", "unit", "frequency", "latest_period", "latest_rag",
                         "latest_explanation"))
    counts = dict.fromkeys(COLOURS, 0)
    scores = []
    stale_count = 0
    for pk, name, unit, frequency, period, rag, explanation in rows:
        result, stale = kpi_current_rag(rag=rag, explanation=explanation,
                                        latest_period=period, frequency=frequency,
                                        today=today)
        counts[str(result.colour)] += 1
        stale_count += stale
        scores.append(KpiScore(pk, name, unit, str(result.colour), result.explanation, stale,
                               period))
    exceptions = sorted((s for s in scores if s.colour in ("red", "amber") or s.stale),
                        key=lambda s: (_RANK[s.colour], not s.stale, s.name))[:TOP]
    return counts, stale_count, exceptions


# --------------------------------------------------------------------------- drill-down


@dataclass
class DrillTotals:
    count: int
    money: Money
    run_rate: Decimal


def drill_totals(qs: QuerySet) -> DrillTotals:
    r = qs.order_by().aggregate(n=Count("id"), planned=Sum("fy_planned"),
                                forecast=Sum("fy_forecast"), actual=Sum("fy_actual"),
                                outturn=Sum("fy_outturn"), run_rate=Sum("run_rate"))
    return DrillTotals(count=r["n"], money=Money(
        planned=r["planned"] or ZERO, forecast=r["forecast"] or ZERO,
        actual=r["actual"] or ZERO, outturn=r["outturn"] or ZERO),
        run_rate=r["run_rate"] or ZERO)


DRILL_SORTS = {"code": "initiative__code", "variance": "fy_variance",
               "-planned": "-fy_planned", "-outturn": "-fy_outturn"}


def drill_rows(qs: QuerySet, *, sort: str = "code") -> QuerySet:
    return (qs.select_related("initiative", "program", "owner")
            .order_by(DRILL_SORTS.get(sort, "initiative__code"), "initiative_id"))

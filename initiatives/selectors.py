"""Reads of initiatives, scoped to an organisation, with a fixed number of queries."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pghistory.models
from django.db.models import Max, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from cat4.common.months import month_range
from cat4.common.rag import Rag, RagColour, Thresholds, apply_staleness
from cat4.tenancy.models import Organization, User

from . import calculations as calc
from .models import (
    Dependency,
    ImpactLine,
    Initiative,
    Milestone,
    MonthlyValue,
    Stage,
    StatusUpdate,
    ValueKind,
    ValueSettings,
)

SORTS = {
    "code": "code", "-code": "-code", "title": "title", "-title": "-title",
    "stage": "stage", "-stage": "-stage", "target": "target_date", "-target": "-target_date",
    "owner": "owner__full_name", "-owner": "-owner__full_name",
}

# The stages in which an owner keeps an initiative current: only these can be stale
# (and get reminders). Closed, cancelled and on-hold initiatives expect no updates.
ACTIVE_STAGES = (Stage.IDENTIFIED, Stage.DETAILED, Stage.DECIDED, Stage.IMPLEMENTED)


def with_latest_update(qs: QuerySet[Initiative]) -> QuerySet[Initiative]:
    """Annotate ``latest_update_at``: when the newest status update was posted (or
    None), in the same query as the initiatives."""
    return qs.annotate(latest_update_at=Max("status_updates__created_at"))


@dataclass(frozen=True)
class Freshness:
    """When an initiative's next status update is due, and whether it is late."""

    cadence_days: int
    cadence_label: str
    last_update: date | None
    due: date
    expected: bool  # False for closed, cancelled and on-hold initiatives
    stale: bool


_NOT_ANNOTATED = object()


def freshness_of(initiative: Initiative, *, last_update_at=_NOT_ANNOTATED,
                 today: date | None = None) -> Freshness:
    """The initiative's freshness. ``last_update_at`` is the time of its newest status
    update; when not given it comes from the ``latest_update_at`` annotation
    (with_latest_update), or, failing that, from one query."""
    if last_update_at is _NOT_ANNOTATED:
        last_update_at = getattr(initiative, "latest_update_at", _NOT_ANNOTATED)
    if last_update_at is _NOT_ANNOTATED:
        last_update_at = initiative.status_updates.aggregate(at=Max("created_at"))["at"]
    today = today or timezone.localdate()
    last_update = timezone.localdate(last_update_at) if last_update_at else None
    created = timezone.localdate(initiative.created_at)
    cadence = initiative.update_cadence_days
    expected = initiative.stage in ACTIVE_STAGES
    return Freshness(
        cadence_days=cadence,
        cadence_label=initiative.get_update_cadence_days_display(),
        last_update=last_update,
        due=calc.update_due(last_update=last_update, created=created, cadence_days=cadence),
        expected=expected,
        stale=expected and calc.is_update_stale(last_update=last_update, created=created,
                                                cadence_days=cadence, today=today),
    )


def initiative_list(*, organization: Organization, stage: str = "", portfolio=None,
                    program=None, business_unit=None, owner=None, query: str = "",
                    sort: str = "code") -> QuerySet[Initiative]:
    """The organisation's initiatives, filtered (ids already resolved inside the
    organisation, e.g. by ``InitiativeFilterForm``) and sorted by ``SORTS``."""
    qs = (Initiative.objects.filter(organization=organization)
          .select_related("program__portfolio", "owner", "sponsor", "controller",
                          "business_unit", "function"))
    if stage:
        qs = qs.filter(stage=stage)
    if portfolio:
        qs = qs.filter(program__portfolio_id=portfolio)
    if program:
        qs = qs.filter(program_id=program)
    if business_unit:
        qs = qs.filter(business_unit_id=business_unit)
    if owner:
        qs = qs.filter(owner_id=owner)
    if query:
        qs = qs.filter(Q(code__icontains=query) | Q(title__icontains=query))
    return with_latest_update(qs).order_by(SORTS.get(sort, "code"), "id")


def value_totals(*, organization: Organization, initiative_ids) -> dict[int, dict[str, Decimal]]:
    """{initiative_id: {kind: total}} for benefit lines, in one aggregate query."""
    totals: dict[int, dict[str, Decimal]] = defaultdict(dict)
    rows = (MonthlyValue.objects.filter(organization=organization,
                                        line__initiative_id__in=initiative_ids)
            .exclude(line__category="one_time_cost")
            .values("line__initiative_id", "kind").annotate(total=Sum("amount")))
    for row in rows:
        totals[row["line__initiative_id"]][row["kind"]] = row["total"]
    return totals


def initiative_get(*, organization: Organization, initiative_id) -> Initiative | None:
    return (with_latest_update(Initiative.objects.filter(organization=organization,
                                                         pk=initiative_id))
            .select_related("program__portfolio", "owner", "sponsor", "controller",
                            "business_unit", "function", "value_validated_by")
            .prefetch_related("objectives").first())


def thresholds_for(organization: Organization) -> Thresholds:
    settings = ValueSettings.objects.filter(organization=organization).first()
    if settings is None:
        return Thresholds()
    return Thresholds(green_at=settings.green_at, red_below=settings.red_below)


@dataclass
class LineGrid:
    line: ImpactLine
    cells: dict[tuple[date, str], Decimal]
    totals: dict[str, Decimal]


@dataclass
class InitiativeStatus:
    progress: Decimal
    schedule: Rag
    financial: Rag
    latest_update: StatusUpdate | None
    freshness: Freshness


def value_grid(*, initiative: Initiative) -> tuple[list[date], list[LineGrid]]:
    months = month_range(initiative.start_date, initiative.target_date)
    lines = list(initiative.impact_lines.prefetch_related(
        Prefetch("values", queryset=MonthlyValue.objects.order_by("month"))))
    grids = []
    for line in lines:
        cells = {(v.month, v.kind): v.amount for v in line.values.all()}
        totals = {kind: sum((a for (_m, k), a in cells.items() if k == kind), Decimal("0"))
                  for kind in ValueKind.values}
        grids.append(LineGrid(line, cells, totals))
    return months, grids


def outturn(grid: LineGrid) -> Decimal:
    months = {m for (m, _kind) in grid.cells}
    total = Decimal("0")
    for month in months:
        actual = grid.cells.get((month, ValueKind.ACTUAL))
        total += actual if actual is not None else grid.cells.get(
            (month, ValueKind.FORECAST), Decimal("0"))
    return total


def initiative_status(*, initiative: Initiative, grids: list[LineGrid],
                      today: date | None = None) -> InitiativeStatus:
    today = today or timezone.localdate()
    milestones = [calc.MilestoneFacts(title=m.title, due_date=m.due_date,
                                      done_date=m.done_date, weight=m.weight, waived=m.waived)
                  for m in initiative.milestones.all()]
    has_forecast = any(k == ValueKind.FORECAST for g in grids for (_m, k) in g.cells)
    if not grids:
        financial = Rag(RagColour.GREY, "no impact lines yet")
    elif not has_forecast:
        financial = Rag(RagColour.GREY,
                        "no forecast yet: forecasts are entered from the Decided gate on")
    else:
        # The outturn: actuals where a month has one, the forecast elsewhere. Comparing
        # actuals to date with the whole plan would call every running initiative red.
        lines = [calc.LineTotals(planned=g.totals[ValueKind.PLANNED],
                                 forecast=outturn(g), is_cost=g.line.is_cost) for g in grids]
        financial = calc.combine_financial(
            lines, thresholds=thresholds_for(initiative.organization),
            currency=initiative.organization.base_currency)
    latest_update = initiative.status_updates.select_related("author").first()
    freshness = freshness_of(initiative, today=today,
                             last_update_at=latest_update.created_at if latest_update else None)
    # A stale initiative never shows green: whoever reads the colour learns it is unconfirmed.
    return InitiativeStatus(
        progress=calc.technical_progress(milestones),
        schedule=apply_staleness(calc.schedule_rag(milestones, today=today),
                                 stale=freshness.stale, last_update=freshness.last_update),
        financial=apply_staleness(financial, stale=freshness.stale,
                                  last_update=freshness.last_update),
        latest_update=latest_update,
        freshness=freshness,
    )


def milestones_of(*, initiative: Initiative) -> QuerySet[Milestone]:
    return initiative.milestones.all()


@dataclass
class HistoryEntry:
    at: object
    what: str
    label: str
    changes: dict
    actor: str


def history_of(*, initiative: Initiative, limit: int = 60) -> list[HistoryEntry]:
    """The initiative's audit trail from the pghistory event tables: changes to it and
    to its milestones, lines and values, newest first, with who made them."""
    events = list(pghistory.models.Events.objects.references(initiative)
                  .order_by("-pgh_created_at")[:limit])
    lines = list(initiative.impact_lines.all())
    if lines:  # references() takes objects of one model at a time
        events += list(pghistory.models.Events.objects.references(*lines)
                       .order_by("-pgh_created_at")[:limit])
        # Events of lines reference the initiative too: keep each event once.
        unique = {e.pgh_slug: e for e in events}
        events = sorted(unique.values(), key=lambda e: e.pgh_created_at, reverse=True)[:limit]
    user_ids = {(e.pgh_context or {}).get("user") for e in events} - {None}
    names = dict(User.objects.filter(pk__in=user_ids).values_list("pk", "full_name"))
    entries = []
    for event in events:
        model = event.pgh_model.split(".")[-1].removesuffix("Event")
        changes = {k: v for k, v in (event.pgh_diff or {}).items()
                   if k not in {"updated_at", "version"}}
        if event.pgh_label == "update" and not changes:
            continue  # only the version moved: a line's values changed, shown on their own
        entries.append(HistoryEntry(
            at=event.pgh_created_at, what=model, label=event.pgh_label, changes=changes,
            actor=names.get((event.pgh_context or {}).get("user"), "system")))
    return entries


STAGE_COLUMNS = [Stage.IDENTIFIED, Stage.DETAILED, Stage.DECIDED, Stage.IMPLEMENTED,
                 Stage.CLOSED, Stage.ON_HOLD, Stage.CANCELLED]


@dataclass
class DependencyView:
    dependency: object
    other: Initiative
    direction: str  # "needs" (this initiative needs other) or "needed_by"
    late: bool
    why: str


def _lateness(dependency) -> tuple[bool, str]:
    supplier = dependency.depends_on
    if supplier.stage == Stage.CANCELLED:
        return True, f"{supplier.code} is cancelled"
    if supplier.stage == Stage.CLOSED:
        return False, f"{supplier.code} is delivered"
    if supplier.target_date > dependency.need_by:
        days = (supplier.target_date - dependency.need_by).days
        return True, (f"{supplier.code} is due {supplier.target_date:%d %b %Y}, "
                      f"{days} days after it is needed ({dependency.need_by:%d %b %Y})")
    return False, f"{supplier.code} is due {supplier.target_date:%d %b %Y}, in time"


def dependencies_of(*, initiative: Initiative) -> list[DependencyView]:
    """Both directions of an initiative's dependencies, each flagged when the supplying
    initiative's target date has slipped past the need-by date."""
    rows = (Dependency.objects.filter(organization_id=initiative.organization_id)
            .filter(Q(initiative=initiative) | Q(depends_on=initiative))
            .select_related("initiative", "depends_on").order_by("need_by", "id"))
    views = []
    for dep in rows:
        late, why = _lateness(dep)
        if dep.initiative_id == initiative.pk:
            views.append(DependencyView(dep, dep.depends_on, "needs", late, why))
        else:
            views.append(DependencyView(dep, dep.initiative, "needed_by", late, why))
    return views


def fiscal_summary(*, initiative: Initiative, grids: list[LineGrid], today: date | None = None
                   ) -> dict:
    """Benefit totals per fiscal year and kind, and the recurring run-rate."""
    today = today or timezone.localdate()
    start_month = initiative.organization.fiscal_year_start_month
    years: dict[int, dict[str, Decimal]] = {}
    run_rate = Decimal("0")
    for grid in grids:
        if grid.line.is_cost:
            continue
        for kind in ValueKind.values:
            monthly = {m: a for (m, k), a in grid.cells.items() if k == kind}
            for fy, total in calc.totals_by_fiscal_year(monthly, start_month=start_month).items():
                years.setdefault(fy, {}).setdefault(kind, Decimal("0"))
                years[fy][kind] += total
        if grid.line.recurring:
            # Best knowledge per month: actual, else forecast, else plan.
            best = {}
            for (month, kind), amount in grid.cells.items():
                rank = {"actual": 0, "forecast": 1, "planned": 2}[kind]
                if month not in best or rank < best[month][0]:
                    best[month] = (rank, amount)
            run_rate += calc.run_rate({m: a for m, (_r, a) in best.items()}, as_of=today)
    return {
        "years": [(calc.fiscal_year_label(fy, start_month=start_month), years[fy])
                  for fy in sorted(years)],
        "run_rate": run_rate,
    }

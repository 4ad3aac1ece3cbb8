"""What changed since a date, and the portfolio as it was on a date, read from the audit
history only: the pghistory event tables (``InitiativeEvent``, ``ImpactLineEvent``,
``MonthlyValueEvent``, ``MilestoneEvent``), the explicit decision rows (``StageEvent``,
``Escalation``) and the append-only status updates. No copy of anything is kept for this.

Moments. ``changes_since(since=d)`` compares the state at the start of day ``d`` (midnight
in the organisation's time zone) with the current rows: everything recorded on or after
``d`` counts as a change. ``portfolio_as_of(when=d)`` is the state at the end of day ``d``.
"The state at moment t" of a row is its latest event strictly before t, unless that
event is a delete (``DISTINCT ON (key) ... ORDER BY key, pgh_created_at DESC, pgh_id
DESC``, in SQL, one statement per kind of row).

Values are keyed by (line, month, kind), as the unique constraint on ``MonthlyValue``;
lines by their id, with the category they had then. Totals are benefit lines only
(one-time costs are judged in the RAG, not added to benefits), as on the dashboard.

RAG then vs now: ``reporting.rollups.judge``, the function behind the dashboard's colours
(which gives the same colours as the initiative page), judges each side: then as of the
start of ``since``, judged on ``since``; now from the current rows, judged today. Its
inputs on each side: the initiative's stage, creation date and update cadence (then: its
latest event), its newest status update (status updates are append-only, only
``initiatives.services.status_update_create`` writes them, so the newest one created
before the moment is the one that was newest then), its milestones (as they were, and
today's), and its impact lines' totals over the whole horizon (outturn = actual where a
month has one, else forecast). So the staleness rule applies on both sides: a stale
initiative is never green, exactly as on the dashboard. Both sides use the organisation's
current thresholds (``ValueSettings`` is not audited).

Filters (portfolio, program, business unit, owner) mean what they mean on the dashboard:
changes are filtered on the initiative's current place and owner; the portfolio as of a
date on the place and owner it had on that date.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models.functions import TruncDate
from django.utils import timezone

from cat4.tenancy.models import Organization
from governance.models import Escalation, EscalationState, StageEvent
from initiatives import calculations as calc
from initiatives.models import GATE_ORDER, Initiative, Stage
from initiatives.selectors import thresholds_for

from .rollups import InitiativeInput, judge
from .selectors import Money as Headline

ZERO = Decimal("0")
FILTER_KEYS = ("portfolio", "program", "business_unit", "owner")


# --------------------------------------------------------------------------- helpers


def _moment(organization: Organization, day: date) -> datetime:
    """Midnight at the start of ``day`` in the organisation's time zone."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(organization.time_zone))


def _today(organization: Organization) -> date:
    return timezone.localdate(timezone=ZoneInfo(organization.time_zone))


def clean_filters(filters) -> dict[str, int]:
    """Accepts a dict or the dashboard's ``DashboardFilters``; keeps the four structural
    filters with a value (ids are expected to be resolved inside the organisation)."""
    if filters is None:
        return {}
    if is_dataclass(filters):
        filters = asdict(filters)
    out = {}
    for key in FILTER_KEYS:
        value = filters.get(key)
        if value not in (None, ""):
            out[key] = int(getattr(value, "pk", value))
    return out


def _filter_sql(filters: dict[str, int], alias: str) -> tuple[str, dict]:
    """Conditions on an initiative-shaped row ``alias`` (program_id, business_unit_id,
    owner_id) and its program ``{alias}_pr`` (portfolio_id)."""
    parts, params = [], {}
    column = {"portfolio": f"{alias}_pr.portfolio_id", "program": f"{alias}.program_id",
              "business_unit": f"{alias}.business_unit_id", "owner": f"{alias}.owner_id"}
    for key, value in filters.items():
        parts.append(f"{column[key]} = %(f_{key})s")
        params[f"f_{key}"] = value
    return "".join(f" AND {p}" for p in parts), params


def _fetch(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# --------------------------------------------------------------------------- as of

# The state of every initiative, line and value cell at %(t)s, then the headline
# figures of the fiscal year [%(fy_start)s, %(fy_end)s) per stage.
_AS_OF_SQL = """
WITH inits AS (
    SELECT DISTINCT ON (pgh_obj_id) pgh_obj_id AS id, stage, program_id, business_unit_id,
           owner_id, pgh_label
    FROM initiatives_initiativeevent
    WHERE organization_id = %(org)s AND pgh_created_at < %(t)s
    ORDER BY pgh_obj_id, pgh_created_at DESC, pgh_id DESC
), lines AS (
    SELECT DISTINCT ON (pgh_obj_id) pgh_obj_id AS id, initiative_id, category, pgh_label
    FROM initiatives_impactlineevent
    WHERE organization_id = %(org)s AND pgh_created_at < %(t)s
    ORDER BY pgh_obj_id, pgh_created_at DESC, pgh_id DESC
), cells AS (
    SELECT DISTINCT ON (line_id, month, kind) line_id, month, kind, amount, pgh_label
    FROM initiatives_monthlyvalueevent
    WHERE organization_id = %(org)s AND pgh_created_at < %(t)s
      AND month >= %(fy_start)s AND month < %(fy_end)s
    ORDER BY line_id, month, kind, pgh_created_at DESC, pgh_id DESC
), line_months AS (
    SELECT line_id,
           SUM(amount) FILTER (WHERE kind = 'planned')  AS planned,
           SUM(amount) FILTER (WHERE kind = 'forecast') AS forecast,
           SUM(amount) FILTER (WHERE kind = 'actual')   AS actual
    FROM cells WHERE pgh_label <> 'delete'
    GROUP BY line_id, month
), per_initiative AS (
    SELECT l.initiative_id, SUM(m.planned) AS planned, SUM(m.forecast) AS forecast,
           SUM(m.actual) AS actual, SUM(COALESCE(m.actual, m.forecast, 0)) AS outturn
    FROM line_months m
    JOIN lines l ON l.id = m.line_id AND l.pgh_label <> 'delete'
                AND l.category <> 'one_time_cost'
    GROUP BY l.initiative_id
)
SELECT i.stage, COUNT(*), COALESCE(SUM(p.planned), 0), COALESCE(SUM(p.forecast), 0),
       COALESCE(SUM(p.actual), 0), COALESCE(SUM(p.outturn), 0)
FROM inits i
JOIN initiatives_program i_pr ON i_pr.id = i.program_id AND i_pr.organization_id = %(org)s
LEFT JOIN per_initiative p ON p.initiative_id = i.id
WHERE i.pgh_label <> 'delete' {filters}
GROUP BY i.stage
"""


@dataclass
class StageCount:
    stage: str
    label: str
    count: int
    headline: Headline


@dataclass
class PortfolioAsOf:
    when: date
    moment: datetime
    fiscal_year: int
    fiscal_label: str
    currency: str
    initiatives: int
    headline: Headline
    stages: list[StageCount]

    def count(self, stage: str) -> int:
        return next((s.count for s in self.stages if s.stage == stage), 0)


def portfolio_as_of(*, organization: Organization, when: date, filters=None,
                    fiscal_year: int | None = None) -> PortfolioAsOf:
    """The headline figures (benefits of one fiscal year: planned, forecast, actual,
    outturn) and the number of initiatives per stage as they were at the end of
    ``when``. The fiscal year defaults to the current one, so that a past date and today
    can be set side by side."""
    start_month = organization.fiscal_year_start_month
    fy = fiscal_year or calc.fiscal_year(_today(organization), start_month=start_month)
    months = calc.fiscal_year_months(fy, start_month=start_month)
    last = months[-1]
    moment = _moment(organization, when + timedelta(days=1))
    where, params = _filter_sql(clean_filters(filters), "i")
    rows = _fetch(_AS_OF_SQL.format(filters=where), {
        "org": organization.pk, "t": moment, "fy_start": months[0],
        "fy_end": date(last.year + last.month // 12, last.month % 12 + 1, 1), **params})
    by_stage = {r[0]: r for r in rows}
    stages = []
    for stage in Stage:
        r = by_stage.get(stage.value)
        stages.append(StageCount(stage.value, stage.label, r[1] if r else 0,
                                 Headline(*r[2:6]) if r else Headline()))
    total = Headline(*(sum((getattr(s.headline, k) for s in stages), ZERO)
                       for k in ("planned", "forecast", "actual", "outturn")))
    return PortfolioAsOf(when=when, moment=moment, fiscal_year=fy,
                         fiscal_label=calc.fiscal_year_label(fy, start_month=start_month),
                         currency=organization.base_currency,
                         initiatives=sum(s.count for s in stages), headline=total,
                         stages=stages)


def as_of_comparison(*, organization: Organization, when: date | None, filters) -> dict:
    """The portfolio at the end of ``when`` beside today, with the differences (the
    context of templates/reporting/_as_of.html, for the dashboard and the changes
    page); ``{"as_of": None}`` when ``when`` is None."""
    if when is None:
        return {"as_of": None}
    today = timezone.localdate()
    as_of = portfolio_as_of(organization=organization, when=when, filters=filters,
                            fiscal_year=filters.fiscal_year)
    now = portfolio_as_of(organization=organization, when=today, filters=filters,
                          fiscal_year=filters.fiscal_year)
    headline_rows = [(label, getattr(as_of.headline, key), getattr(now.headline, key),
                      getattr(now.headline, key) - getattr(as_of.headline, key))
                     for label, key in (("Planned", "planned"), ("Forecast", "forecast"),
                                        ("Outturn", "outturn"), ("Actual", "actual"))]
    stage_rows = [(then.label, then.count, current.count, current.count - then.count)
                  for then, current in zip(as_of.stages, now.stages, strict=True)]
    return {"as_of": as_of, "today_figures": now, "headline_rows": headline_rows,
            "stage_rows": stage_rows, "initiatives_delta": now.initiatives - as_of.initiatives,
            "currency": organization.base_currency}


# --------------------------------------------------------------------------- changes

# Initiatives with a value or line event at or after %(t)s: only their totals can differ.
_TOUCHED_SQL = """
SELECT DISTINCT le.initiative_id
FROM initiatives_impactlineevent le
WHERE le.organization_id = %(org)s
  AND le.pgh_obj_id IN (
      SELECT line_id FROM initiatives_monthlyvalueevent
      WHERE organization_id = %(org)s AND pgh_created_at >= %(t)s
      UNION
      SELECT pgh_obj_id FROM initiatives_impactlineevent
      WHERE organization_id = %(org)s AND pgh_created_at >= %(t)s)
"""

# Per line of the given initiatives, over the whole horizon, as of %(t)s: planned,
# forecast, actual, outturn (the actual where a month has one, else the forecast) and
# the number of forecast values.
_LINES_THEN_SQL = """
WITH lines AS (
    SELECT DISTINCT ON (pgh_obj_id) pgh_obj_id AS id, initiative_id, category, pgh_label
    FROM initiatives_impactlineevent
    WHERE organization_id = %(org)s AND pgh_created_at < %(t)s
      AND initiative_id = ANY(%(ids)s::bigint[])
    ORDER BY pgh_obj_id, pgh_created_at DESC, pgh_id DESC
), cells AS (
    SELECT DISTINCT ON (e.line_id, e.month, e.kind) e.line_id, e.month, e.kind, e.amount,
           e.pgh_label
    FROM initiatives_monthlyvalueevent e
    JOIN lines l ON l.id = e.line_id
    WHERE e.organization_id = %(org)s AND e.pgh_created_at < %(t)s
    ORDER BY e.line_id, e.month, e.kind, e.pgh_created_at DESC, e.pgh_id DESC
), line_months AS (
    SELECT line_id,
           SUM(amount) FILTER (WHERE kind = 'planned')  AS planned,
           SUM(amount) FILTER (WHERE kind = 'forecast') AS forecast,
           SUM(amount) FILTER (WHERE kind = 'actual')   AS actual
    FROM cells WHERE pgh_label <> 'delete'
    GROUP BY line_id, month
)
SELECT l.initiative_id, l.category = 'one_time_cost',
       COALESCE(SUM(m.planned), 0), COALESCE(SUM(m.forecast), 0), COALESCE(SUM(m.actual), 0),
       COALESCE(SUM(COALESCE(m.actual, m.forecast, 0)), 0), COUNT(m.forecast)
FROM lines l LEFT JOIN line_months m ON m.line_id = l.id
WHERE l.pgh_label <> 'delete'
GROUP BY l.initiative_id, l.id, l.category
"""

# The same from the current rows, in one pass per line rather than one group per month:
# the forecasts that an actual replaces are summed apart, by joining only the actual rows
# to their forecasts (as reporting.rollups does). The lines are picked by a subquery of
# the base table, not the CTE, so that the big scans can run in parallel.
_LINES_OF = """SELECT id FROM initiatives_impactline
               WHERE organization_id = %(org)s AND initiative_id = ANY(%(ids)s::bigint[])"""
_LINES_NOW_SQL = f"""
WITH per_line AS (
    SELECT line_id,
           SUM(amount) FILTER (WHERE kind = 'planned') AS planned,
           SUM(amount) FILTER (WHERE kind = 'forecast') AS forecast,
           SUM(amount) FILTER (WHERE kind = 'actual') AS actual,
           COUNT(*) FILTER (WHERE kind = 'forecast') AS forecasts
    FROM initiatives_monthlyvalue
    WHERE organization_id = %(org)s AND line_id IN ({_LINES_OF})
    GROUP BY line_id
), replaced AS (
    SELECT a.line_id, SUM(f.amount) AS amount
    FROM initiatives_monthlyvalue a
    JOIN initiatives_monthlyvalue f
      ON f.line_id = a.line_id AND f.month = a.month AND f.kind = 'forecast'
     AND f.organization_id = %(org)s
    WHERE a.organization_id = %(org)s AND a.kind = 'actual' AND a.line_id IN ({_LINES_OF})
    GROUP BY a.line_id
)
SELECT l.initiative_id, l.category = 'one_time_cost', COALESCE(p.planned, 0),
       COALESCE(p.forecast, 0), COALESCE(p.actual, 0),
       COALESCE(p.actual, 0) + COALESCE(p.forecast, 0) - COALESCE(r.amount, 0),
       COALESCE(p.forecasts, 0)
FROM initiatives_impactline l
LEFT JOIN per_line p ON p.line_id = l.id
LEFT JOIN replaced r ON r.line_id = l.id
WHERE l.organization_id = %(org)s AND l.initiative_id = ANY(%(ids)s::bigint[])
"""  # noqa: S608 (only this module's constants are formatted in)

# Each initiative's stage, creation and update cadence at %(t)s (its latest event before
# then, unless a delete).
_INITIATIVES_THEN_SQL = """
SELECT id, stage, (created_at AT TIME ZONE %(tz)s)::date, update_cadence_days FROM (
    SELECT DISTINCT ON (pgh_obj_id) pgh_obj_id AS id, stage, created_at,
           update_cadence_days, pgh_label
    FROM initiatives_initiativeevent
    WHERE organization_id = %(org)s AND pgh_created_at < %(t)s {only_obj}
    ORDER BY pgh_obj_id, pgh_created_at DESC, pgh_id DESC
) i
WHERE pgh_label <> 'delete'
"""

# Per initiative, the local dates of the newest status update before %(t)s and of the
# newest of all. Status updates are append-only, so the newest one before a moment is the
# one that was newest then.
_UPDATES_SQL = """
SELECT initiative_id,
       (MAX(created_at) FILTER (WHERE created_at < %(t)s) AT TIME ZONE %(tz)s)::date,
       (MAX(created_at) AT TIME ZONE %(tz)s)::date
FROM initiatives_statusupdate
WHERE organization_id = %(org)s {only}
GROUP BY initiative_id
"""

# Per initiative, summarised as reporting.rollups summarises them for ``judge``: how many
# milestones, how many overdue on %(day)s (not done, not waived, due before the day), the
# oldest overdue one's due date and title; from {source}, the current rows or the
# milestones as they were at %(t)s.
_MILESTONES_SQL = """
SELECT initiative_id, COUNT(*), COUNT(*) FILTER (WHERE od), MIN(due_date) FILTER (WHERE od),
       COALESCE((ARRAY_AGG(title ORDER BY due_date, id) FILTER (WHERE od))[1], '')
FROM (SELECT initiative_id, id, title, due_date,
             (done_date IS NULL AND NOT waived AND due_date < %(day)s) AS od
      FROM {source}) m
GROUP BY initiative_id
"""

_MILESTONES_NOW = "initiatives_milestone WHERE organization_id = %(org)s {only}"

_MILESTONES_THEN = """(
    SELECT DISTINCT ON (pgh_obj_id) pgh_obj_id AS id, initiative_id, title, due_date,
           done_date, waived, pgh_label
    FROM initiatives_milestoneevent
    WHERE organization_id = %(org)s AND pgh_created_at < %(t)s {only}
    ORDER BY pgh_obj_id, pgh_created_at DESC, pgh_id DESC
) e WHERE pgh_label <> 'delete'"""


@dataclass
class Totals:
    """Benefit totals of one initiative over its whole horizon."""

    planned: Decimal = ZERO
    forecast: Decimal = ZERO
    actual: Decimal = ZERO
    outturn: Decimal = ZERO


@dataclass
class InitiativeRef:
    id: int
    code: str
    title: str

    @property
    def subject(self) -> str:
        return f"{self.code} {self.title}"


@dataclass
class StageMove:
    at: datetime
    initiative: InitiativeRef
    from_stage: str
    to_stage: str
    actor: str
    reason: str

    @property
    def from_label(self) -> str:
        return Stage(self.from_stage).label

    @property
    def to_label(self) -> str:
        return Stage(self.to_stage).label


@dataclass
class ValueChange:
    initiative: InitiativeRef
    then: Totals
    now: Totals

    @property
    def delta(self) -> Totals:
        return Totals(*(getattr(self.now, k) - getattr(self.then, k)
                        for k in ("planned", "forecast", "actual", "outturn")))


@dataclass
class RagChange:
    initiative: InitiativeRef
    kind: str  # "financial" or "schedule"
    then: calc.Rag
    now: calc.Rag


@dataclass
class EscalationChange:
    at: datetime
    escalation_id: int
    initiative_id: int | None
    subject: str
    rule: str
    level: int
    explanation: str


@dataclass(frozen=True)
class ChangeEntry:
    """One line of the flat, chronological view of a report (board pack appendix)."""

    at: datetime | None
    kind: str
    subject: str
    detail: str
    initiative_id: int | None = None


@dataclass
class ChangeReport:
    since: date
    moment: datetime
    currency: str
    stage_moves: list[StageMove] = field(default_factory=list)
    value_changes: list[ValueChange] = field(default_factory=list)
    rag_changes: list[RagChange] = field(default_factory=list)
    escalations_raised: list[EscalationChange] = field(default_factory=list)
    escalations_resolved: list[EscalationChange] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.stage_moves or self.value_changes or self.rag_changes
                    or self.escalations_raised or self.escalations_resolved)

    def entries(self) -> list[ChangeEntry]:
        """Every change as one line, oldest first (value and RAG changes, which have no
        single time, come after the dated ones)."""
        money = lambda x: calc.format_money(x, self.currency)  # noqa: E731
        dated = [ChangeEntry(m.at, "stage", m.initiative.subject,
                             f"{m.from_label} → {m.to_label} by {m.actor}", m.initiative.id)
                 for m in self.stage_moves]
        dated += [ChangeEntry(e.at, "escalation_raised", e.subject, f"Raised: {e.rule}",
                              e.initiative_id) for e in self.escalations_raised]
        dated += [ChangeEntry(e.at, "escalation_resolved", e.subject, f"Resolved: {e.rule}",
                              e.initiative_id) for e in self.escalations_resolved]
        dated.sort(key=lambda e: (e.at, e.kind, e.subject))
        undated = [ChangeEntry(None, "value", c.initiative.subject,
                               f"plan {money(c.then.planned)} → {money(c.now.planned)}, "
                               f"forecast {money(c.then.forecast)} → {money(c.now.forecast)}, "
                               f"actual {money(c.then.actual)} → {money(c.now.actual)}",
                               c.initiative.id) for c in self.value_changes]
        undated += [ChangeEntry(None, f"rag_{c.kind}", c.initiative.subject,
                                f"{c.kind} {c.then.colour} → {c.now.colour}: "
                                f"{c.now.explanation}", c.initiative.id)
                    for c in self.rag_changes]
        return dated + undated

    def __iter__(self):
        return iter(self.entries())


@dataclass(slots=True)
class _Money:
    """An initiative's impact lines on one side (then or now), as ``InitiativeInput``
    counts them, and its benefit totals."""

    benefit_lines: int = 0
    cost_lines: int = 0
    planned: Decimal = ZERO
    forecast: Decimal = ZERO
    actual: Decimal = ZERO
    outturn: Decimal = ZERO
    cost_planned: Decimal = ZERO
    cost_outturn: Decimal = ZERO
    forecasts: int = 0

    def totals(self) -> Totals:
        return Totals(self.planned, self.forecast, self.actual, self.outturn)

    def fields(self) -> dict:
        return {"benefit_lines": self.benefit_lines, "cost_lines": self.cost_lines,
                "planned": self.planned, "outturn": self.outturn,
                "cost_planned": self.cost_planned, "cost_outturn": self.cost_outturn,
                "forecast_cells": self.forecasts}


_NO_MONEY = _Money()


def _money(rows) -> dict[int, _Money]:
    """Per initiative, from per-line rows (initiative, is cost, planned, forecast, actual,
    outturn, forecasts)."""
    out: dict[int, _Money] = {}
    for initiative_id, is_cost, planned, forecast, actual, outturn, forecasts in rows:
        m = out.get(initiative_id)
        if m is None:
            m = out[initiative_id] = _Money()
        m.forecasts += forecasts
        if is_cost:
            m.cost_lines += 1
            m.cost_planned += planned
            m.cost_outturn += outturn
        else:
            m.benefit_lines += 1
            m.planned += planned
            m.forecast += forecast
            m.actual += actual
            m.outturn += outturn
    return out


class _Side:
    """What ``judge`` needs of the selected initiatives on one side, then or now; the
    money is passed in, since it is read only where it can differ between the sides."""

    def __init__(self, *, day: date, state: dict, updates: dict, milestones: dict):
        self.day = day  # the day the side is judged on
        self.state = state  # {id: (stage, local creation date, update cadence in days)}
        self.updates = updates  # {id: local date of the newest status update}
        self.milestones = milestones  # {id: (count, overdue, oldest overdue due, title)}

    def input(self, pk: int, money: _Money) -> InitiativeInput:
        # An initiative that did not exist yet has no stage, so it is not stale either.
        stage, created, cadence = self.state.get(pk, ("", self.day, 0))
        count, overdue, oldest_due, oldest_title = self.milestones.get(pk, (0, 0, None, ""))
        return InitiativeInput(
            initiative_id=pk, stage=stage, created=created,
            last_update=self.updates.get(pk), cadence_days=cadence, milestones=count,
            overdue=overdue, oldest_overdue_due=oldest_due, oldest_overdue_title=oldest_title,
            **money.fields())


def _sides(organization: Organization, *, current: dict[int, tuple], moment: datetime,
           since: date, today: date, only: str, ids: list[int]) -> tuple[_Side, _Side]:
    # Local dates as the initiative page and the rollups take them (the current time zone).
    params = {"org": organization.pk, "t": moment, "ids": ids,
              "tz": timezone.get_current_timezone_name()}
    updates = _fetch(_UPDATES_SQL.format(only=only), params)
    states = _fetch(_INITIATIVES_THEN_SQL.format(
        only_obj=only.replace("initiative_id", "pgh_obj_id")), params)

    def milestones(source: str, day: date) -> dict[int, tuple]:
        rows = _fetch(_MILESTONES_SQL.format(source=source.format(only=only)),
                      {**params, "day": day})
        return {row[0]: row[1:] for row in rows}

    then = _Side(day=since, state={pk: state for pk, *state in states},
                 updates={pk: at for pk, at, _now in updates if at is not None},
                 milestones=milestones(_MILESTONES_THEN, since))
    now = _Side(day=today, state=current, updates={pk: at for pk, _then, at in updates},
                milestones=milestones(_MILESTONES_NOW, today))
    return then, now


def _value_and_rag_changes(report: ChangeReport, *, organization: Organization,
                           refs: dict[int, InitiativeRef], current: dict[int, tuple],
                           today: date, filtered: bool) -> None:
    """Value and RAG changes of the selected initiatives (``refs``, with their current
    stage, creation time and cadence in ``current``): both sides judged by
    ``reporting.rollups.judge``, then on ``since`` and now on ``today``."""
    ids = list(refs)
    if not ids:
        return
    since, moment = report.since, report.moment
    only = " AND initiative_id = ANY(%(ids)s::bigint[])" if filtered else ""
    then, now = _sides(organization, current=current, moment=moment, since=since,
                       today=today, only=only, ids=ids)
    thresholds = thresholds_for(organization)
    currency = organization.base_currency

    def verdicts(pk: int, before: _Money, after: _Money, *, explain: bool = False):
        return (judge(then.input(pk, before), thresholds=thresholds, currency=currency,
                      today=since, explain=explain),
                judge(now.input(pk, after), thresholds=thresholds, currency=currency,
                      today=today, explain=explain))

    # The money's totals can differ only for initiatives with a value or line event since
    # then ("touched"); its colour also where the staleness differs, since a stale
    # initiative is never green. Elsewhere the money is the same on both sides, and so is
    # its colour: those are judged without it, for delivery and staleness (which time
    # passing alone can turn).
    params = {"org": organization.pk, "t": moment}
    touched = {r[0] for r in _fetch(_TOUCHED_SQL, params)} & set(ids)
    judged = {pk: verdicts(pk, _NO_MONEY, _NO_MONEY) for pk in ids if pk not in touched}
    money_ids = touched | {pk for pk, (j_then, j_now) in judged.items()
                           if j_then.stale != j_now.stale}
    money_now = _money(_fetch(_LINES_NOW_SQL, {**params, "ids": sorted(money_ids)}))
    money_then = {pk: money_now[pk] for pk in money_ids - touched if pk in money_now}
    money_then.update(_money(_fetch(_LINES_THEN_SQL, {**params, "ids": sorted(touched)})))

    for pk in sorted(ids, key=lambda pk: refs[pk].code):
        kinds = ["schedule"]
        if pk in money_ids:
            kinds.insert(0, "financial")
            before, after = money_then.get(pk, _NO_MONEY), money_now.get(pk, _NO_MONEY)
            if pk in touched and before.totals() != after.totals():
                report.value_changes.append(
                    ValueChange(refs[pk], before.totals(), after.totals()))
            judged[pk] = verdicts(pk, before, after)
        else:
            before = after = _NO_MONEY
        j_then, j_now = judged[pk]
        changed = [kind for kind in kinds
                   if getattr(j_then, kind).colour != getattr(j_now, kind).colour]
        if "financial" in changed:  # again, with the money's sentences the page shows
            j_then, j_now = verdicts(pk, before, after, explain=True)
        report.rag_changes.extend(
            RagChange(refs[pk], kind, getattr(j_then, kind), getattr(j_now, kind))
            for kind in changed)
    report.rag_changes.sort(key=lambda c: (c.initiative.code, c.kind))


def _selected_initiatives(organization: Organization, filters: dict[str, int]):
    qs = Initiative.objects.filter(organization=organization)
    if "portfolio" in filters:
        qs = qs.filter(program__portfolio_id=filters["portfolio"])
    for key in ("program", "business_unit", "owner"):
        if key in filters:
            qs = qs.filter(**{f"{key}_id": filters[key]})
    return qs


def changes_since(*, organization: Organization, since: date, filters=None,
                  today: date | None = None) -> ChangeReport:
    """Stage moves, value and RAG changes, and escalations raised or resolved since the
    start of ``since`` (see the module docstring for what each one compares)."""
    filters = clean_filters(filters)
    today = today or _today(organization)
    moment = _moment(organization, since)
    report = ChangeReport(since=since, moment=moment, currency=organization.base_currency)
    selected = _selected_initiatives(organization, filters)
    refs, current = {}, {}
    for pk, code, title, stage, created, cadence in (
            selected.annotate(created_day=TruncDate("created_at")).values_list(
                "pk", "code", "title", "stage", "created_day", "update_cadence_days")):
        refs[pk] = InitiativeRef(pk, code, title)
        current[pk] = (stage, created, cadence)

    # Stage moves: the explicit, immutable StageEvent rows.
    moves = (StageEvent.objects.filter(organization=organization, at__gte=moment)
             .select_related("actor").order_by("at", "id"))
    if filters:
        moves = moves.filter(initiative_id__in=selected.values("pk"))
    report.stage_moves = [
        StageMove(e.at, refs[e.initiative_id], e.from_stage, e.to_stage,
                  e.actor.full_name or e.actor.email, e.reason)
        for e in moves if e.initiative_id in refs]

    # Values and RAG.
    _value_and_rag_changes(report, organization=organization, refs=refs, current=current,
                           today=today, filtered=bool(filters))

    # Escalations: the explicit rows carry when they were raised and resolved.
    escalations = Escalation.objects.filter(organization=organization).select_related("rule")
    if filters:
        escalations = escalations.filter(initiative_id__in=selected.values("pk"))
    for e in escalations.filter(raised_at__gte=moment).order_by("raised_at", "id"):
        report.escalations_raised.append(EscalationChange(
            e.raised_at, e.pk, e.initiative_id, e.subject_label, e.rule.name, e.level,
            e.explanation))
    for e in (escalations.filter(state=EscalationState.RESOLVED, resolved_at__gte=moment)
              .order_by("resolved_at", "id")):
        report.escalations_resolved.append(EscalationChange(
            e.resolved_at, e.pk, e.initiative_id, e.subject_label, e.rule.name, e.level,
            e.explanation))
    return report


__all__ = ["ChangeEntry", "ChangeReport", "EscalationChange", "Headline", "PortfolioAsOf",
           "RagChange", "StageCount", "StageMove", "Totals", "ValueChange", "as_of_comparison",
           "changes_since", "clean_filters", "portfolio_as_of"]

# The gate path, for templates that show stages in order.
STAGES_IN_ORDER = [*GATE_ORDER, Stage.ON_HOLD, Stage.CANCELLED]

"""The rollups behind the dashboard: one ``InitiativeFact`` per initiative and one
``InitiativeYearValue`` per initiative and fiscal year, rebuilt from source.

Three steps, each replaceable on its own:

1. ``load_inputs`` (SQL): per-initiative aggregates, computed in PostgreSQL in a fixed
   number of queries (no per-initiative query, no ORM object per value row):
   the initiatives with their structure and latest status update, their line and
   milestone summaries, their value sums per fiscal year and benefit/cost group, and the
   latest run-rate value of each recurring benefit line.
2. ``build_rows`` (pure): turns those aggregate rows into fact rows and year rows. The
   colours come from ``initiatives.calculations`` exactly as the initiative page computes
   them (``initiatives.selectors.initiative_status``), so the two never disagree. Nothing
   here touches the database: the portfolio *as of a past date* is the same function fed
   with aggregates made from audit-history rows (``value_aggregates`` and
   ``milestone_summary`` below make them from raw rows).
3. ``write_rows``: upsert by the unique keys (``INSERT ... ON CONFLICT DO UPDATE`` from
   one array per column), delete the rows of initiatives (and years)
   that are gone, record the ``RollupRun``; one transaction, so readers never see a
   half-built state.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone
from django_scopes import scope

from cat4.tenancy.models import Organization
from initiatives import calculations as calc
from initiatives.selectors import ACTIVE_STAGES, thresholds_for

from .models import InitiativeFact, InitiativeYearValue, RollupRun

ZERO = Decimal("0")
JOB = "reporting.refresh_rollups"


# --------------------------------------------------------------------------- input rows


@dataclass(frozen=True, kw_only=True)
class MilestoneSummary:
    """What the schedule RAG needs of an initiative's milestones on a given day."""

    count: int = 0
    overdue: int = 0  # not done, not waived, due before the day
    oldest_overdue_due: date | None = None
    oldest_overdue_title: str = ""


@dataclass(frozen=True, kw_only=True)
class InitiativeInput:
    initiative_id: int
    stage: str
    program_id: int
    portfolio_id: int
    business_unit_id: int | None
    owner_id: int
    created: date  # local date of creation
    last_update: date | None  # local date of the newest status update
    cadence_days: int
    benefit_lines: int = 0
    cost_lines: int = 0
    milestones: MilestoneSummary = field(default_factory=MilestoneSummary)


@dataclass(frozen=True, kw_only=True)
class ValueAggregate:
    """Sums of one initiative's values in one fiscal year, benefits or one-time costs.
    ``outturn`` is the actual where a (line, month) has one, else its forecast."""

    initiative_id: int
    fiscal_year: int
    is_cost: bool
    planned: Decimal = ZERO
    forecast: Decimal = ZERO
    actual: Decimal = ZERO
    outturn: Decimal = ZERO
    forecast_cells: int = 0  # how many forecast values there are (amount 0 included)


@dataclass(frozen=True, kw_only=True)
class RunRateValue:
    """The latest value (actual, else forecast, else planned) of one recurring benefit
    line in a month up to the day of the rollup."""

    initiative_id: int
    month: date
    amount: Decimal


# --------------------------------------------------------------------------- output rows


@dataclass(frozen=True, kw_only=True)
class FactRow:
    initiative_id: int
    stage: str
    program_id: int
    portfolio_id: int
    business_unit_id: int | None
    owner_id: int
    schedule_rag: str
    financial_rag: str
    schedule_explanation: str
    financial_explanation: str
    stale: bool
    last_update: date | None
    planned: Decimal
    forecast: Decimal
    actual: Decimal
    outturn: Decimal
    run_rate: Decimal


@dataclass(frozen=True, kw_only=True)
class YearRow:
    initiative_id: int
    fiscal_year: int
    planned: Decimal = ZERO
    forecast: Decimal = ZERO
    actual: Decimal = ZERO
    outturn: Decimal = ZERO
    one_time_cost_planned: Decimal = ZERO
    one_time_cost_outturn: Decimal = ZERO


@dataclass(frozen=True)
class RollupRows:
    facts: list[FactRow]
    years: list[YearRow]


# --------------------------------------------------------------------------- pure part


def milestone_summary(milestones: Iterable[calc.MilestoneFacts], *, today: date
                      ) -> MilestoneSummary:
    """The summary of raw milestones (in the page's order: due date, then id)."""
    items = list(milestones)
    overdue = [m for m in items if not m.is_closed and m.due_date < today]
    oldest = min(overdue, key=lambda m: m.due_date) if overdue else None
    return MilestoneSummary(count=len(items), overdue=len(overdue),
                            oldest_overdue_due=oldest.due_date if oldest else None,
                            oldest_overdue_title=oldest.title if oldest else "")


def value_aggregates(cells: Iterable[tuple[int, int, bool, date, str, Decimal]], *,
                     start_month: int) -> list[ValueAggregate]:
    """Aggregates from raw value cells ``(initiative_id, line_id, is_cost, month, kind,
    amount)``, the same as the SQL in ``load_inputs`` computes (for history replays)."""
    by_cell: dict[tuple[int, int, bool, date], dict[str, Decimal]] = defaultdict(dict)
    for initiative_id, line_id, is_cost, month, kind, amount in cells:
        by_cell[(initiative_id, line_id, is_cost, month)][kind] = amount
    sums: dict[tuple[int, int, bool], dict[str, Decimal]] = {}
    for (initiative_id, _line, is_cost, month), kinds in by_cell.items():
        key = (initiative_id, calc.fiscal_year(month, start_month=start_month), is_cost)
        acc = sums.setdefault(key, {"planned": ZERO, "forecast": ZERO, "actual": ZERO,
                                    "outturn": ZERO, "cells": 0})
        for kind in ("planned", "forecast", "actual"):
            acc[kind] += kinds.get(kind, ZERO)
        acc["outturn"] += kinds["actual"] if "actual" in kinds else kinds.get("forecast", ZERO)
        acc["cells"] += "forecast" in kinds
    return [ValueAggregate(initiative_id=i, fiscal_year=fy, is_cost=c, planned=a["planned"],
                           forecast=a["forecast"], actual=a["actual"], outturn=a["outturn"],
                           forecast_cells=a["cells"])
            for (i, fy, c), a in sorted(sums.items())]


def _schedule_milestones(summary: MilestoneSummary, today: date) -> list[calc.MilestoneFacts]:
    """Milestones that give ``calc.schedule_rag`` the same answer as the full list: the
    overdue ones (the oldest first, with its title) or one closed milestone."""
    if summary.count == 0:
        return []
    if summary.overdue == 0 or summary.oldest_overdue_due is None:
        return [calc.MilestoneFacts(title="", due_date=today, done_date=today, weight=1,
                                    waived=False)]
    return [calc.MilestoneFacts(title=summary.oldest_overdue_title if i == 0 else "",
                                due_date=summary.oldest_overdue_due, done_date=None,
                                weight=1, waived=False)
            for i in range(summary.overdue)]


def _financial(initiative: InitiativeInput, values: Sequence[ValueAggregate], *,
               thresholds: calc.Thresholds, currency: str) -> calc.Rag:
    """As ``initiative_status``: grey without lines or without any forecast; else the
    benefits and costs (planned against outturn over the whole horizon) combined."""
    if initiative.benefit_lines + initiative.cost_lines == 0:
        return calc.Rag(calc.RagColour.GREY, "no impact lines yet")
    if not any(v.forecast_cells for v in values):
        return calc.Rag(calc.RagColour.GREY,
                        "no forecast yet: forecasts are entered from the Decided gate on")
    lines = []
    for is_cost, count in ((False, initiative.benefit_lines), (True, initiative.cost_lines)):
        if count:
            group = [v for v in values if v.is_cost is is_cost]
            lines.append(calc.LineTotals(planned=sum((v.planned for v in group), ZERO),
                                         forecast=sum((v.outturn for v in group), ZERO),
                                         is_cost=is_cost))
    return calc.combine_financial(lines, thresholds=thresholds, currency=currency)


def build_rows(*, initiatives: Iterable[InitiativeInput], values: Iterable[ValueAggregate],
               run_rates: Iterable[RunRateValue], thresholds: calc.Thresholds,
               currency: str, today: date) -> RollupRows:
    """Fact and year rows from per-initiative aggregates. Pure: no database."""
    values_of: dict[int, list[ValueAggregate]] = defaultdict(list)
    for v in values:
        values_of[v.initiative_id].append(v)
    run_rate_of: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for r in run_rates:
        run_rate_of[r.initiative_id] += calc.run_rate({r.month: r.amount}, as_of=today)

    facts: list[FactRow] = []
    years: list[YearRow] = []
    for i in initiatives:
        own = values_of.get(i.initiative_id, [])
        stale = i.stage in ACTIVE_STAGES and calc.is_update_stale(
            last_update=i.last_update, created=i.created, cadence_days=i.cadence_days,
            today=today)
        schedule = calc.apply_staleness(
            calc.schedule_rag(_schedule_milestones(i.milestones, today), today=today),
            stale=stale, last_update=i.last_update)
        financial = calc.apply_staleness(
            _financial(i, own, thresholds=thresholds, currency=currency),
            stale=stale, last_update=i.last_update)
        benefits = [v for v in own if not v.is_cost]
        facts.append(FactRow(
            initiative_id=i.initiative_id, stage=i.stage, program_id=i.program_id,
            portfolio_id=i.portfolio_id, business_unit_id=i.business_unit_id,
            owner_id=i.owner_id, schedule_rag=str(schedule.colour),
            financial_rag=str(financial.colour), schedule_explanation=schedule.explanation,
            financial_explanation=financial.explanation, stale=stale,
            last_update=i.last_update,
            planned=sum((v.planned for v in benefits), ZERO),
            forecast=sum((v.forecast for v in benefits), ZERO),
            actual=sum((v.actual for v in benefits), ZERO),
            outturn=sum((v.outturn for v in benefits), ZERO),
            run_rate=run_rate_of[i.initiative_id]))
        by_year: dict[int, dict[str, Decimal]] = {}
        for v in own:
            y = by_year.setdefault(v.fiscal_year, {})
            if v.is_cost:
                y["one_time_cost_planned"] = y.get("one_time_cost_planned", ZERO) + v.planned
                y["one_time_cost_outturn"] = y.get("one_time_cost_outturn", ZERO) + v.outturn
            else:
                for kind in ("planned", "forecast", "actual", "outturn"):
                    y[kind] = y.get(kind, ZERO) + getattr(v, kind)
        years.extend(YearRow(initiative_id=i.initiative_id, fiscal_year=fy, **sums)
                     for fy, sums in sorted(by_year.items()))
    return RollupRows(facts, years)


# --------------------------------------------------------------------------- SQL part

_INITIATIVES_SQL = """
SELECT i.id, i.stage, i.program_id, p.portfolio_id, i.business_unit_id, i.owner_id,
       i.created_at, i.update_cadence_days, u.latest,
       COALESCE(l.benefit_lines, 0), COALESCE(l.cost_lines, 0),
       COALESCE(m.total, 0), COALESCE(m.overdue, 0), m.oldest_due, m.oldest_title
FROM initiatives_initiative i
JOIN initiatives_program p ON p.id = i.program_id
LEFT JOIN (
    SELECT initiative_id, MAX(created_at) AS latest FROM initiatives_statusupdate
    WHERE organization_id = %(org)s GROUP BY initiative_id
) u ON u.initiative_id = i.id
LEFT JOIN (
    SELECT initiative_id,
           COUNT(*) FILTER (WHERE category <> 'one_time_cost') AS benefit_lines,
           COUNT(*) FILTER (WHERE category = 'one_time_cost') AS cost_lines
    FROM initiatives_impactline WHERE organization_id = %(org)s GROUP BY initiative_id
) l ON l.initiative_id = i.id
LEFT JOIN (
    SELECT initiative_id, COUNT(*) AS total,
           COUNT(*) FILTER (WHERE od) AS overdue,
           MIN(due_date) FILTER (WHERE od) AS oldest_due,
           (ARRAY_AGG(title ORDER BY due_date, id) FILTER (WHERE od))[1] AS oldest_title
    FROM (SELECT initiative_id, id, title, due_date,
                 (done_date IS NULL AND NOT waived AND due_date < %(today)s) AS od
          FROM initiatives_milestone WHERE organization_id = %(org)s) ms
    GROUP BY initiative_id
) m ON m.initiative_id = i.id
WHERE i.organization_id = %(org)s
ORDER BY i.id
"""

# The organisation's values per initiative, fiscal year and benefit/cost group. The
# outturn takes a month's actual instead of its forecast; rather than grouping ~1M rows
# by (line, month) to pair them (3 s at reference scale), the big scan groups straight
# by (line, fiscal year) and the forecasts that an actual replaces are summed apart, by
# joining only the actual rows (~15 %) to their forecasts: the same numbers, ~3x faster.
_FY = "EXTRACT(YEAR FROM {month} + make_interval(months => %(shift)s))::int"
_VALUES_SQL = f"""
WITH per_line AS (
    SELECT v.line_id, {_FY.format(month="v.month")} AS fy,
           SUM(v.amount) FILTER (WHERE v.kind = 'planned') AS planned,
           SUM(v.amount) FILTER (WHERE v.kind = 'forecast') AS forecast,
           SUM(v.amount) FILTER (WHERE v.kind = 'actual') AS actual,
           COUNT(*) FILTER (WHERE v.kind = 'forecast') AS forecast_cells
    FROM initiatives_monthlyvalue v
    WHERE v.organization_id = %(org)s
    GROUP BY 1, 2
), replaced AS (
    SELECT a.line_id, {_FY.format(month="a.month")} AS fy, SUM(f.amount) AS amount
    FROM initiatives_monthlyvalue a
    JOIN initiatives_monthlyvalue f
      ON f.line_id = a.line_id AND f.month = a.month AND f.kind = 'forecast'
     AND f.organization_id = %(org)s
    WHERE a.organization_id = %(org)s AND a.kind = 'actual'
    GROUP BY 1, 2
)
SELECT l.initiative_id, p.fy, l.category = 'one_time_cost',
       COALESCE(SUM(p.planned), 0), COALESCE(SUM(p.forecast), 0),
       COALESCE(SUM(p.actual), 0),
       COALESCE(SUM(COALESCE(p.actual, 0) + COALESCE(p.forecast, 0)
                    - COALESCE(r.amount, 0)), 0),
       SUM(p.forecast_cells)
FROM per_line p
JOIN initiatives_impactline l ON l.id = p.line_id AND l.organization_id = %(org)s
LEFT JOIN replaced r ON r.line_id = p.line_id AND r.fy = p.fy
GROUP BY 1, 2, 3
"""  # noqa: S608 (only this module's constants are formatted in)

# The run-rate: the latest month up to today of each recurring benefit line, the actual
# before the forecast before the plan ('actual' < 'forecast' < 'planned'), read from the
# (line, month, kind) unique index: one short index scan per line.
_RUN_RATE_SQL = """
SELECT l.initiative_id, r.amount, r.month
FROM initiatives_impactline l
CROSS JOIN LATERAL (
    SELECT v.month, v.amount FROM initiatives_monthlyvalue v
    WHERE v.line_id = l.id AND v.organization_id = %(org)s AND v.month <= %(today)s
    ORDER BY v.month DESC, v.kind ASC LIMIT 1
) r
WHERE l.organization_id = %(org)s AND l.recurring AND l.category <> 'one_time_cost'
"""


@dataclass
class Inputs:
    initiatives: list[InitiativeInput]
    values: list[ValueAggregate]
    run_rates: list[RunRateValue]


def _local_date(moment: datetime | None) -> date | None:
    return timezone.localdate(moment) if moment is not None else None


def load_inputs(*, organization: Organization, today: date) -> Inputs:
    """The per-initiative aggregates of one organisation, in two queries."""
    start_month = organization.fiscal_year_start_month
    params = {"org": organization.pk, "today": today,
              "shift": (13 - start_month) % 12}
    with connection.cursor() as cursor:
        if connection.in_atomic_block:
            # Enough memory to hash ~1M value rows instead of sorting them on disk.
            cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(_INITIATIVES_SQL, params)
        initiatives = [
            InitiativeInput(
                initiative_id=r[0], stage=r[1], program_id=r[2], portfolio_id=r[3],
                business_unit_id=r[4], owner_id=r[5], created=_local_date(r[6]),
                cadence_days=r[7], last_update=_local_date(r[8]), benefit_lines=r[9],
                cost_lines=r[10],
                milestones=MilestoneSummary(count=r[11], overdue=r[12],
                                            oldest_overdue_due=r[13],
                                            oldest_overdue_title=r[14] or ""))
            for r in cursor.fetchall()]
        cursor.execute(_VALUES_SQL, params)
        values = [ValueAggregate(initiative_id=r[0], fiscal_year=r[1], is_cost=r[2],
                                 planned=r[3], forecast=r[4], actual=r[5], outturn=r[6],
                                 forecast_cells=r[7])
                  for r in cursor.fetchall()]
        cursor.execute(_RUN_RATE_SQL, params)
        run_rates = [RunRateValue(initiative_id=r[0], amount=r[1], month=r[2])
                     for r in cursor.fetchall()]
    return Inputs(initiatives, values, run_rates)


# --------------------------------------------------------------------------- writing

_YEAR_FIELDS = ["planned", "forecast", "actual", "outturn", "one_time_cost_planned",
                "one_time_cost_outturn"]


def _upsert(cursor, table: str, org_id: int, columns: list[tuple[str, str, list]],
            conflict: str, extra: dict | None = None) -> None:
    """INSERT ... SELECT FROM unnest(one array per column) ... ON CONFLICT DO UPDATE: the
    same statement ``bulk_create(update_conflicts=True)`` makes, with one parameter per
    column instead of one per value (Django's version took ~2.5 s for 34,000 rows)."""
    extra = extra or {}
    names = [name for name, _type, _values in columns]
    keys = {k.strip() for k in conflict.split(",")}
    updates = [n for n in names + list(extra) if n not in keys]
    # Table and column names are this module's constants, never input.
    sql = (f"INSERT INTO {table} (organization_id, {', '.join(names + list(extra))}) "  # noqa: S608
           f"SELECT %s, u.*{''.join(', %s' for _ in extra)} FROM unnest("
           + ", ".join(f"%s::{sql_type}[]" for _n, sql_type, _v in columns)
           + f") AS u ON CONFLICT ({conflict}) DO UPDATE SET "
           + ", ".join(f"{n} = EXCLUDED.{n}" for n in updates)
           # Unchanged rows are not rewritten (no dead tuples, no index churn).
           + f" WHERE ({', '.join(f'{table}.{n}' for n in names if n not in keys)})"
           + f" IS DISTINCT FROM ({', '.join(f'EXCLUDED.{n}' for n in names if n not in keys)})")
    cursor.execute(sql, [org_id, *extra.values(), *(values for _n, _t, values in columns)])


def write_rows(*, organization: Organization, rows: RollupRows, computed_at: datetime
               ) -> None:
    """Upsert the rows by their unique keys and delete those of vanished initiatives
    and fiscal years. Call inside a transaction and the organisation's scope."""
    org_id = organization.pk
    facts, years = rows.facts, rows.years
    fact_ids = [f.initiative_id for f in facts]
    year_ids = [y.initiative_id for y in years]
    year_fys = [y.fiscal_year for y in years]
    with connection.cursor() as cursor:
        _upsert(cursor, InitiativeFact._meta.db_table, org_id, [
            ("initiative_id", "bigint", fact_ids),
            ("stage", "text", [f.stage for f in facts]),
            ("portfolio_id", "bigint", [f.portfolio_id for f in facts]),
            ("program_id", "bigint", [f.program_id for f in facts]),
            ("business_unit_id", "bigint", [f.business_unit_id for f in facts]),
            ("owner_id", "bigint", [f.owner_id for f in facts]),
            ("schedule_rag", "text", [f.schedule_rag for f in facts]),
            ("financial_rag", "text", [f.financial_rag for f in facts]),
            ("stale", "boolean", [f.stale for f in facts]),
            ("last_update", "date", [f.last_update for f in facts]),
            ("planned", "numeric", [f.planned for f in facts]),
            ("forecast", "numeric", [f.forecast for f in facts]),
            ("actual", "numeric", [f.actual for f in facts]),
            ("outturn", "numeric", [f.outturn for f in facts]),
            ("run_rate", "numeric", [f.run_rate for f in facts]),
        ], "initiative_id", extra={"computed_at": computed_at})
        _upsert(cursor, InitiativeYearValue._meta.db_table, org_id, [
            ("initiative_id", "bigint", year_ids),
            ("fiscal_year", "integer", year_fys),
            *((name, "numeric", [getattr(y, name) for y in years]) for name in _YEAR_FIELDS),
        ], "initiative_id, fiscal_year")
        cursor.execute(
            "DELETE FROM reporting_initiativefact WHERE organization_id = %s"
            " AND initiative_id NOT IN (SELECT unnest(%s::bigint[]))", [org_id, fact_ids])
        cursor.execute(
            "DELETE FROM reporting_initiativeyearvalue y WHERE y.organization_id = %s"
            " AND (y.initiative_id, y.fiscal_year) NOT IN"
            " (SELECT * FROM unnest(%s::bigint[], %s::int[]))",
            [org_id, year_ids, year_fys])


def rebuild(*, organization: Organization, today: date | None = None) -> RollupRun:
    """Rebuild one organisation's rollups from source (idempotent)."""
    started = time.monotonic()
    today = today or timezone.localdate()
    with scope(organization=organization), transaction.atomic():
        inputs = load_inputs(organization=organization, today=today)
        rows = build_rows(initiatives=inputs.initiatives, values=inputs.values,
                          run_rates=inputs.run_rates,
                          thresholds=thresholds_for(organization),
                          currency=organization.base_currency, today=today)
        now = timezone.now()
        write_rows(organization=organization, rows=rows, computed_at=now)
        run, _ = RollupRun.objects.update_or_create(
            organization=organization,
            defaults={"finished_at": timezone.now(),
                      "duration_ms": int((time.monotonic() - started) * 1000),
                      "initiatives": len(rows.facts)})
    return run


__all__ = ["FactRow", "InitiativeInput", "MilestoneSummary", "RollupRows", "RunRateValue",
           "ValueAggregate", "YearRow", "build_rows", "load_inputs",
           "milestone_summary", "rebuild", "value_aggregates", "write_rows"]

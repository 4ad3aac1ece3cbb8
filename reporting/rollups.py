"""The rollups behind the dashboard, in two levels, rebuilt in one transaction (readers
never see a half-built state) by the Celery job every five minutes, and by ``rebuild``
wherever figures must be current at once.

1. ``LineYearValue``: each impact line's planned, forecast, actual and outturn value per
   fiscal year, summed from the raw monthly values (about 1M rows at reference scale).
   Triggers (migration 0002) mark a line as dirty whenever any of its values is
   inserted, updated or deleted; a run sums only the dirty lines again. It sums every
   line on the first run, after the organisation's fiscal year start changed, and with
   ``full=True``.
2. ``InitiativeYearValue`` and ``InitiativeFact``: recomputed in full on every run, from
   the line sums, the initiatives, their milestones and their status updates. The
   year rows and the facts' structure and totals come from SQL. The two colours and
   the staleness come from ``judge``, a pure function over one ``InitiativeInput``,
   which uses ``initiatives.calculations`` exactly as the initiative page does
   (``initiatives.selectors.initiative_status``), so the two never disagree. Only
   rows that changed are written.

Nothing per value crosses into Python, and only one row per initiative does: the
inputs of ``judge`` out, its verdicts back in (``COPY``).
"""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from django.db import connection, transaction
from django.utils import timezone
from django_scopes import scope

from cat4.common.locks import org_job_xact_lock, try_org_job_lock
from cat4.common.rag import Rag, RagColour, Thresholds, apply_staleness
from cat4.tenancy.models import Organization
from initiatives import calculations as calc
from initiatives.selectors import ACTIVE_STAGES, thresholds_for

from .models import RollupRun

JOB = "reporting.refresh_rollups"


# --------------------------------------------------------------------------- pure part


class InitiativeInput(NamedTuple):
    """What ``judge`` needs of one initiative on a given day. Money is in the
    organisation's base currency, summed over the whole horizon."""

    initiative_id: int
    stage: str
    created: date  # date of creation in the organisation's time zone
    last_update: date | None  # the same of the newest status update
    cadence_days: int
    benefit_lines: int
    cost_lines: int
    milestones: int
    overdue: int  # milestones not done, not waived and due before the day
    oldest_overdue_due: date | None
    oldest_overdue_title: str
    planned: Decimal  # benefits
    outturn: Decimal  # benefits: the actual where a month has one, else the forecast
    cost_planned: Decimal  # one-time costs
    cost_outturn: Decimal
    forecast_cells: int  # forecast values of all lines (zero amounts included)


class Judgement(NamedTuple):
    schedule: Rag
    financial: Rag
    stale: bool


def _schedule_milestones(i: InitiativeInput, today: date) -> list[calc.MilestoneFacts]:
    """Milestones that give ``calc.schedule_rag`` the same answer as the full list: the
    overdue ones (the oldest first, with its title) or one closed milestone."""
    if i.milestones == 0:
        return []
    if i.overdue == 0 or i.oldest_overdue_due is None:
        return [calc.MilestoneFacts(title="", due_date=today, done_date=today, weight=1,
                                    waived=False)]
    return [calc.MilestoneFacts(title=i.oldest_overdue_title if n == 0 else "",
                                due_date=i.oldest_overdue_due, done_date=None,
                                weight=1, waived=False)
            for n in range(i.overdue)]


def _financial(i: InitiativeInput, *, thresholds: Thresholds, currency: str,
               explain: bool) -> Rag:
    """As ``initiative_status``: grey without lines or without any forecast; else the
    benefits and costs (planned against outturn over the whole horizon) combined."""
    if i.benefit_lines + i.cost_lines == 0:
        return Rag(RagColour.GREY, "no impact lines yet")
    if not i.forecast_cells:
        return Rag(RagColour.GREY,
                        "no forecast yet: forecasts are entered from the Decided gate on")
    lines = []
    if i.benefit_lines:
        lines.append(calc.LineTotals(planned=i.planned, forecast=i.outturn, is_cost=False))
    if i.cost_lines:
        lines.append(calc.LineTotals(planned=i.cost_planned, forecast=i.cost_outturn,
                                     is_cost=True))
    return calc.combine_financial(lines, thresholds=thresholds, currency=currency,
                                  explain=explain)


def judge(i: InitiativeInput, *, thresholds: Thresholds, currency: str, today: date,
          explain: bool = True) -> Judgement:
    """Both colours of one initiative and whether its status update is overdue.
    Pure: no database. ``explain=False`` leaves out the money sentence, which the
    rollups do not keep (the colour is the same either way)."""
    stale = i.stage in ACTIVE_STAGES and calc.is_update_stale(
        last_update=i.last_update, created=i.created, cadence_days=i.cadence_days,
        today=today)
    schedule = calc.schedule_rag(_schedule_milestones(i, today), today=today)
    financial = _financial(i, thresholds=thresholds, currency=currency, explain=explain)
    return Judgement(
        schedule=apply_staleness(schedule, stale=stale, last_update=i.last_update),
        financial=apply_staleness(financial, stale=stale, last_update=i.last_update),
        stale=stale)


# --------------------------------------------------------------------------- level 1

# The fiscal year a month belongs to (``calc.fiscal_year``): the calendar year of the
# month shifted by (13 - start month) % 12 months. (date_part, a float, is cheaper per
# row than EXTRACT, a numeric.)
_FY = "date_part('year', {month} + make_interval(months => %(shift)s))::int"

_LINE_COLUMNS = ["planned", "forecast", "actual", "outturn", "forecast_cells"]


def _differs(old: str, new: str, columns: list[str]) -> str:
    return (f"({', '.join(f'{old}.{c}' for c in columns)}) IS DISTINCT FROM "
            f"({', '.join(f'{new}.{c}' for c in columns)})")


# The lines' sums per fiscal year, written where they changed; the sums of years (and
# lines) that no longer have values are deleted. The outturn takes a month's actual
# instead of its forecast; rather than grouping ~1M rows by (line, month) to pair them
# (3x slower), the big scan groups straight by (line, fiscal year) and the forecasts
# that an actual replaces are summed apart, by joining only the actual rows (~15 %) to
# their forecasts. {only_v}, {only_a} and {only_o} restrict all of it to the dirty
# lines, or are empty for every line of the organisation.
_LINE_SUMS_SQL = f"""
CREATE TEMPORARY TABLE rollup_line_sums ON COMMIT DROP AS
WITH per_line AS (
    SELECT v.line_id, {_FY.format(month="v.month")} AS fiscal_year,
           COALESCE(SUM(v.amount) FILTER (WHERE v.kind = 'planned'), 0) AS planned,
           COALESCE(SUM(v.amount) FILTER (WHERE v.kind = 'forecast'), 0) AS forecast,
           COALESCE(SUM(v.amount) FILTER (WHERE v.kind = 'actual'), 0) AS actual,
           COUNT(*) FILTER (WHERE v.kind = 'forecast') AS forecast_cells
    FROM initiatives_monthlyvalue v
    WHERE v.organization_id = %(org)s {{only_v}}
    GROUP BY 1, 2
), replaced AS (
    SELECT a.line_id, {_FY.format(month="a.month")} AS fiscal_year, SUM(f.amount) AS amount
    FROM initiatives_monthlyvalue a
    JOIN initiatives_monthlyvalue f
      ON f.line_id = a.line_id AND f.month = a.month AND f.kind = 'forecast'
     AND f.organization_id = %(org)s
    WHERE a.organization_id = %(org)s AND a.kind = 'actual' {{only_a}}
    GROUP BY 1, 2
)
SELECT p.line_id, p.fiscal_year, p.planned, p.forecast, p.actual,
       p.actual + p.forecast - COALESCE(r.amount, 0) AS outturn, p.forecast_cells
FROM per_line p
LEFT JOIN replaced r ON r.line_id = p.line_id AND r.fiscal_year = p.fiscal_year;

DELETE FROM reporting_lineyearvalue o
WHERE o.organization_id = %(org)s {{only_o}} AND NOT EXISTS (
    SELECT 1 FROM rollup_line_sums n
    WHERE n.line_id = o.line_id AND n.fiscal_year = o.fiscal_year);

INSERT INTO reporting_lineyearvalue
    (organization_id, line_id, fiscal_year, {", ".join(_LINE_COLUMNS)})
SELECT %(org)s, n.line_id, n.fiscal_year, {", ".join(f"n.{c}" for c in _LINE_COLUMNS)}
FROM rollup_line_sums n
LEFT JOIN reporting_lineyearvalue o
  ON o.line_id = n.line_id AND o.fiscal_year = n.fiscal_year
 AND o.organization_id = %(org)s
WHERE o.id IS NULL OR {_differs("o", "n", _LINE_COLUMNS)}
ON CONFLICT (line_id, fiscal_year) DO UPDATE SET
    {", ".join(f"{c} = EXCLUDED.{c}" for c in _LINE_COLUMNS)}
"""  # noqa: S608 (only this module's constants are formatted in)


def _sum_lines(cursor, *, organization: Organization, full: bool) -> int:
    """Take the organisation's dirty marks and sum their lines again (every line when
    ``full``). Returns how many lines were summed."""
    params = {"org": organization.pk,
              "shift": (13 - organization.fiscal_year_start_month) % 12}
    cursor.execute("DELETE FROM reporting_dirtyline WHERE organization_id = %(org)s"
                   " RETURNING line_id", params)
    dirty = sorted({row[0] for row in cursor.fetchall()})
    if full:
        cursor.execute(_LINE_SUMS_SQL.format(only_v="", only_a="", only_o=""), params)
        cursor.execute("SELECT COUNT(*) FROM initiatives_impactline"
                       " WHERE organization_id = %(org)s", params)
        return cursor.fetchone()[0]
    if dirty:
        params["lines"] = dirty
        only = "AND {}.line_id = ANY(%(lines)s::bigint[])"
        cursor.execute(_LINE_SUMS_SQL.format(only_v=only.format("v"), only_a=only.format("a"),
                                             only_o=only.format("o")), params)
    return len(dirty)


# --------------------------------------------------------------------------- level 2

_YEAR_COLUMNS = ["planned", "forecast", "actual", "outturn", "one_time_cost_planned",
                 "one_time_cost_outturn"]


# Benefits and one-time costs per initiative and fiscal year; ``forecast_cells`` is
# only read by the facts.
_YEARS_SQL = """
CREATE TEMPORARY TABLE rollup_years ON COMMIT DROP AS
SELECT l.initiative_id, y.fiscal_year,
       COALESCE(SUM(y.planned) FILTER (WHERE NOT l.is_cost), 0) AS planned,
       COALESCE(SUM(y.forecast) FILTER (WHERE NOT l.is_cost), 0) AS forecast,
       COALESCE(SUM(y.actual) FILTER (WHERE NOT l.is_cost), 0) AS actual,
       COALESCE(SUM(y.outturn) FILTER (WHERE NOT l.is_cost), 0) AS outturn,
       COALESCE(SUM(y.planned) FILTER (WHERE l.is_cost), 0) AS one_time_cost_planned,
       COALESCE(SUM(y.outturn) FILTER (WHERE l.is_cost), 0) AS one_time_cost_outturn,
       SUM(y.forecast_cells) AS forecast_cells
FROM reporting_lineyearvalue y
JOIN (SELECT id, initiative_id, category = 'one_time_cost' AS is_cost
      FROM initiatives_impactline WHERE organization_id = %(org)s) l ON l.id = y.line_id
WHERE y.organization_id = %(org)s
GROUP BY 1, 2
"""

_WRITE_YEARS_SQL = f"""
INSERT INTO reporting_initiativeyearvalue
    (organization_id, initiative_id, fiscal_year, {", ".join(_YEAR_COLUMNS)})
SELECT %(org)s, n.initiative_id, n.fiscal_year, {", ".join(f"n.{c}" for c in _YEAR_COLUMNS)}
FROM rollup_years n
LEFT JOIN reporting_initiativeyearvalue o
  ON o.initiative_id = n.initiative_id AND o.fiscal_year = n.fiscal_year
 AND o.organization_id = %(org)s
WHERE o.id IS NULL OR {_differs("o", "n", _YEAR_COLUMNS)}
ON CONFLICT (initiative_id, fiscal_year) DO UPDATE SET
    {", ".join(f"{c} = EXCLUDED.{c}" for c in _YEAR_COLUMNS)};

DELETE FROM reporting_initiativeyearvalue o
WHERE o.organization_id = %(org)s AND NOT EXISTS (
    SELECT 1 FROM rollup_years n
    WHERE n.initiative_id = o.initiative_id AND n.fiscal_year = o.fiscal_year)
"""  # noqa: S608 (only this module's constants are formatted in)

# One row per initiative: structure, newest status update, line and milestone
# summaries, whole-horizon totals and the run-rate's month: the latest value up to
# today (the actual before the forecast before the plan: 'actual' < 'forecast' <
# 'planned') of each recurring benefit line, read from the (line, month, kind) unique
# index, summed.
_INITIATIVES_SQL = """
CREATE TEMPORARY TABLE rollup_initiatives ON COMMIT DROP AS
SELECT i.id AS initiative_id, i.stage, i.program_id, p.portfolio_id, i.business_unit_id,
       i.owner_id, (i.created_at AT TIME ZONE %(tz)s)::date AS created,
       (u.latest AT TIME ZONE %(tz)s)::date AS last_update, i.update_cadence_days,
       COALESCE(l.benefit_lines, 0) AS benefit_lines,
       COALESCE(l.cost_lines, 0) AS cost_lines,
       COALESCE(m.total, 0) AS milestones, COALESCE(m.overdue, 0) AS overdue,
       m.oldest_due, COALESCE(m.oldest_title, '') AS oldest_title,
       COALESCE(t.planned, 0) AS planned, COALESCE(t.forecast, 0) AS forecast,
       COALESCE(t.actual, 0) AS actual, COALESCE(t.outturn, 0) AS outturn,
       COALESCE(t.cost_planned, 0) AS cost_planned,
       COALESCE(t.cost_outturn, 0) AS cost_outturn,
       COALESCE(t.forecast_cells, 0) AS forecast_cells,
       COALESCE(r.amount, 0) AS run_rate_month
FROM initiatives_initiative i
JOIN initiatives_program p ON p.id = i.program_id AND p.organization_id = %(org)s
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
LEFT JOIN (
    SELECT initiative_id, SUM(planned) AS planned, SUM(forecast) AS forecast,
           SUM(actual) AS actual, SUM(outturn) AS outturn,
           SUM(one_time_cost_planned) AS cost_planned,
           SUM(one_time_cost_outturn) AS cost_outturn, SUM(forecast_cells) AS forecast_cells
    FROM rollup_years GROUP BY initiative_id
) t ON t.initiative_id = i.id
LEFT JOIN (
    SELECT l.initiative_id, SUM(v.amount) AS amount
    FROM initiatives_impactline l
    CROSS JOIN LATERAL (
        SELECT v.amount FROM initiatives_monthlyvalue v
        WHERE v.line_id = l.id AND v.organization_id = %(org)s AND v.month <= %(today)s
        ORDER BY v.month DESC, v.kind ASC LIMIT 1
    ) v
    WHERE l.organization_id = %(org)s AND l.recurring AND l.category <> 'one_time_cost'
    GROUP BY l.initiative_id
) r ON r.initiative_id = i.id
WHERE i.organization_id = %(org)s
"""

_INPUTS_SQL = """
SELECT initiative_id, stage, created, last_update, update_cadence_days, benefit_lines,
       cost_lines, milestones, overdue, oldest_due, oldest_title, planned, outturn,
       cost_planned, cost_outturn, forecast_cells, run_rate_month
FROM rollup_initiatives
"""

_FACT_COLUMNS = ["stage", "portfolio_id", "program_id", "business_unit_id", "owner_id",
                 "schedule_rag", "financial_rag", "stale", "last_update", "planned",
                 "forecast", "actual", "outturn", "run_rate"]
_FROM_JUDGED = {"schedule_rag", "financial_rag", "stale", "run_rate"}

# Facts of removed initiatives go with them (the foreign key cascades).
_WRITE_FACTS_SQL = f"""
INSERT INTO reporting_initiativefact
    (organization_id, initiative_id, {", ".join(_FACT_COLUMNS)}, computed_at)
SELECT %(org)s, n.initiative_id, {", ".join(f"n.{c}" for c in _FACT_COLUMNS)}, %(now)s
FROM (SELECT i.initiative_id,
             {", ".join(f"{'j' if c in _FROM_JUDGED else 'i'}.{c}" for c in _FACT_COLUMNS)}
      FROM rollup_initiatives i JOIN rollup_judged j USING (initiative_id)) n
LEFT JOIN reporting_initiativefact o
  ON o.initiative_id = n.initiative_id AND o.organization_id = %(org)s
WHERE o.id IS NULL OR {_differs("o", "n", _FACT_COLUMNS)}
ON CONFLICT (initiative_id) DO UPDATE SET
    {", ".join(f"{c} = EXCLUDED.{c}" for c in [*_FACT_COLUMNS, "computed_at"])}
"""  # noqa: S608 (only this module's constants are formatted in)


def _judge_all(cursor, *, organization: Organization, today: date) -> int:
    """Judge every initiative of ``rollup_initiatives`` and copy the verdicts into
    ``rollup_judged``. Returns how many initiatives there are."""
    thresholds = thresholds_for(organization)
    currency = organization.base_currency
    cursor.execute(_INPUTS_SQL)
    rows = []
    for row in cursor.fetchall():
        i = InitiativeInput._make(row[:-1])
        verdict = judge(i, thresholds=thresholds, currency=currency, today=today,
                        explain=False)
        rows.append((i.initiative_id, verdict.schedule.colour.value,
                     verdict.financial.colour.value, verdict.stale,
                     calc.annualise(row[-1])))
    cursor.execute("CREATE TEMPORARY TABLE rollup_judged (initiative_id bigint,"
                   " schedule_rag text, financial_rag text, stale boolean,"
                   " run_rate numeric) ON COMMIT DROP")
    with cursor.cursor.copy("COPY rollup_judged FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    return len(rows)


# --------------------------------------------------------------------------- the run


def rebuild(*, organization: Organization, today: date | None = None, full: bool = False
            ) -> RollupRun:
    """Rebuild one organisation's rollups: the dirty lines' sums (every line's when
    ``full``, on the first run or after a change of fiscal year start), then the year
    rows and facts. Idempotent; two runs for one organisation wait for each other."""
    started = time.monotonic()
    today = today or timezone.localdate(timezone=organization.zone)
    # Creation and update dates are the organisation's local dates, as on its pages.
    params = {"org": organization.pk, "today": today, "now": timezone.now(),
              "tz": organization.time_zone}
    with scope(organization=organization), transaction.atomic(), \
            connection.cursor() as cursor:
        org_job_xact_lock(JOB, organization.pk)  # the job's lock: a running job first
        # Enough memory to hash ~1M value rows instead of sorting them on disk.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        previous = RollupRun.objects.filter(organization=organization).first()
        full = full or previous is None or (
            previous.fiscal_year_start_month != organization.fiscal_year_start_month)
        cursor.execute("DROP TABLE IF EXISTS pg_temp.rollup_line_sums, pg_temp.rollup_years,"
                       " pg_temp.rollup_initiatives, pg_temp.rollup_judged")
        lines = _sum_lines(cursor, organization=organization, full=full)
        cursor.execute(_YEARS_SQL, params)
        cursor.execute(_WRITE_YEARS_SQL, params)
        cursor.execute(_INITIATIVES_SQL, params)
        initiatives = _judge_all(cursor, organization=organization, today=today)
        cursor.execute(_WRITE_FACTS_SQL, params)
        run, _ = RollupRun.objects.update_or_create(
            organization=organization,
            defaults={"finished_at": timezone.now(),
                      "duration_ms": int((time.monotonic() - started) * 1000),
                      "initiatives": initiatives, "lines_summed": lines,
                      "fiscal_year_start_month": organization.fiscal_year_start_month})
    return run


def refresh_rollups_for(organization_id: int) -> dict:
    """Rebuild one organisation's dashboard rollups under its advisory lock (the job's
    body; a run that finds the lock held skips)."""
    with try_org_job_lock(JOB, organization_id) as acquired:
        if not acquired:
            return {"organization": organization_id, "skipped": "another run holds the lock"}
        org = Organization.objects.filter(pk=organization_id).first()
        if org is None:
            return {"organization": organization_id, "skipped": "no such organisation"}
        run = rebuild(organization=org)
    return {"organization": organization_id, "initiatives": run.initiatives,
            "duration_ms": run.duration_ms}


__all__ = ["InitiativeInput", "Judgement", "judge", "rebuild", "refresh_rollups_for"]

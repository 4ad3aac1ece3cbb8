"""Value and RAG changes of the selected initiatives: both sides judged by
``reporting.rollups.judge``, then (as of the start of ``since``, judged on ``since``) and
now (the current rows, judged today). Only the money costs much to judge, so it is read
and judged only where it can differ: initiatives with a value or line event since then,
and those whose staleness differs."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone

from cat4.tenancy.models import Organization
from initiatives.selectors import thresholds_for

from ..rollups import InitiativeInput, judge
from .query import fetch
from .report import ZERO, ChangeReport, InitiativeRef, RagChange, Totals, ValueChange

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
    updates = fetch(_UPDATES_SQL.format(only=only), params)
    states = fetch(_INITIATIVES_THEN_SQL.format(
        only_obj=only.replace("initiative_id", "pgh_obj_id")), params)

    def milestones(source: str, day: date) -> dict[int, tuple]:
        rows = fetch(_MILESTONES_SQL.format(source=source.format(only=only)),
                     {**params, "day": day})
        return {row[0]: row[1:] for row in rows}

    then = _Side(day=since, state={pk: state for pk, *state in states},
                 updates={pk: at for pk, at, _now in updates if at is not None},
                 milestones=milestones(_MILESTONES_THEN, since))
    now = _Side(day=today, state=current, updates={pk: at for pk, _then, at in updates},
                milestones=milestones(_MILESTONES_NOW, today))
    return then, now


def value_and_rag_changes(report: ChangeReport, *, organization: Organization,
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
    touched = {r[0] for r in fetch(_TOUCHED_SQL, params)} & set(ids)
    judged = {pk: verdicts(pk, _NO_MONEY, _NO_MONEY) for pk in ids if pk not in touched}
    money_ids = touched | {pk for pk, (j_then, j_now) in judged.items()
                           if j_then.stale != j_now.stale}
    money_now = _money(fetch(_LINES_NOW_SQL, {**params, "ids": sorted(money_ids)}))
    money_then = {pk: money_now[pk] for pk in money_ids - touched if pk in money_now}
    money_then.update(_money(fetch(_LINES_THEN_SQL, {**params, "ids": sorted(touched)})))

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


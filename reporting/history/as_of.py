"""The portfolio as it was at the end of a day (``portfolio_as_of``), and beside today
(``as_of_comparison``, read by the dashboard, the what-changed page and the dashboard
API alike)."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.utils import timezone

from cat4.common.months import add_months
from cat4.tenancy.models import Organization
from initiatives import calculations as calc
from initiatives.models import Stage

from ..selectors import DashboardFilters
from ..selectors import Money as Headline
from .query import clean_filters, fetch, filter_sql, local_today, moment_at

ZERO = Decimal("0")

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
    fy = fiscal_year or calc.fiscal_year(local_today(organization), start_month=start_month)
    months = calc.fiscal_year_months(fy, start_month=start_month)
    last = months[-1]
    moment = moment_at(organization, when + timedelta(days=1))
    where, params = filter_sql(clean_filters(filters), "i")
    rows = fetch(_AS_OF_SQL.format(filters=where), {
        "org": organization.pk, "t": moment, "fy_start": months[0],
        "fy_end": add_months(last, 1), **params})
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


class Change(NamedTuple):
    """One figure at the end of the date and today, and the difference: a row of the
    comparison's table, which templates/reporting/_as_of.html unpacks."""

    label: str
    then: Decimal | int
    today: Decimal | int
    change: Decimal | int

    @classmethod
    def of(cls, label: str, then, today) -> "Change":
        return cls(label, then, today, today - then)


@dataclass(frozen=True)
class StageChange:
    stage: str
    row: Change


HEADLINE_FIGURES = (("planned", "Planned"), ("forecast", "Forecast"), ("outturn", "Outturn"),
                    ("actual", "Actual"))


@dataclass(frozen=True)
class AsOfComparison:
    """The portfolio at the end of a date beside today, in the same fiscal year and with
    the same filters. The dashboard API's serializer reads these fields; the pages'
    template reads ``context()``, the same rows."""

    as_of: PortfolioAsOf  # at the end of the date
    today: PortfolioAsOf
    headline: dict[str, Change]  # by figure (planned, forecast, outturn, actual), in order
    initiatives: Change
    stages: list[StageChange]  # every stage, in the order of Stage
    currency: str

    def context(self) -> dict:
        """The context of templates/reporting/_as_of.html."""
        return {"as_of": self.as_of, "today_figures": self.today,
                "headline_rows": list(self.headline.values()),
                "stage_rows": [s.row for s in self.stages],
                "initiatives_delta": self.initiatives.change, "currency": self.currency}


def as_of_comparison(*, organization: Organization, when: date | None,
                     filters: DashboardFilters) -> AsOfComparison | None:
    """The portfolio at the end of ``when`` beside today, with the differences; None
    when ``when`` is None."""
    if when is None:
        return None
    then = portfolio_as_of(organization=organization, when=when, filters=filters,
                           fiscal_year=filters.fiscal_year)
    today = portfolio_as_of(organization=organization, when=timezone.localdate(),
                            filters=filters, fiscal_year=filters.fiscal_year)
    return AsOfComparison(
        as_of=then, today=today,
        headline={key: Change.of(label, getattr(then.headline, key),
                                 getattr(today.headline, key))
                  for key, label in HEADLINE_FIGURES},
        initiatives=Change.of("All initiatives", then.initiatives, today.initiatives),
        stages=[StageChange(a.stage, Change.of(a.label, a.count, b.count))
                for a, b in zip(then.stages, today.stages, strict=True)],
        currency=organization.base_currency)

"""Pure calculations for initiatives: money and schedule RAG, progress, staleness, fiscal
calendars and run-rates.

No ORM, no database, no floats: money and ratios are ``decimal.Decimal``. Explanations
are user-facing English and always state the inputs, the rule applied and the result,
e.g. ``"forecast EUR 1.20 M is 75 % of plan EUR 1.60 M, below 85 % → red"``. The colours,
thresholds and rule wording (``cat4.common.rag``) and money text (``cat4.common.money``)
are shared with the KPIs and the reports.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

from cat4.common.decimals import CONTEXT, HUNDRED, ONE, ZERO, require_decimal
from cat4.common.money import format_money
from cat4.common.months import add_months, first_of_month
from cat4.common.rag import (
    Rag,
    RagColour,
    Thresholds,
    percent_text,
    ratio_rule,
    worst_colour,
)

# RagColour, Thresholds (cat4.common.rag) and format_money (cat4.common.money) are still
# imported from here by tests, so they stay importable here.
__all__ = [
    "LineTotals",
    "MilestoneFacts",
    "RagColour",
    "Thresholds",
    "annualise",
    "combine_financial",
    "financial_rag",
    "fiscal_year",
    "fiscal_year_label",
    "fiscal_year_months",
    "format_money",
    "is_update_stale",
    "run_rate",
    "schedule_rag",
    "technical_progress",
    "totals_by_fiscal_year",
    "update_due",
]

_TWELVE = Decimal(12)


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


# --------------------------------------------------------------------------- money RAG


def financial_rag(
    *,
    planned: Decimal,
    forecast: Decimal,
    actual: Decimal | None = None,
    is_cost: bool,
    thresholds: Thresholds,
    currency: str,
    explain: bool = True,
) -> Rag:
    """Money status of a benefit (more is better) or a cost (more than budget is worse).

    Benefits: ratio = amount / planned. Costs: ratio = planned / amount, so an overrun
    lowers it; spending at most the budget is green. The ratio is coloured with
    ``thresholds``. With ``actual`` (compared with the same ``planned``) the worse of
    forecast and actual sets the colour, and the explanation says which one it was.
    A zero or negative plan gives GREY. ``explain=False`` skips writing the sentence
    (the explanation is empty) for jobs that keep only the colour.
    """
    require_decimal("planned", planned)
    require_decimal("forecast", forecast)
    if actual is not None:
        require_decimal("actual", actual)

    def money(x: Decimal) -> str:
        return format_money(x, currency)

    plan_word = "budget" if is_cost else "plan"
    if planned == 0:
        if forecast == 0 and (actual is None or actual == 0):
            return Rag(RagColour.GREY, "nothing planned or forecast")
        return Rag(RagColour.GREY, "no plan to compare with")
    if planned < 0:
        return Rag(
            RagColour.GREY, f"{plan_word} {money(planned)} is negative, nothing to compare with"
        )

    # Pick the measure that drives the colour: the worse one, forecast on a tie.
    label, amount, note = "forecast", forecast, ""
    if actual is not None:
        actual_worse = actual > forecast if is_cost else actual < forecast
        if actual_worse:
            label, amount, other_label, other = "actual", actual, "forecast", forecast
        else:
            other_label, other = "actual", actual
        if not explain:
            pass
        elif actual == forecast:
            note = " (actual the same)"
        else:
            cost_word = " cost" if is_cost else ""
            note = f" (worse than {other_label}{cost_word} {money(other)})"

    if not is_cost:
        ratio = CONTEXT.divide(amount, planned)
        colour, rule = ratio_rule(ratio, thresholds)
        if not explain:
            return Rag(colour, "")
        shown = percent_text(ratio, boundaries=(thresholds.red_below, thresholds.green_at))
        return Rag(
            colour,
            f"{label} {money(amount)} is {shown} % of plan {money(planned)}{note}, "
            f"{rule} → {colour}",
        )

    within_budget = amount <= planned
    if not within_budget:
        ratio = CONTEXT.divide(planned, amount)  # in (0, 1): how much of the cost the budget covers
        colour, rule = ratio_rule(ratio, thresholds)
    if not explain:
        return Rag(RagColour.GREEN if within_budget else colour, "")
    share = CONTEXT.divide(amount, planned)  # cost as a share of budget, for display
    shown_share = percent_text(share, boundaries=(ONE,))
    head = f"{label} cost {money(amount)} is {shown_share} % of budget {money(planned)}{note}"
    if within_budget:
        return Rag(RagColour.GREEN, f"{head}, within budget → {RagColour.GREEN}")
    covered = percent_text(ratio, boundaries=(thresholds.red_below, thresholds.green_at, ONE))
    return Rag(colour, f"{head}, so the budget covers {covered} % of it, {rule} → {colour}")


@dataclass(frozen=True, kw_only=True)
class LineTotals:
    """Totals of one impact line over the period being judged."""

    planned: Decimal
    forecast: Decimal
    actual: Decimal | None = None
    is_cost: bool


def combine_financial(lines: Sequence[LineTotals], *, thresholds: Thresholds, currency: str,
                      explain: bool = True) -> Rag:
    """Money status of several lines: benefits summed and judged together, costs likewise.

    The colour is the worse of the two (GREY only if both are GREY); the explanation is
    ``"benefits: ...; costs: ..."`` for the groups that have lines. A group's actual is
    used only when every line in it has one (otherwise missing actuals would look like
    shortfalls). ``explain=False`` as for ``financial_rag``.
    """
    parts: list[str] = []
    colours: list[RagColour] = []
    for is_cost, name in ((False, "benefits"), (True, "costs")):
        group = [line for line in lines if line.is_cost is is_cost]
        if not group:
            continue
        actuals = [line.actual for line in group]
        actual = (
            sum((a for a in actuals if a is not None), ZERO)
            if all(a is not None for a in actuals)
            else None
        )
        rag = financial_rag(
            planned=sum((line.planned for line in group), ZERO),
            forecast=sum((line.forecast for line in group), ZERO),
            actual=actual,
            is_cost=is_cost,
            thresholds=thresholds,
            currency=currency,
            explain=explain,
        )
        colours.append(rag.colour)
        parts.append(f"{name}: {rag.explanation}" if explain else "")
    if not parts:
        return Rag(RagColour.GREY, "no impact lines")
    return Rag(worst_colour(colours), "; ".join(parts) if explain else "")


# --------------------------------------------------------------------------- milestones


@dataclass(frozen=True, kw_only=True)
class MilestoneFacts:
    """What the calculations need to know about one milestone."""

    title: str
    due_date: date
    done_date: date | None
    weight: int
    waived: bool

    def __post_init__(self) -> None:
        if self.weight < 0:
            raise ValueError(f"milestone weight must be 0 or more, got {self.weight}")

    @property
    def is_closed(self) -> bool:
        """Done or waived."""
        return self.done_date is not None or self.waived


_PROGRESS_STEP = Decimal("0.1")
_PROGRESS_BELOW_COMPLETE = Decimal("99.9")


def technical_progress(milestones: Iterable[MilestoneFacts]) -> Decimal:
    """Percent complete, 0.0 to 100.0: weight of done or waived milestones / total weight.

    If all weights are zero, each milestone counts once. No milestones -> 0. Rounded
    down to 0.1; 100.0 only when every milestone is done or waived (so a zero-weight open
    milestone caps progress at 99.9).
    """
    items = tuple(milestones)
    if not items:
        return Decimal("0")
    total = sum(m.weight for m in items)
    if total == 0:
        closed, total = sum(1 for m in items if m.is_closed), len(items)
    else:
        closed = sum(m.weight for m in items if m.is_closed)
    percent = CONTEXT.divide(Decimal(closed) * HUNDRED, Decimal(total)).quantize(
        _PROGRESS_STEP, rounding=ROUND_DOWN, context=CONTEXT
    )
    if all(m.is_closed for m in items):
        return Decimal("100.0")
    return min(percent, _PROGRESS_BELOW_COMPLETE)


def schedule_rag(
    milestones: Iterable[MilestoneFacts],
    *,
    today: date,
    amber_after_days: int = 0,
    red_after_days: int = 30,
) -> Rag:
    """Delivery status from overdue milestones.

    Overdue: not done, not waived and due before ``today`` (a milestone done late is done,
    not overdue). The most overdue one decides: at most ``amber_after_days`` late -> green,
    at most ``red_after_days`` -> amber, more -> red. No milestones -> GREY.
    """
    if not 0 <= amber_after_days <= red_after_days:
        raise ValueError(
            f"need 0 <= amber_after_days <= red_after_days, got {amber_after_days} "
            f"and {red_after_days}"
        )
    items = tuple(milestones)
    if not items:
        return Rag(RagColour.GREY, "no milestones planned")
    overdue = [m for m in items if not m.is_closed and m.due_date < today]
    if not overdue:
        return Rag(RagColour.GREEN, "no milestone overdue")
    oldest = min(overdue, key=lambda m: m.due_date)  # first of equals, in given order
    late = (today - oldest.due_date).days
    if late > red_after_days:
        colour, rule = RagColour.RED, f"more than {_days(red_after_days)}"
    elif late > amber_after_days:
        colour = RagColour.AMBER
        rule = (
            f"at most {_days(red_after_days)}"
            if amber_after_days == 0
            else f"more than {_days(amber_after_days)} and at most {_days(red_after_days)}"
        )
    else:
        colour, rule = RagColour.GREEN, f"at most {_days(amber_after_days)}"
    what = (
        f"1 milestone overdue, '{oldest.title}'"
        if len(overdue) == 1
        else f"{len(overdue)} milestones overdue, the oldest '{oldest.title}'"
    )
    return Rag(
        colour,
        f"{what} by {_days(late)} (due {oldest.due_date.isoformat()}), {rule} → {colour}",
    )


def update_due(*, last_update: date | None, created: date, cadence_days: int) -> date:
    """When an initiative's next status update is due: one cadence after the last
    update, or after the initiative was created when it has none."""
    return (last_update or created) + timedelta(days=cadence_days)


def is_update_stale(*, last_update: date | None, created: date, cadence_days: int,
                    today: date) -> bool:
    """Stale: the next status update was due before today."""
    return update_due(last_update=last_update, created=created,
                      cadence_days=cadence_days) < today


# --------------------------------------------------------------------------- calendar


def _check_start_month(start_month: int) -> None:
    if not 1 <= start_month <= 12:
        raise ValueError(f"fiscal-year start month must be 1 to 12, got {start_month}")


def fiscal_year(month: date, *, start_month: int) -> int:
    """The fiscal year of ``month``, named after the calendar year it ends in.

    ``start_month=1``: the calendar year. ``start_month=4``: April 2026 to March 2027 is 2027.
    """
    _check_start_month(start_month)
    if start_month != 1 and month.month >= start_month:
        return month.year + 1
    return month.year


def fiscal_year_months(fy: int, *, start_month: int) -> list[date]:
    """The 12 first-of-month dates of fiscal year ``fy``, in order."""
    _check_start_month(start_month)
    first_year = fy if start_month == 1 else fy - 1
    first = date(first_year, start_month, 1)
    return [add_months(first, i) for i in range(12)]


def fiscal_year_label(fy: int, *, start_month: int) -> str:
    """``"FY2026"`` for calendar fiscal years, else ``"FY2025/26"`` for fiscal year 2026."""
    _check_start_month(start_month)
    if start_month == 1:
        return f"FY{fy}"
    return f"FY{fy - 1}/{fy % 100:02d}"


# --------------------------------------------------------------------------- series


def run_rate(monthly: Mapping[date, Decimal], *, as_of: date) -> Decimal:
    """Annualised run-rate: the latest month's value up to ``as_of``'s month, times 12.

    Months after ``as_of`` are ignored; no such month -> 0.
    """
    limit = first_of_month(as_of)
    eligible = [m for m in monthly if first_of_month(m) <= limit]
    if not eligible:
        return Decimal("0")
    return annualise(monthly[max(eligible, key=first_of_month)])


def annualise(monthly: Decimal) -> Decimal:
    """A monthly value as a yearly one (the run-rate of a single month)."""
    require_decimal("monthly value", monthly)
    return monthly * _TWELVE


def totals_by_fiscal_year(
    monthly: Mapping[date, Decimal], *, start_month: int
) -> dict[int, Decimal]:
    """Sum of the monthly values per fiscal year, ordered by year; empty years are absent."""
    totals: dict[int, Decimal] = {}
    for month, value in monthly.items():
        require_decimal("monthly value", value)
        fy = fiscal_year(month, start_month=start_month)
        totals[fy] = totals.get(fy, ZERO) + value
    return dict(sorted(totals.items()))

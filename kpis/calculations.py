"""Pure calculations for KPIs: periods, expected path, variance, RAG, trend and streaks.

No ORM, no database, no floats: values and ratios are ``decimal.Decimal`` and anything
else is rejected with ``TypeError``. Colours, thresholds and the rule wording come from
``cat4.common.rag`` so a KPI reads like every other status. Explanations state
the inputs, the rule applied and the result, e.g.
``"reading 85 % against expected 90 % for 2026-06 (higher is better): 5 % worse than
expected, judged against the planned change of 20 %, performance 75 %, below 85 % → red"``.

Numbers with a unit are shown exactly as computed (trailing zeros dropped, thousands
separated), never rounded, so a reading can never look equal to the value it missed.

Rounding, in one place:

* interpolated expected values and projected values: 4 decimal places (the precision
  KPI values are stored with), half-even, kept between baseline and target;
* performance: 4 decimal places, rounded down (towards "worse"), and the colour is judged
  on that rounded number, so a stored performance and its colour always agree;
* ``pct_of_expected``: 2 decimal places, half-even; ``miss_pct`` / ``beat_pct``: 2 decimal
  places rounded away from zero, so a miss never shows as 0.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_UP, Decimal
from types import MappingProxyType

from cat4.common.decimals import CONTEXT, HUNDRED, ONE, ZERO, require_decimal
from cat4.common.months import add_months, first_of_month
from cat4.common.rag import Rag, RagColour, Thresholds, percent_text, ratio_rule

__all__ = [
    "Direction",
    "Frequency",
    "KpiSpec",
    "Projection",
    "Variance",
    "consecutive_off_track",
    "expected_value",
    "format_value",
    "kpi_rag",
    "next_period",
    "period_label",
    "period_start",
    "periods_between",
    "projection",
    "variance",
]

_VALUE_STEP = Decimal("0.0001")  # expected and projected values
_PERFORMANCE_STEP = Decimal("0.0001")
_PCT_STEP = Decimal("0.01")


class Direction(enum.StrEnum):
    """Which way is good."""

    HIGHER = "higher"
    LOWER = "lower"


class Frequency(enum.StrEnum):
    """How often a KPI is read. A period is named by its first day."""

    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


# --------------------------------------------------------------------------- periods


def _as_date(day: date) -> date:
    if not isinstance(day, date):
        raise TypeError(f"expected a date, not {type(day).__name__}")
    return date(day.year, day.month, day.day)  # a datetime becomes its date


def period_start(day: date, frequency: Frequency | str) -> date:
    """First day of the period containing ``day``.

    Weekly: the Monday on or before ``day``. Monthly: the 1st. Quarterly: 1 January,
    1 April, 1 July or 1 October. ``frequency`` may be the enum or its text value.
    """
    day, frequency = _as_date(day), Frequency(frequency)
    if frequency is Frequency.WEEKLY:
        return day - timedelta(days=day.weekday())
    if frequency is Frequency.MONTHLY:
        return first_of_month(day)
    return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


def next_period(period: date, frequency: Frequency | str) -> date:
    """First day of the period after the one containing ``period``."""
    start, frequency = period_start(period, frequency), Frequency(frequency)
    if frequency is Frequency.WEEKLY:
        return start + timedelta(days=7)
    return add_months(start, 1 if frequency is Frequency.MONTHLY else 3)


def periods_between(start: date, end: date, frequency: Frequency | str) -> list[date]:
    """Period starts from ``start``'s period to ``end``'s period, both included.

    ``end`` in an earlier period than ``start`` -> ``[]``.
    """
    current, last = period_start(start, frequency), period_start(end, frequency)
    periods: list[date] = []
    while current <= last:
        periods.append(current)
        current = next_period(current, frequency)
    return periods


def period_label(period: date, frequency: Frequency | str) -> str:
    """Short name of the period containing ``period``: ``2025-W01``, ``2026-06``, ``2026-Q2``.

    Weeks are ISO weeks, so the week starting Monday 2024-12-30 is ``2025-W01``.
    """
    start, frequency = period_start(period, frequency), Frequency(frequency)
    if frequency is Frequency.WEEKLY:
        iso = start.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    if frequency is Frequency.MONTHLY:
        return f"{start.year}-{start.month:02d}"
    return f"{start.year}-Q{(start.month - 1) // 3 + 1}"


# --------------------------------------------------------------------------- formatting


def format_value(value: Decimal, unit: str) -> str:
    """A KPI value with its unit, exactly: ``41.5 %``, ``1,250 EUR``, ``3 t CO2``, ``12``.

    Trailing zeros are dropped and thousands separated; nothing is rounded. An empty
    unit gives the bare number.
    """
    require_decimal("value", value)
    number = ZERO if value == 0 else value.normalize(context=CONTEXT)  # no "-0", no "1E+2"
    text = f"{number:,f}"
    unit = unit.strip()
    return f"{text} {unit}" if unit else text


# --------------------------------------------------------------------------- spec


@dataclass(frozen=True, kw_only=True)
class KpiSpec:
    """What the calculations need to know about one KPI.

    ``direction`` and ``frequency`` may be given as their text values and are stored as
    the enums. ``target_date`` must be after ``baseline_date``. ``planned`` maps a period
    start to the value planned for it; it is copied into a read-only mapping.
    """

    unit: str
    direction: Direction
    baseline: Decimal
    baseline_date: date
    target: Decimal
    target_date: date
    frequency: Frequency
    planned: Mapping[date, Decimal] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.unit, str):
            raise TypeError(f"unit must be text, not {type(self.unit).__name__}")
        object.__setattr__(self, "direction", Direction(self.direction))
        object.__setattr__(self, "frequency", Frequency(self.frequency))
        require_decimal("baseline", self.baseline)
        require_decimal("target", self.target)
        object.__setattr__(self, "baseline_date", _as_date(self.baseline_date))
        object.__setattr__(self, "target_date", _as_date(self.target_date))
        if self.target_date <= self.baseline_date:
            raise ValueError(
                f"target date {self.target_date.isoformat()} must be after baseline date "
                f"{self.baseline_date.isoformat()}"
            )
        planned: dict[date, Decimal] = {}
        for period, value in self.planned.items():
            require_decimal(f"planned value for {period}", value)
            planned[_as_date(period)] = value
        object.__setattr__(self, "planned", MappingProxyType(planned))

    @property
    def span(self) -> Decimal:
        """The planned change, ``|target - baseline|``."""
        return abs(self.target - self.baseline)


def expected_value(spec: KpiSpec, period: date) -> Decimal:
    """The value expected for ``period``.

    The planned series value for ``period`` if there is one (returned as given).
    Otherwise the straight line from (baseline date, baseline) to (target date, target),
    by days, at ``period``'s date: the baseline on or before the baseline date, the target
    on or after the target date (both returned as given), in between rounded half-even to
    4 decimal places and kept between baseline and target.
    """
    period = _as_date(period)
    if period in spec.planned:
        return spec.planned[period]
    if period <= spec.baseline_date:
        return spec.baseline
    if period >= spec.target_date:
        return spec.target
    elapsed = (period - spec.baseline_date).days
    total = (spec.target_date - spec.baseline_date).days
    step = CONTEXT.divide((spec.target - spec.baseline) * elapsed, Decimal(total))
    value = CONTEXT.add(spec.baseline, step).quantize(
        _VALUE_STEP, rounding=ROUND_HALF_EVEN, context=CONTEXT
    )
    low, high = sorted((spec.baseline, spec.target))
    return min(max(value, low), high)


# --------------------------------------------------------------------------- variance


def _gain(direction: Direction, actual: Decimal, expected: Decimal) -> Decimal:
    """How far ``actual`` is on the good side of ``expected`` (negative: the bad side)."""
    return actual - expected if direction is Direction.HIGHER else expected - actual


def _scale(spec: KpiSpec, expected: Decimal) -> tuple[Decimal, str]:
    """The yardstick a difference is measured against, and how to say what it is.

    The planned change ``|target - baseline|``; when target equals baseline, ``|expected|``;
    when that is 0 too, 1 (one unit).
    """
    if spec.span != 0:
        return spec.span, f"the planned change of {format_value(spec.span, spec.unit)}"
    if expected != 0:
        return (
            abs(expected),
            f"the expected value {format_value(abs(expected), spec.unit)} "
            f"(target equals baseline)",
        )
    return ONE, f"{format_value(ONE, spec.unit)} (target equals baseline and 0 is expected)"


@dataclass(frozen=True, kw_only=True)
class Variance:
    """A reading compared with the value expected for its period.

    ``variance`` is ``actual - expected`` (signed; positive means above, whatever the
    direction). ``pct_of_expected`` is that variance as a percentage of ``|expected|``
    (-10 means 10 % below), 2 decimal places, ``None`` when 0 is expected.
    ``performance`` is ``1 + gain / scale`` rounded down to 4 decimal places, where gain
    is how far the reading is on the good side of expected (``actual - expected`` if
    higher is better, ``expected - actual`` if lower is better; negative when worse) and
    ``scale`` is the planned change ``|target - baseline|`` (or ``|expected|`` when target
    equals baseline, or 1 when that is 0 too). So 1 is exactly as expected, above 1 better,
    below 1 worse; a shortfall as large as the whole planned change gives 0, a larger one
    a negative number. There is no division by a reading, so zero and negative values
    need no special case.
    """

    expected: Decimal
    actual: Decimal
    variance: Decimal
    pct_of_expected: Decimal | None
    performance: Decimal
    scale: Decimal


def variance(spec: KpiSpec, period: date, actual: Decimal) -> Variance:
    """Compare ``actual`` with :func:`expected_value` for ``period`` (see :class:`Variance`)."""
    require_decimal("actual", actual)
    expected = expected_value(spec, period)
    difference = actual - expected
    pct = (
        None
        if expected == 0
        else CONTEXT.divide(difference * HUNDRED, abs(expected)).quantize(
            _PCT_STEP, rounding=ROUND_HALF_EVEN, context=CONTEXT
        )
    )
    scale, _ = _scale(spec, expected)
    performance = CONTEXT.add(
        ONE, CONTEXT.divide(_gain(spec.direction, actual, expected), scale)
    ).quantize(_PERFORMANCE_STEP, rounding=ROUND_FLOOR, context=CONTEXT)
    return Variance(
        expected=expected,
        actual=actual,
        variance=difference,
        pct_of_expected=pct,
        performance=performance,
        scale=scale,
    )


def _shown_places(actual: Decimal) -> int:
    """Decimals to show a computed value with next to a reading: one more than the
    reading has (at least one, at most four), so "78.8 against expected 89.43" rather
    than "against expected 89.4314"."""
    exponent = actual.normalize(context=CONTEXT).as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return min(4, max(places, 1) + 1) if places else 1


def _rounded(value: Decimal, places: int) -> Decimal:
    """``value`` rounded half-even to ``places`` decimals, for display only."""
    return value.quantize(Decimal(1).scaleb(-places), context=CONTEXT)


def kpi_rag(spec: KpiSpec, period: date, actual: Decimal, *, thresholds: Thresholds) -> Rag:
    """Colour of one reading from its performance (see :class:`Variance`).

    Green at or above ``thresholds.green_at``, amber at or above ``red_below``, else red.
    Explanation, e.g.: ``"reading 41 % against expected 45 % for 2026-06 (lower is
    better): 4 % better than expected, judged against the planned change of 20 %,
    performance 120 %, at or above 95 % → green"``; an exact hit says ``as expected``.
    """
    result = variance(spec, period, actual)
    gain = _gain(spec.direction, actual, result.expected)
    _, scale_text = _scale(spec, result.expected)
    places = _shown_places(actual)
    if gain != 0 and _rounded(abs(gain), places) == 0:
        places = 4  # a gap too small for the reading's precision is still shown
    colour, rule = ratio_rule(result.performance, thresholds)
    shown = percent_text(
        result.performance, boundaries=(thresholds.red_below, thresholds.green_at, ONE)
    )
    if gain == 0:
        how = "as expected"
    else:
        word = "better" if gain > 0 else "worse"
        how = (
            f"{format_value(_rounded(abs(gain), places), spec.unit)} {word} than expected, "
            f"judged against {scale_text}"
        )
    return Rag(
        colour,
        f"reading {format_value(actual, spec.unit)} against expected "
        f"{format_value(_rounded(result.expected, places), spec.unit)} for "
        f"{period_label(period, spec.frequency)} ({spec.direction} is better): {how}, "
        f"performance {shown} %, {rule} → {colour}",
    )


# --------------------------------------------------------------------------- trend


@dataclass(frozen=True, kw_only=True)
class Projection:
    """Where the least-squares trend of the readings lands on the target date.

    ``meets_target``: at or above the target if higher is better, at or below if lower.
    ``miss_pct`` / ``beat_pct``: how far short of / beyond the target, as a percentage of
    the planned change ``|target - baseline|`` (of ``|target|`` when target equals
    baseline; in units when that is 0 too); the other one is 0.
    """

    projected_value: Decimal
    target: Decimal
    target_date: date
    meets_target: bool
    miss_pct: Decimal
    beat_pct: Decimal
    explanation: str


def projection(spec: KpiSpec, readings: Mapping[date, Decimal]) -> Projection | None:
    """Least-squares straight line through ``readings``, projected to the target date.

    x is days since the earliest reading, y the reading. The fit is exact Decimal
    arithmetic with a single division; the projected value is rounded half-even to 4
    decimal places and every other field follows from that rounded value. Fewer than 2
    readings -> ``None``. Explanation, e.g. ``"on this trend (6 readings, 2026-01 to
    2026-06): 41 % by 2027-12-31, target 50 % (higher is better), misses by 18 % of the
    planned change"``.
    """
    points = sorted((_as_date(period), value) for period, value in readings.items())
    for period, value in points:
        require_decimal(f"reading for {period}", value)
    if len({period for period, _ in points}) != len(points):
        raise ValueError("readings need distinct dates")
    if len(points) < 2:
        return None
    first = points[0][0]
    xs = [Decimal((period - first).days) for period, _ in points]
    ys = [value for _, value in points]
    n = Decimal(len(points))
    sum_x, sum_y = sum(xs, ZERO), sum(ys, ZERO)
    sum_xx = sum((x * x for x in xs), ZERO)
    sum_xy = sum((x * y for x, y in zip(xs, ys, strict=True)), ZERO)
    # slope = covariance / spread; value at x_t = (Σy·spread + covariance·(n·x_t − Σx)) / (n·spread)
    spread = n * sum_xx - sum_x * sum_x  # > 0: the periods are distinct
    covariance = n * sum_xy - sum_x * sum_y
    x_target = Decimal((spec.target_date - first).days)
    projected = CONTEXT.divide(
        sum_y * spread + covariance * (n * x_target - sum_x), n * spread
    ).quantize(_VALUE_STEP, rounding=ROUND_HALF_EVEN, context=CONTEXT)

    gain = _gain(spec.direction, projected, spec.target)
    if spec.span != 0:
        scale, of = spec.span, " of the planned change"
    elif spec.target != 0:
        scale, of = abs(spec.target), " of the target (target equals baseline)"
    else:
        scale, of = ONE, ""

    def pct(amount: Decimal) -> Decimal:
        return CONTEXT.divide(amount * HUNDRED, scale).quantize(
            _PCT_STEP, rounding=ROUND_UP, context=CONTEXT
        )

    def by(amount: Decimal) -> str:
        if of:
            return f"{percent_text(CONTEXT.divide(amount, scale), boundaries=(ZERO,))} %{of}"
        return format_value(amount, spec.unit)

    if gain > 0:
        outcome = f"beats the target by {by(gain)}"
    elif gain < 0:
        outcome = f"misses by {by(-gain)}"
    else:
        outcome = "meets the target exactly"
    span_text = (
        f"{period_label(first, spec.frequency)} to "
        f"{period_label(points[-1][0], spec.frequency)}"
    )
    explanation = (
        f"on this trend ({len(points)} readings, {span_text}): "
        f"{format_value(projected, spec.unit)} by {spec.target_date.isoformat()}, "
        f"target {format_value(spec.target, spec.unit)} ({spec.direction} is better), "
        f"{outcome}"
    )
    return Projection(
        projected_value=projected,
        target=spec.target,
        target_date=spec.target_date,
        meets_target=gain >= 0,
        miss_pct=pct(-gain) if gain < 0 else ZERO,
        beat_pct=pct(gain) if gain > 0 else ZERO,
        explanation=explanation,
    )


# --------------------------------------------------------------------------- streaks


def consecutive_off_track(statuses: Sequence[RagColour | str]) -> int:
    """How many of the latest periods in a row are red (``statuses`` oldest first).

    Only RED counts as off track: amber is a warning, not off track, and GREY (could not
    be judged) is not evidence either way; any non-red status ends the streak. Plain
    strings such as ``"red"`` (as stored on snapshots) work too.
    """
    count = 0
    for status in reversed(statuses):
        if RagColour(status) is not RagColour.RED:
            break
        count += 1
    return count

"""Pure KPI calculations (kpis/calculations.py): examples and properties. No database."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cat4.common.rag import Rag, RagColour, Thresholds
from kpis.calculations import (
    Direction,
    Frequency,
    KpiSpec,
    Projection,
    Variance,
    consecutive_off_track,
    expected_value,
    format_value,
    kpi_rag,
    next_period,
    period_label,
    period_start,
    periods_between,
    projection,
    variance,
)

D = Decimal
T = Thresholds()
GREEN, AMBER, RED, GREY = RagColour.GREEN, RagColour.AMBER, RagColour.RED, RagColour.GREY
SEVERITY = {GREEN: 0, AMBER: 1, RED: 2}
WEEKLY, MONTHLY, QUARTERLY = Frequency.WEEKLY, Frequency.MONTHLY, Frequency.QUARTERLY

# No example database: nothing is written into the working tree.
PROPERTY = settings(deadline=None, database=None, max_examples=200)


def spec(
    baseline="80",
    target="100",
    *,
    direction="higher",
    unit="%",
    baseline_date=date(2026, 1, 1),
    target_date=date(2026, 11, 8),  # 311 days after the baseline date
    frequency="monthly",
    planned=None,
):
    return KpiSpec(
        unit=unit,
        direction=direction,
        baseline=D(baseline),
        baseline_date=baseline_date,
        target=D(target),
        target_date=target_date,
        frequency=frequency,
        planned={} if planned is None else {p: D(v) for p, v in planned.items()},
    )


# A 200-day plan from 80 to 100 (or 60 to 40): 0.1 per day, round numbers everywhere.
def plan(direction="higher", **kwargs):
    baseline, target = ("80", "100") if direction == "higher" else ("60", "40")
    return spec(
        baseline,
        target,
        direction=direction,
        baseline_date=date(2026, 1, 1),
        target_date=date(2026, 1, 1) + timedelta(days=200),
        **kwargs,
    )


DAY_100 = date(2026, 1, 1) + timedelta(days=100)  # 2026-04-11: expected 90 (or 50)


# ============================================================================= periods


@pytest.mark.parametrize(
    ("day", "frequency", "start"),
    [
        # weekly: the Monday on or before, across the year boundary
        (date(2025, 1, 1), WEEKLY, date(2024, 12, 30)),
        (date(2024, 12, 30), WEEKLY, date(2024, 12, 30)),
        (date(2027, 1, 3), WEEKLY, date(2026, 12, 28)),  # a Sunday
        (date(2026, 3, 1), WEEKLY, date(2026, 2, 23)),
        # monthly
        (date(2025, 12, 31), MONTHLY, date(2025, 12, 1)),
        (date(2024, 2, 29), MONTHLY, date(2024, 2, 1)),
        (date(2026, 6, 1), MONTHLY, date(2026, 6, 1)),
        # quarterly
        (date(2025, 11, 15), QUARTERLY, date(2025, 10, 1)),
        (date(2026, 3, 31), QUARTERLY, date(2026, 1, 1)),
        (date(2026, 4, 1), QUARTERLY, date(2026, 4, 1)),
        (date(2026, 9, 30), QUARTERLY, date(2026, 7, 1)),
    ],
)
def test_period_start(day, frequency, start):
    assert period_start(day, frequency) == start
    assert period_start(day, str(frequency)) == start  # the text value works too


@pytest.mark.parametrize(
    ("period", "frequency", "following"),
    [
        (date(2024, 12, 30), WEEKLY, date(2025, 1, 6)),
        (date(2026, 12, 28), WEEKLY, date(2027, 1, 4)),
        (date(2025, 12, 1), MONTHLY, date(2026, 1, 1)),
        (date(2024, 1, 31), MONTHLY, date(2024, 2, 1)),  # any day of the period
        (date(2025, 10, 1), QUARTERLY, date(2026, 1, 1)),
        (date(2025, 12, 31), QUARTERLY, date(2026, 1, 1)),
        (date(2026, 2, 14), QUARTERLY, date(2026, 4, 1)),
    ],
)
def test_next_period(period, frequency, following):
    assert next_period(period, frequency) == following


def test_periods_between_weekly_across_the_year():
    assert periods_between(date(2024, 12, 25), date(2025, 1, 8), WEEKLY) == [
        date(2024, 12, 23),
        date(2024, 12, 30),
        date(2025, 1, 6),
    ]


def test_periods_between_monthly_and_quarterly_across_the_year():
    assert periods_between(date(2025, 11, 20), date(2026, 2, 1), "monthly") == [
        date(2025, 11, 1),
        date(2025, 12, 1),
        date(2026, 1, 1),
        date(2026, 2, 1),
    ]
    assert periods_between(date(2025, 8, 1), date(2026, 2, 1), QUARTERLY) == [
        date(2025, 7, 1),
        date(2025, 10, 1),
        date(2026, 1, 1),
    ]


def test_periods_between_same_period_and_reversed():
    assert periods_between(date(2026, 5, 3), date(2026, 5, 30), MONTHLY) == [date(2026, 5, 1)]
    assert periods_between(date(2026, 6, 1), date(2026, 5, 31), MONTHLY) == []
    assert periods_between(date(2026, 1, 5), date(2026, 1, 4), WEEKLY) == []


def test_period_functions_return_dates_for_datetimes():
    start = period_start(datetime(2026, 6, 17, 13, 30), WEEKLY)
    assert start == date(2026, 6, 15)
    assert type(start) is date


def test_unknown_frequency_is_rejected():
    with pytest.raises(ValueError):
        period_start(date(2026, 1, 1), "daily")
    with pytest.raises(TypeError):
        period_start("2026-01-01", MONTHLY)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("period", "frequency", "label"),
    [
        (date(2024, 12, 30), WEEKLY, "2025-W01"),  # ISO week: belongs to 2025
        (date(2026, 12, 28), WEEKLY, "2026-W53"),
        (date(2027, 1, 3), WEEKLY, "2026-W53"),
        (date(2026, 6, 1), MONTHLY, "2026-06"),
        (date(2026, 6, 30), MONTHLY, "2026-06"),
        (date(2026, 4, 1), QUARTERLY, "2026-Q2"),
        (date(2025, 12, 31), QUARTERLY, "2025-Q4"),
    ],
)
def test_period_label(period, frequency, label):
    assert period_label(period, frequency) == label


# ============================================================================= format_value


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        ("41.5", "%", "41.5 %"),
        ("41.50", "%", "41.5 %"),
        ("100", "days", "100 days"),
        ("100.0000", "days", "100 days"),
        ("1250000", "EUR", "1,250,000 EUR"),
        ("3.25", "t CO2", "3.25 t CO2"),
        ("-0.0001", "%", "-0.0001 %"),  # never rounded
        ("-0.00", "%", "0 %"),
        ("12", "", "12"),
        ("12", "  ", "12"),
    ],
)
def test_format_value(value, unit, text):
    assert format_value(D(value), unit) == text


def test_format_value_rejects_floats():
    with pytest.raises(TypeError):
        format_value(41.5, "%")  # type: ignore[arg-type]


# ============================================================================= KpiSpec


def test_spec_coerces_text_choices_and_freezes_the_plan():
    s = spec(planned={date(2026, 3, 1): "85"})
    assert s.direction is Direction.HIGHER
    assert s.frequency is Frequency.MONTHLY
    assert s.span == D("20")
    with pytest.raises(TypeError):
        s.planned[date(2026, 4, 1)] = D("1")  # type: ignore[index]
    with pytest.raises(AttributeError):
        s.target = D("1")  # type: ignore[misc]


def test_spec_is_keyword_only_and_defaults_to_no_plan():
    s = KpiSpec(
        unit="days",
        direction=Direction.LOWER,
        baseline=D("30"),
        baseline_date=date(2026, 1, 1),
        target=D("10"),
        target_date=date(2027, 1, 1),
        frequency=Frequency.QUARTERLY,
    )
    assert dict(s.planned) == {}
    with pytest.raises(TypeError):
        KpiSpec("days", Direction.LOWER)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"baseline": 80}, TypeError),
        ({"target": 100.0}, TypeError),
        ({"baseline": D("NaN")}, ValueError),
        ({"planned": {date(2026, 2, 1): 81.5}}, TypeError),
        ({"direction": "sideways"}, ValueError),
        ({"frequency": "daily"}, ValueError),
        ({"target_date": date(2026, 1, 1)}, ValueError),  # same day as the baseline
        ({"target_date": date(2025, 12, 31)}, ValueError),
        ({"unit": None}, TypeError),
    ],
)
def test_spec_rejects_bad_input(changes, error):
    values = {
        "unit": "%",
        "direction": "higher",
        "baseline": D("80"),
        "baseline_date": date(2026, 1, 1),
        "target": D("100"),
        "target_date": date(2027, 1, 1),
        "frequency": "monthly",
    }
    with pytest.raises(error):
        KpiSpec(**(values | changes))


# ============================================================================= expected_value


def test_expected_value_interpolates_by_days():
    s = plan()
    assert expected_value(s, DAY_100) == D("90")
    assert expected_value(s, date(2026, 1, 2)) == D("80.1")
    assert expected_value(plan("lower"), DAY_100) == D("50")


def test_expected_value_is_clamped_and_returns_endpoints_as_given():
    s = plan()
    for before in (date(2025, 6, 1), date(2026, 1, 1)):
        result = expected_value(s, before)
        assert (result, str(result)) == (D("80"), "80")
    for after in (s.target_date, date(2030, 1, 1)):
        result = expected_value(s, after)
        assert (result, str(result)) == (D("100"), "100")


def test_expected_value_rounds_half_even_to_four_places():
    s = spec("0", "1", baseline_date=date(2026, 1, 1), target_date=date(2026, 1, 4))
    assert str(expected_value(s, date(2026, 1, 2))) == "0.3333"
    assert str(expected_value(s, date(2026, 1, 3))) == "0.6667"
    # halfway to 0.0001 is 0.00005: half-even gives 0.0000
    s = spec("0", "0.0001", baseline_date=date(2026, 1, 1), target_date=date(2026, 1, 3))
    assert expected_value(s, date(2026, 1, 2)) == D("0.0000")


def test_expected_value_over_a_leap_year_counts_days():
    s = spec("0", "366", baseline_date=date(2024, 1, 1), target_date=date(2025, 1, 1))
    assert expected_value(s, date(2024, 3, 1)) == D("60")  # 31 + 29 days


def test_planned_series_takes_precedence_even_outside_the_line():
    s = plan(planned={DAY_100: "85.5", date(2025, 12, 1): "79", date(2027, 1, 1): "120"})
    assert expected_value(s, DAY_100) == D("85.5")
    assert expected_value(s, date(2025, 12, 1)) == D("79")  # before the baseline date
    assert expected_value(s, date(2027, 1, 1)) == D("120")  # beyond the target
    assert expected_value(s, DAY_100 + timedelta(days=1)) == D("90.1")  # others: the line


def test_expected_value_with_negative_values():
    s = spec("-10", "10", baseline_date=date(2026, 1, 1), target_date=date(2026, 1, 21))
    assert expected_value(s, date(2026, 1, 6)) == D("-5")
    assert expected_value(s, date(2026, 1, 11)) == D("0")


# ============================================================================= variance


def test_variance_higher_is_better_shortfall():
    result = variance(plan(), DAY_100, D("85"))
    assert result == Variance(
        expected=D("90"),
        actual=D("85"),
        variance=D("-5"),
        pct_of_expected=D("-5.56"),
        performance=D("0.75"),  # 1 - 5 / 20
        scale=D("20"),
    )


def test_variance_lower_is_better_surplus():
    result = variance(plan("lower"), DAY_100, D("46"))
    assert (result.expected, result.variance, result.pct_of_expected) == (D("50"), D("-4"), D("-8"))
    assert result.performance == D("1.2")  # 1 + 4 / 20


def test_variance_exactly_as_expected_is_one():
    assert variance(plan(), DAY_100, D("90")).performance == 1
    assert variance(plan("lower"), DAY_100, D("50.00")).performance == 1


def test_performance_can_fall_below_zero():
    assert variance(plan(), DAY_100, D("60")).performance == D("-0.5")  # 30 short of 20


def test_performance_is_rounded_down_to_four_places():
    s = spec("0", "3", baseline_date=date(2026, 1, 1), target_date=date(2026, 1, 2))
    after = date(2026, 2, 1)  # expected 3
    assert variance(s, after, D("2")).performance == D("0.6666")  # not 0.6667
    assert variance(s, after, D("4")).performance == D("1.3333")
    assert variance(s, after, D("1")).performance == D("0.3333")


def test_variance_around_zero_and_negative_values():
    # Emissions going from 10 down to -10 (net negative); expected 0 halfway.
    s = spec(
        "10",
        "-10",
        direction="lower",
        unit="t CO2",
        baseline_date=date(2026, 1, 1),
        target_date=date(2026, 1, 21),
    )
    halfway = date(2026, 1, 11)
    at_zero = variance(s, halfway, D("2"))
    assert (at_zero.expected, at_zero.pct_of_expected) == (D("0"), None)
    assert at_zero.performance == D("0.9")  # 2 worse on a planned change of 20
    assert variance(s, halfway, D("-3")).performance == D("1.15")
    assert variance(s, halfway, D("0")).performance == 1
    # expected negative: the percentage is relative to |expected|, signed like the variance
    late = variance(s, date(2026, 1, 16), D("-4"))
    assert (late.expected, late.variance, late.pct_of_expected) == (D("-5"), D("1"), D("20"))
    assert late.performance == D("0.95")


def test_span_zero_is_judged_against_the_expected_value():
    s = spec("20", "20", direction="lower", unit="days")
    result = variance(s, date(2026, 6, 1), D("25"))
    assert (result.scale, result.performance) == (D("20"), D("0.75"))


def test_span_zero_and_nothing_expected_is_judged_per_unit():
    s = spec("0", "0", direction="lower", unit="incidents")
    result = variance(s, date(2026, 6, 1), D("0.5"))
    assert (result.scale, result.performance, result.pct_of_expected) == (D("1"), D("0.5"), None)
    assert variance(s, date(2026, 6, 1), D("0")).performance == 1


def test_span_zero_with_a_planned_value_uses_that_value():
    s = spec("20", "20", planned={date(2026, 6, 1): "40"})
    assert variance(s, date(2026, 6, 1), D("30")).performance == D("0.75")  # 10 short of 40


def test_variance_rejects_float_actual():
    with pytest.raises(TypeError):
        variance(plan(), DAY_100, 85.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        variance(plan(), DAY_100, D("Infinity"))


# ============================================================================= kpi_rag


def test_kpi_rag_red_explanation():
    assert kpi_rag(plan(), DAY_100, D("85"), thresholds=T) == Rag(
        RED,
        "reading 85 % against expected 90 % for 2026-04 (higher is better): 5 % worse than "
        "expected, judged against the planned change of 20 %, performance 75 %, "
        "below 85 % → red",
    )


def test_kpi_rag_green_better_than_expected_lower_is_better():
    rag = kpi_rag(plan("lower"), DAY_100, D("46"), thresholds=T)
    assert rag == Rag(
        GREEN,
        "reading 46 % against expected 50 % for 2026-04 (lower is better): 4 % better than "
        "expected, judged against the planned change of 20 %, performance 120 %, "
        "at or above 95 % → green",
    )


def test_kpi_rag_amber_and_as_expected():
    amber = kpi_rag(plan(), DAY_100, D("88"), thresholds=T)
    assert amber.colour is AMBER
    assert amber.explanation.endswith(
        "2 % worse than expected, judged against the planned change of 20 %, "
        "performance 90 %, between 85 % and 95 % → amber"
    )
    exact = kpi_rag(plan(), DAY_100, D("90.0"), thresholds=T)
    assert exact == Rag(
        GREEN,
        "reading 90 % against expected 90 % for 2026-04 (higher is better): as expected, "
        "performance 100 %, at or above 95 % → green",
    )


def test_kpi_rag_percentages_stay_on_the_right_side_of_the_boundary():
    s = spec("0", "10000", unit="EUR")  # read after the target date: expected 10,000
    late = date(2027, 3, 1)
    at = kpi_rag(s, late, D("9500"), thresholds=T)
    assert (at.colour, "performance 95 %, at or above 95 %" in at.explanation) == (GREEN, True)
    below = kpi_rag(s, late, D("9499"), thresholds=T)
    assert below == Rag(
        AMBER,
        "reading 9,499 EUR against expected 10,000 EUR for 2027-03 (higher is better): "
        "501 EUR worse than expected, judged against the planned change of 10,000 EUR, "
        "performance 94.9 %, between 85 % and 95 % → amber",
    )


def test_kpi_rag_weekly_and_quarterly_period_labels():
    weekly = spec("10", "0", direction="lower", unit="days", frequency="weekly")
    rag = kpi_rag(weekly, date(2026, 1, 5), D("10"), thresholds=T)
    assert "for 2026-W02 (lower is better)" in rag.explanation
    quarterly = spec("10", "0", direction="lower", unit="days", frequency="quarterly")
    rag = kpi_rag(quarterly, date(2026, 10, 1), D("0"), thresholds=T)
    assert "for 2026-Q4 (lower is better)" in rag.explanation


def test_kpi_rag_interpolated_values_are_shown_unrounded():
    s = spec("0", "1", baseline_date=date(2026, 1, 1), target_date=date(2026, 1, 4))
    rag = kpi_rag(s, date(2026, 1, 2), D("0.3333"), thresholds=T)
    assert rag.explanation.startswith(
        "reading 0.3333 % against expected 0.3333 % for 2026-01 (higher is better): as expected"
    )


def test_kpi_rag_span_zero_wording():
    s = spec("20", "20", direction="lower", unit="days")
    rag = kpi_rag(s, date(2026, 6, 1), D("25"), thresholds=T)
    assert rag == Rag(
        RED,
        "reading 25 days against expected 20 days for 2026-06 (lower is better): 5 days worse "
        "than expected, judged against the expected value 20 days (target equals baseline), "
        "performance 75 %, below 85 % → red",
    )
    zero = spec("0", "0", direction="lower", unit="incidents")
    rag = kpi_rag(zero, date(2026, 6, 1), D("0.1"), thresholds=T)
    assert rag.colour is AMBER
    assert (
        "0.1 incidents worse than expected, judged against 1 incidents (target equals baseline "
        "and 0 is expected), performance 90 %" in rag.explanation
    )


def test_kpi_rag_custom_thresholds():
    strict = Thresholds(green_at=D("1"), red_below=D("0.875"))
    rag = kpi_rag(plan(), DAY_100, D("89.9"), thresholds=strict)
    assert rag.colour is AMBER
    assert rag.explanation.endswith("performance 99.5 %, between 87.5 % and 100 % → amber")


# ============================================================================= projection


def readings(*pairs):
    return {day: D(value) for day, value in pairs}


def test_projection_needs_two_readings():
    assert projection(plan(), {}) is None
    assert projection(plan(), readings((date(2026, 1, 1), "80"))) is None


def test_projection_of_a_hand_computed_fit():
    # x = 0, 1, 2 days; y = 1, 2, 4: slope 1.5, intercept 5/6; at x = 10: 15.8333...
    s = spec("0", "20", unit="", baseline_date=date(2026, 1, 1), target_date=date(2026, 1, 11))
    result = projection(
        s, readings((date(2026, 1, 3), "4"), (date(2026, 1, 1), "1"), (date(2026, 1, 2), "2"))
    )
    assert result == Projection(
        projected_value=D("15.8333"),
        target=D("20"),
        target_date=date(2026, 1, 11),
        meets_target=False,
        miss_pct=D("20.84"),  # 4.1667 / 20, rounded away from zero
        beat_pct=D("0"),
        explanation="on this trend (3 readings, 2026-01 to 2026-01): 15.8333 by 2026-01-11, "
        "target 20 (higher is better), misses by 21 % of the planned change",
    )


def test_projection_misses_on_a_slow_trend():
    s = plan()  # 80 -> 100 over 200 days, target date 2026-07-20
    result = projection(
        s, readings((date(2026, 1, 1), "80"), (date(2026, 2, 1), "81"), (date(2026, 3, 1), "82"))
    )
    assert result is not None
    assert not result.meets_target
    assert result.explanation.startswith("on this trend (3 readings, 2026-01 to 2026-03): ")
    assert result.explanation.endswith(
        f"% by 2026-07-20, target 100 % (higher is better), misses by "
        f"{round(result.miss_pct)} % of the planned change"
    )


def test_projection_beats_and_meets_the_target_lower_is_better():
    s = plan("lower")  # 60 -> 40 by 2026-07-20 (day 200)
    fast = projection(s, readings((date(2026, 1, 1), "60"), (date(2026, 1, 11), "58.5")))
    assert fast is not None
    assert (fast.projected_value, fast.meets_target) == (D("30"), True)  # 60 - 0.15 * 200
    assert (fast.miss_pct, fast.beat_pct) == (D("0"), D("50.00"))
    assert fast.explanation == (
        "on this trend (2 readings, 2026-01 to 2026-01): 30 % by 2026-07-20, target 40 % "
        "(lower is better), beats the target by 50 % of the planned change"
    )
    exact = projection(s, readings((date(2026, 1, 1), "60"), (date(2026, 1, 11), "59")))
    assert exact is not None
    assert (exact.projected_value, exact.meets_target, exact.miss_pct) == (D("40"), True, 0)
    assert exact.explanation.endswith("(lower is better), meets the target exactly")


def test_projection_with_negative_values_and_weekly_labels():
    s = spec(
        "5",
        "-5",
        direction="lower",
        unit="t CO2",
        frequency="weekly",
        baseline_date=date(2024, 12, 30),
        target_date=date(2025, 1, 29),  # day 30
    )
    result = projection(s, readings((date(2024, 12, 30), "5"), (date(2025, 1, 6), "2.9")))
    assert result is not None
    assert result.projected_value == D("-4")  # 5 - 0.3 * 30
    assert result.miss_pct == D("10.00")
    assert result.explanation == (
        "on this trend (2 readings, 2025-W01 to 2025-W02): -4 t CO2 by 2025-01-29, "
        "target -5 t CO2 (lower is better), misses by 10 % of the planned change"
    )


def test_projection_span_zero():
    hold = spec("20", "20", direction="lower", unit="days")
    result = projection(hold, readings((date(2026, 1, 1), "20"), (date(2026, 2, 1), "20.5")))
    assert result is not None
    assert not result.meets_target
    assert result.explanation.endswith("misses by " + f"{round(result.miss_pct)}" + " % of the "
                                       "target (target equals baseline)")
    zero = spec("0", "0", direction="lower", unit="incidents", target_date=date(2026, 1, 11))
    flat = projection(zero, readings((date(2026, 1, 1), "1"), (date(2026, 1, 2), "1")))
    assert flat is not None
    assert (flat.projected_value, flat.miss_pct) == (D("1"), D("100.00"))
    assert flat.explanation.endswith("target 0 incidents (lower is better), misses by 1 incidents")


def test_projection_rejects_floats():
    with pytest.raises(TypeError):
        projection(plan(), {date(2026, 1, 1): 80.0, date(2026, 2, 1): D("81")})


# ============================================================================= streaks


@pytest.mark.parametrize(
    ("statuses", "count"),
    [
        ([], 0),
        ([RED], 1),
        ([GREEN, RED, RED], 2),
        ([RED, RED, AMBER, RED], 1),
        ([RED, RED, AMBER], 0),  # amber is not off track
        ([RED, GREY], 0),  # nor is "cannot be judged"
        (["red", "red", "red"], 3),  # stored snapshot values
        ([GREEN, GREEN], 0),
    ],
)
def test_consecutive_off_track(statuses, count):
    assert consecutive_off_track(statuses) == count


# ============================================================================= properties

value = st.decimals(
    min_value=D("-1000000"), max_value=D("1000000"), places=2, allow_nan=False, allow_infinity=False
)
ratio = st.decimals(
    min_value=D("0.01"), max_value=D("1"), places=2, allow_nan=False, allow_infinity=False
)
some_day = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))
frequency = st.sampled_from(list(Frequency))
direction = st.sampled_from(list(Direction))


@st.composite
def thresholds(draw):
    red_below = draw(ratio)
    green_at = draw(
        st.decimals(
            min_value=red_below, max_value=D("1"), places=2, allow_nan=False, allow_infinity=False
        )
    )
    return Thresholds(green_at=green_at, red_below=red_below)


@st.composite
def specs(draw, *, direction=direction, with_plan=True):
    baseline_date = draw(some_day)
    target_date = baseline_date + timedelta(days=draw(st.integers(1, 2000)))
    planned = {}
    if with_plan:
        planned = draw(st.dictionaries(some_day, value, max_size=3))
    return KpiSpec(
        unit=draw(st.sampled_from(["%", "days", "EUR", "t CO2", ""])),
        direction=draw(direction),
        baseline=draw(value),
        baseline_date=baseline_date,
        target=draw(value),
        target_date=target_date,
        frequency=draw(frequency),
        planned=planned,
    )


@PROPERTY
@given(day=some_day, f=frequency)
def test_period_math_is_consistent(day, f):
    start = period_start(day, f)
    following = next_period(day, f)
    assert start <= day < following
    assert period_start(start, f) == start
    assert period_start(following, f) == following
    assert period_start(following - timedelta(days=1), f) == start
    assert periods_between(start, following, f) == [start, following]


@PROPERTY
@given(s=specs(with_plan=False), day=some_day)
def test_expected_value_stays_between_baseline_and_target(s, day):
    low, high = sorted((s.baseline, s.target))
    assert low <= expected_value(s, day) <= high


@PROPERTY
@given(s=specs(), day=some_day, actual=value)
def test_performance_is_one_as_expected_and_at_least_one_when_not_worse(s, day, actual):
    result = variance(s, day, actual)
    assert result.variance == actual - result.expected
    if actual == result.expected:
        assert result.performance == 1
    # performance is rounded down, so "at least as good" is exactly "at least 1"
    at_least = actual >= result.expected if s.direction is Direction.HIGHER else (
        actual <= result.expected
    )
    assert (result.performance >= 1) == at_least


@PROPERTY
@given(s=specs(direction=st.just(Direction.HIGHER)), day=some_day, actual=value, t=thresholds())
def test_mirroring_direction_gives_the_same_colour_and_performance(s, day, actual, t):
    mirrored = KpiSpec(
        unit=s.unit,
        direction=Direction.LOWER,
        baseline=-s.baseline,
        baseline_date=s.baseline_date,
        target=-s.target,
        target_date=s.target_date,
        frequency=s.frequency,
        planned={p: -v for p, v in s.planned.items()},
    )
    original, mirror = variance(s, day, actual), variance(mirrored, day, -actual)
    assert mirror.expected == -original.expected
    assert mirror.performance == original.performance
    assert (
        kpi_rag(mirrored, day, -actual, thresholds=t).colour
        is kpi_rag(s, day, actual, thresholds=t).colour
    )


@PROPERTY
@given(s=specs(), day=some_day, a=value, b=value, t=thresholds())
def test_a_better_reading_never_gets_a_worse_colour(s, day, a, b, t):
    low, high = sorted((a, b))
    worse, better = (low, high) if s.direction is Direction.HIGHER else (high, low)
    assert variance(s, day, better).performance >= variance(s, day, worse).performance
    assert (
        SEVERITY[kpi_rag(s, day, better, thresholds=t).colour]
        <= SEVERITY[kpi_rag(s, day, worse, thresholds=t).colour]
    )


@PROPERTY
@given(s=specs(), day=some_day, actual=value, t=thresholds())
def test_the_explanation_states_its_inputs_and_ends_with_the_colour(s, day, actual, t):
    rag = kpi_rag(s, day, actual, thresholds=t)
    assert rag.explanation.startswith(f"reading {format_value(actual, s.unit)} against expected ")
    assert f"for {period_label(day, s.frequency)} ({s.direction} is better): " in rag.explanation
    assert rag.explanation.endswith(f" → {rag.colour}")


@PROPERTY
@given(
    s=specs(with_plan=False),
    intercept=value,
    slope=st.decimals(
        min_value=D("-100"), max_value=D("100"), places=2, allow_nan=False, allow_infinity=False
    ),
    first=some_day,
    offsets=st.sets(st.integers(0, 1500), min_size=2, max_size=12),
)
def test_projection_is_exact_on_linear_data(s, intercept, slope, first, offsets):
    data = {first + timedelta(days=x): intercept + slope * x for x in offsets}
    result = projection(s, data)
    assert result is not None
    start = first + timedelta(days=min(offsets))
    line = intercept + slope * (min(offsets) + (s.target_date - start).days)
    assert abs(result.projected_value - line) <= D("0.0001")
    assert result.projected_value == line  # exact Decimal arithmetic: no error at all
    beats = line >= s.target if s.direction is Direction.HIGHER else line <= s.target
    assert result.meets_target is beats
    assert (result.miss_pct == 0) is beats
    assert "misses by" not in result.explanation if beats else "misses by" in result.explanation


@PROPERTY
@given(s=specs(with_plan=False), data=st.dictionaries(some_day, value, min_size=2, max_size=8))
def test_projection_does_not_depend_on_the_order_of_readings(s, data):
    forwards = projection(s, dict(sorted(data.items())))
    backwards = projection(s, dict(sorted(data.items(), reverse=True)))
    assert forwards == backwards


@PROPERTY
@given(statuses=st.lists(st.sampled_from([GREEN, AMBER, RED, GREY]), max_size=10))
def test_consecutive_off_track_counts_the_red_tail(statuses):
    count = consecutive_off_track(statuses)
    assert all(s is RED for s in statuses[len(statuses) - count :])
    assume(count < len(statuses))
    assert statuses[len(statuses) - count - 1] is not RED


def test_explanation_shows_computed_values_one_decimal_finer_than_the_reading():
    spec = KpiSpec(unit="%", direction="higher", baseline=Decimal("80"),
                   baseline_date=date(2025, 1, 1), target=Decimal("95"),
                   target_date=date(2027, 12, 1), frequency="monthly", planned={})
    thresholds = Thresholds(green_at=Decimal("0.95"), red_below=Decimal("0.85"))
    expected = expected_value(spec, date(2025, 12, 1))
    assert expected != expected.quantize(Decimal("0.01"))  # the path is not round here
    text = kpi_rag(spec, date(2025, 12, 1), Decimal("78.8"), thresholds=thresholds).explanation
    assert text.startswith(
        f"reading 78.8 % against expected {expected.quantize(Decimal('0.01'))} % ")


def test_a_gap_finer_than_the_reading_is_shown_in_full_never_as_zero():
    spec = KpiSpec(unit="%", direction="higher", baseline=Decimal("80"),
                   baseline_date=date(2025, 1, 1), target=Decimal("95"),
                   target_date=date(2027, 12, 1), frequency="monthly",
                   planned={date(2025, 12, 1): Decimal("80.03")})
    thresholds = Thresholds(green_at=Decimal("0.95"), red_below=Decimal("0.85"))
    text = kpi_rag(spec, date(2025, 12, 1), Decimal("80"), thresholds=thresholds).explanation
    assert text.startswith("reading 80 % against expected 80.03 % ")
    assert "0.03 % worse than expected" in text

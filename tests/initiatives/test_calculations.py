"""Pure calculations (initiatives/calculations.py): examples and properties. No database."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cat4.common.months import month_range
from cat4.common.rag import Rag, RagColour, Thresholds, worst_colour
from initiatives.calculations import (
    LineTotals,
    MilestoneFacts,
    combine_financial,
    financial_rag,
    fiscal_year,
    fiscal_year_label,
    fiscal_year_months,
    run_rate,
    schedule_rag,
    technical_progress,
    totals_by_fiscal_year,
)

D = Decimal
T = Thresholds()
GREEN, AMBER, RED, GREY = RagColour.GREEN, RagColour.AMBER, RagColour.RED, RagColour.GREY
SEVERITY = {GREEN: 0, AMBER: 1, RED: 2}

# No example database: nothing is written into the working tree.
PROPERTY = settings(deadline=None, database=None, max_examples=200)


def benefit(planned, forecast, actual=None, thresholds=T):
    return financial_rag(
        planned=D(planned),
        forecast=D(forecast),
        actual=None if actual is None else D(actual),
        is_cost=False,
        thresholds=thresholds,
        currency="EUR",
    )


def cost(planned, forecast, actual=None, thresholds=T):
    return financial_rag(
        planned=D(planned),
        forecast=D(forecast),
        actual=None if actual is None else D(actual),
        is_cost=True,
        thresholds=thresholds,
        currency="EUR",
    )


def milestone(title="M", due=date(2026, 9, 30), done=None, weight=1, waived=False):
    return MilestoneFacts(title=title, due_date=due, done_date=done, weight=weight, waived=waived)


# ----------------------------------------------------------------------------- financial_rag


def test_benefit_red():
    assert benefit("1600000", "1200000") == Rag(
        RED, "forecast EUR 1.20 M is 75 % of plan EUR 1.60 M, below 85 % → red"
    )


def test_benefit_amber():
    assert benefit("1600000", "1440000") == Rag(
        AMBER, "forecast EUR 1.44 M is 90 % of plan EUR 1.60 M, between 85 % and 95 % → amber"
    )


def test_benefit_green():
    assert benefit("1600000", "1520000") == Rag(
        GREEN, "forecast EUR 1.52 M is 95 % of plan EUR 1.60 M, at or above 95 % → green"
    )


def test_benefit_above_plan_is_green():
    assert benefit("1000000", "1300000").explanation == (
        "forecast EUR 1.30 M is 130 % of plan EUR 1.00 M, at or above 95 % → green"
    )


def test_benefit_at_red_limit_is_amber():
    assert benefit("100000", "85000").colour is AMBER


@pytest.mark.parametrize(
    ("forecast", "shown", "colour"),
    [
        # Just under a limit never shows as the limit itself.
        ("949999", "94.9", AMBER),
        ("849999", "84.9", RED),
        # Just over a limit shows as over it.
        ("850400", "85.1", AMBER),
        ("950001", "95.1", GREEN),
        ("952000", "95.2", GREEN),
    ],
)
def test_benefit_percentage_never_contradicts_the_rule(forecast, shown, colour):
    rag = benefit("1000000", forecast)
    assert rag.colour is colour
    assert f" is {shown} % of plan " in rag.explanation


def test_thresholds_with_decimals_are_shown_as_configured():
    thresholds = Thresholds(green_at=D("0.975"), red_below=D("0.8"))
    assert benefit("1000", "900", thresholds=thresholds).explanation == (
        "forecast EUR 900 is 90 % of plan EUR 1.0 k, between 80 % and 97.5 % → amber"
    )


def test_benefit_negative_forecast_is_red():
    assert benefit("1000000", "-5000").explanation == (
        "forecast -EUR 5.0 k is -1 % of plan EUR 1.00 M, below 85 % → red"
    )


def test_cost_over_budget_red():
    assert cost("1000000", "1200000") == Rag(
        RED,
        "forecast cost EUR 1.20 M is 120 % of budget EUR 1.00 M, "
        "so the budget covers 83 % of it, below 85 % → red",
    )


def test_cost_over_budget_amber():
    assert cost("1000000", "1100000") == Rag(
        AMBER,
        "forecast cost EUR 1.10 M is 110 % of budget EUR 1.00 M, "
        "so the budget covers 91 % of it, between 85 % and 95 % → amber",
    )


def test_cost_slightly_over_budget_green():
    assert cost("1000000", "1020000") == Rag(
        GREEN,
        "forecast cost EUR 1.02 M is 102 % of budget EUR 1.00 M, "
        "so the budget covers 98 % of it, at or above 95 % → green",
    )


@pytest.mark.parametrize("forecast", ["900000", "1000000", "0", "-1000"])
def test_cost_within_budget_green(forecast):
    rag = cost("1000000", forecast)
    assert rag.colour is GREEN
    assert rag.explanation.endswith(", within budget → green")


def test_cost_within_budget_wording():
    assert cost("1000000", "900000").explanation == (
        "forecast cost EUR 900.0 k is 90 % of budget EUR 1.00 M, within budget → green"
    )


def test_cost_a_hair_over_budget_does_not_show_100():
    rag = cost("1000000", "1000001")
    assert "is 100.1 % of budget" in rag.explanation
    assert "covers 99.9 % of it" in rag.explanation


def test_benefit_actual_worse_than_forecast_drives():
    assert benefit("1200000", "1100000", actual="900000") == Rag(
        RED,
        "actual EUR 900.0 k is 75 % of plan EUR 1.20 M (worse than forecast EUR 1.10 M), "
        "below 85 % → red",
    )


def test_benefit_forecast_worse_than_actual_drives():
    assert benefit("1200000", "1100000", actual="1200000") == Rag(
        AMBER,
        "forecast EUR 1.10 M is 92 % of plan EUR 1.20 M (worse than actual EUR 1.20 M), "
        "between 85 % and 95 % → amber",
    )


def test_benefit_actual_equal_to_forecast():
    assert benefit("1000", "1000", actual="1000").explanation == (
        "forecast EUR 1.0 k is 100 % of plan EUR 1.0 k (actual the same), at or above 95 % → green"
    )


def test_cost_actual_worse_than_forecast_drives():
    assert cost("1000000", "1050000", actual="1300000") == Rag(
        RED,
        "actual cost EUR 1.30 M is 130 % of budget EUR 1.00 M "
        "(worse than forecast cost EUR 1.05 M), so the budget covers 77 % of it, "
        "below 85 % → red",
    )


def test_cost_forecast_worse_than_actual_drives():
    assert cost("1000000", "1100000", actual="400000") == Rag(
        AMBER,
        "forecast cost EUR 1.10 M is 110 % of budget EUR 1.00 M "
        "(worse than actual cost EUR 400.0 k), so the budget covers 91 % of it, "
        "between 85 % and 95 % → amber",
    )


@pytest.mark.parametrize("rag_of", [benefit, cost])
def test_zero_plan_is_grey(rag_of):
    assert rag_of("0", "50000") == Rag(GREY, "no plan to compare with")
    assert rag_of("0.00", "0") == Rag(GREY, "nothing planned or forecast")
    assert rag_of("0", "0", actual="0") == Rag(GREY, "nothing planned or forecast")
    assert rag_of("0", "0", actual="10") == Rag(GREY, "no plan to compare with")


def test_negative_plan_is_grey():
    assert benefit("-1000", "500") == Rag(
        GREY, "plan -EUR 1.0 k is negative, nothing to compare with"
    )
    assert cost("-1000", "500") == Rag(
        GREY, "budget -EUR 1.0 k is negative, nothing to compare with"
    )


def test_financial_rag_rejects_floats():
    with pytest.raises(TypeError):
        financial_rag(planned=D(1), forecast=0.5, is_cost=False, thresholds=T, currency="EUR")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- combine


def line(planned, forecast, actual=None, *, is_cost=False):
    return LineTotals(
        planned=D(planned),
        forecast=D(forecast),
        actual=None if actual is None else D(actual),
        is_cost=is_cost,
    )


def test_combine_sums_each_group_and_takes_the_worse_colour():
    rag = combine_financial(
        [
            line("1000000", "900000"),
            line("600000", "620000"),
            line("500000", "520000", is_cost=True),
            line("500000", "580000", is_cost=True),
        ],
        thresholds=T,
        currency="EUR",
    )
    assert rag == Rag(
        AMBER,
        "benefits: forecast EUR 1.52 M is 95 % of plan EUR 1.60 M, at or above 95 % → green; "
        "costs: forecast cost EUR 1.10 M is 110 % of budget EUR 1.00 M, "
        "so the budget covers 91 % of it, between 85 % and 95 % → amber",
    )


def test_combine_ignores_grey_unless_everything_is_grey():
    rag = combine_financial(
        [line("0", "100"), line("1000", "700", is_cost=True)], thresholds=T, currency="EUR"
    )
    assert rag.colour is GREEN
    assert rag.explanation == (
        "benefits: no plan to compare with; "
        "costs: forecast cost EUR 700 is 70 % of budget EUR 1.0 k, within budget → green"
    )
    all_grey = combine_financial(
        [line("0", "0"), line("0", "5", is_cost=True)], thresholds=T, currency="EUR"
    )
    assert all_grey == Rag(
        GREY, "benefits: nothing planned or forecast; costs: no plan to compare with"
    )


def test_combine_only_benefits():
    rag = combine_financial([line("1600000", "1200000")], thresholds=T, currency="EUR")
    assert rag == Rag(
        RED, "benefits: forecast EUR 1.20 M is 75 % of plan EUR 1.60 M, below 85 % → red"
    )


def test_combine_no_lines():
    assert combine_financial([], thresholds=T, currency="EUR") == Rag(GREY, "no impact lines")


def test_combine_uses_actuals_only_when_every_line_has_one():
    both = combine_financial(
        [line("1000", "1000", "500"), line("1000", "1000", "500")], thresholds=T, currency="EUR"
    )
    assert both.colour is RED
    assert both.explanation.startswith("benefits: actual EUR 1.0 k is 50 % of plan EUR 2.0 k")
    partial = combine_financial(
        [line("1000", "1000", "500"), line("1000", "1000")], thresholds=T, currency="EUR"
    )
    assert partial == Rag(
        GREEN, "benefits: forecast EUR 2.0 k is 100 % of plan EUR 2.0 k, at or above 95 % → green"
    )


def test_line_totals_keyword_only():
    with pytest.raises(TypeError):
        LineTotals(D(1), D(1), None, False)  # type: ignore[misc]


# ----------------------------------------------------------------------------- progress


def test_progress_no_milestones():
    assert technical_progress([]) == D("0")


def test_progress_by_weight():
    ms = [
        milestone(weight=3, done=date(2026, 1, 1)),
        milestone(weight=1, waived=True),
        milestone(weight=4),
    ]
    assert technical_progress(ms) == D("50.0")


def test_progress_rounds_down_to_one_decimal():
    ms = [milestone(done=date(2026, 1, 1)), milestone(), milestone()]
    assert technical_progress(ms) == D("33.3")
    ms = [milestone(done=date(2026, 1, 1)), milestone(done=date(2026, 1, 1)), milestone()]
    assert technical_progress(ms) == D("66.6")


def test_progress_all_weights_zero_counts_milestones():
    ms = [milestone(weight=0, done=date(2026, 1, 1)), milestone(weight=0), milestone(weight=0)]
    assert technical_progress(ms) == D("33.3")
    ms = [milestone(weight=0, done=date(2026, 1, 1)), milestone(weight=0, waived=True)]
    assert technical_progress(ms) == D("100.0")


def test_progress_only_100_when_everything_is_closed():
    ms = [milestone(weight=5, done=date(2026, 1, 1)), milestone(weight=0)]
    assert technical_progress(ms) == D("99.9")
    ms = [milestone(weight=999, done=date(2026, 1, 1)), milestone(weight=1)]
    assert technical_progress(ms) == D("99.9")


def test_progress_complete():
    ms = [milestone(weight=2, done=date(2026, 1, 1)), milestone(weight=3, waived=True)]
    assert technical_progress(ms) == D("100.0")


def test_milestone_negative_weight_rejected():
    with pytest.raises(ValueError, match="weight"):
        milestone(weight=-1)


# ----------------------------------------------------------------------------- schedule

TODAY = date(2026, 11, 14)


def test_schedule_no_milestones_is_grey():
    assert schedule_rag([], today=TODAY) == Rag(GREY, "no milestones planned")


def test_schedule_nothing_overdue_is_green():
    ms = [
        milestone(due=TODAY),  # due today is not overdue yet
        milestone(due=date(2026, 1, 1), done=date(2026, 3, 1)),  # done late: done
        milestone(due=date(2026, 1, 1), waived=True),
        milestone(due=date(2027, 1, 1)),
    ]
    assert schedule_rag(ms, today=TODAY) == Rag(GREEN, "no milestone overdue")


def test_schedule_red_names_count_and_oldest():
    ms = [
        milestone("Pilot live", due=date(2026, 11, 1)),
        milestone("Vendor contract signed", due=date(2026, 9, 30)),
        milestone("Done", due=date(2026, 1, 1), done=date(2026, 1, 1)),
    ]
    assert schedule_rag(ms, today=TODAY) == Rag(
        RED,
        "2 milestones overdue, the oldest 'Vendor contract signed' by 45 days "
        "(due 2026-09-30), more than 30 days → red",
    )


def test_schedule_amber_single():
    ms = [milestone("Pilot live", due=date(2026, 11, 13))]
    assert schedule_rag(ms, today=TODAY) == Rag(
        AMBER,
        "1 milestone overdue, 'Pilot live' by 1 day (due 2026-11-13), at most 30 days → amber",
    )


def test_schedule_boundary_at_red_after_days_is_amber():
    ms = [milestone("X", due=TODAY - timedelta(days=30))]
    assert schedule_rag(ms, today=TODAY).colour is AMBER
    ms = [milestone("X", due=TODAY - timedelta(days=31))]
    assert schedule_rag(ms, today=TODAY).colour is RED


def test_schedule_grace_period():
    ms = [milestone("Pilot live", due=TODAY - timedelta(days=3))]
    assert schedule_rag(ms, today=TODAY, amber_after_days=5, red_after_days=20) == Rag(
        GREEN,
        "1 milestone overdue, 'Pilot live' by 3 days (due 2026-11-11), at most 5 days → green",
    )
    ms = [milestone("Pilot live", due=TODAY - timedelta(days=6))]
    assert schedule_rag(ms, today=TODAY, amber_after_days=5, red_after_days=20) == Rag(
        AMBER,
        "1 milestone overdue, 'Pilot live' by 6 days (due 2026-11-08), "
        "more than 5 days and at most 20 days → amber",
    )


def test_schedule_oldest_tie_takes_first_given():
    ms = [milestone("First", due=date(2026, 9, 30)), milestone("Second", due=date(2026, 9, 30))]
    assert "the oldest 'First'" in schedule_rag(ms, today=TODAY).explanation


def test_schedule_rejects_bad_day_limits():
    with pytest.raises(ValueError):
        schedule_rag([milestone()], today=TODAY, amber_after_days=40, red_after_days=30)
    with pytest.raises(ValueError):
        schedule_rag([milestone()], today=TODAY, amber_after_days=-1)


# ----------------------------------------------------------------------------- fiscal years


@pytest.mark.parametrize(
    ("start_month", "month", "fy"),
    [
        (1, date(2026, 1, 1), 2026),
        (1, date(2026, 12, 1), 2026),
        (4, date(2026, 3, 1), 2026),
        (4, date(2026, 4, 1), 2027),
        (4, date(2027, 3, 1), 2027),
        (7, date(2026, 6, 1), 2026),
        (7, date(2026, 7, 1), 2027),
        (10, date(2026, 9, 30), 2026),
        (10, date(2026, 10, 1), 2027),
        (12, date(2026, 12, 1), 2027),
    ],
)
def test_fiscal_year(start_month, month, fy):
    assert fiscal_year(month, start_month=start_month) == fy


@pytest.mark.parametrize(
    ("start_month", "fy", "first", "last", "label"),
    [
        (1, 2026, date(2026, 1, 1), date(2026, 12, 1), "FY2026"),
        (4, 2027, date(2026, 4, 1), date(2027, 3, 1), "FY2026/27"),
        (7, 2027, date(2026, 7, 1), date(2027, 6, 1), "FY2026/27"),
        (10, 2026, date(2025, 10, 1), date(2026, 9, 1), "FY2025/26"),
        (4, 2000, date(1999, 4, 1), date(2000, 3, 1), "FY1999/00"),
    ],
)
def test_fiscal_year_months_and_label(start_month, fy, first, last, label):
    months = fiscal_year_months(fy, start_month=start_month)
    assert len(months) == 12
    assert (months[0], months[-1]) == (first, last)
    assert months == month_range(first, last)
    assert fiscal_year_label(fy, start_month=start_month) == label


@pytest.mark.parametrize("start_month", [0, 13])
def test_fiscal_start_month_validated(start_month):
    with pytest.raises(ValueError):
        fiscal_year(date(2026, 1, 1), start_month=start_month)
    with pytest.raises(ValueError):
        fiscal_year_months(2026, start_month=start_month)
    with pytest.raises(ValueError):
        fiscal_year_label(2026, start_month=start_month)


# ----------------------------------------------------------------------------- series


def test_run_rate_uses_latest_month_up_to_as_of():
    monthly = {
        date(2026, 1, 1): D("100.00"),
        date(2026, 3, 1): D("250.50"),
        date(2026, 6, 1): D("900.00"),
    }
    assert run_rate(monthly, as_of=date(2026, 5, 20)) == D("3006.00")
    assert run_rate(monthly, as_of=date(2026, 6, 1)) == D("10800.00")
    assert run_rate(monthly, as_of=date(2026, 3, 31)) == D("3006.00")


def test_run_rate_nothing_yet():
    assert run_rate({date(2026, 6, 1): D("1")}, as_of=date(2026, 5, 31)) == D("0")
    assert run_rate({}, as_of=date(2026, 5, 31)) == D("0")


def test_run_rate_zero_month_counts():
    monthly = {date(2026, 1, 1): D("100"), date(2026, 2, 1): D("0")}
    assert run_rate(monthly, as_of=date(2026, 2, 1)) == D("0")


def test_totals_by_fiscal_year():
    monthly = {
        date(2026, 3, 1): D("10.00"),
        date(2026, 4, 1): D("20.00"),
        date(2027, 3, 1): D("30.00"),
        date(2025, 12, 1): D("-5.00"),
    }
    assert totals_by_fiscal_year(monthly, start_month=4) == {2026: D("5.00"), 2027: D("50.00")}
    assert list(totals_by_fiscal_year(monthly, start_month=1)) == [2025, 2026, 2027]
    assert totals_by_fiscal_year({}, start_month=7) == {}


# ============================================================================= properties

money = st.decimals(
    min_value=D("-1000000000"),
    max_value=D("1000000000"),
    places=2,
    allow_nan=False,
    allow_infinity=False,
)
positive_money = st.decimals(
    min_value=D("0.01"), max_value=D("1000000000"), places=2, allow_nan=False, allow_infinity=False
)
ratio = st.decimals(
    min_value=D("0.01"), max_value=D("1"), places=2, allow_nan=False, allow_infinity=False
)


@st.composite
def thresholds(draw):
    red_below = draw(ratio)
    green_at = draw(
        st.decimals(
            min_value=red_below, max_value=D("1"), places=2, allow_nan=False, allow_infinity=False
        )
    )
    return Thresholds(green_at=green_at, red_below=red_below)


@PROPERTY
@given(planned=positive_money, a=money, b=money, t=thresholds())
def test_more_benefit_is_never_worse(planned, a, b, t):
    low, high = sorted((a, b))
    assert (
        SEVERITY[benefit(planned, high, thresholds=t).colour]
        <= SEVERITY[benefit(planned, low, thresholds=t).colour]
    )


@PROPERTY
@given(planned=positive_money, a=money, b=money, t=thresholds())
def test_more_cost_is_never_better(planned, a, b, t):
    low, high = sorted((a, b))
    assert (
        SEVERITY[cost(planned, high, thresholds=t).colour]
        >= SEVERITY[cost(planned, low, thresholds=t).colour]
    )


@PROPERTY
@given(p=positive_money, f=positive_money, t=thresholds())
def test_benefit_and_cost_are_symmetric(p, f, t):
    # A benefit at forecast/plan = r is judged like a cost at plan/forecast = r.
    assert benefit(p, f, thresholds=t).colour is cost(f, p, thresholds=t).colour


@PROPERTY
@given(planned=positive_money, forecast=money, actual=money, is_cost=st.booleans(), t=thresholds())
def test_an_actual_never_improves_the_colour(planned, forecast, actual, is_cost, t):
    rag_of = cost if is_cost else benefit
    with_actual = rag_of(planned, forecast, actual, thresholds=t)
    without = rag_of(planned, forecast, thresholds=t)
    assert SEVERITY[with_actual.colour] >= SEVERITY[without.colour]


@PROPERTY
@given(planned=positive_money, forecast=money, t=thresholds())
def test_shown_percentage_agrees_with_the_colour(planned, forecast, t):
    rag = benefit(planned, forecast, thresholds=t)
    shown = D(re.search(r" is (-?[\d.]+) % of plan", rag.explanation).group(1)) / 100
    expected = GREEN if shown >= t.green_at else AMBER if shown >= t.red_below else RED
    assert rag.colour is expected
    assert rag.explanation.endswith(f"→ {rag.colour}")


@PROPERTY
@given(
    lines=st.lists(
        st.builds(
            LineTotals,
            planned=money,
            forecast=money,
            actual=st.none() | money,
            is_cost=st.booleans(),
        ),
        max_size=6,
    ),
    t=thresholds(),
)
def test_combined_colour_is_the_worst_group(lines, t):
    rag = combine_financial(lines, thresholds=t, currency="EUR")
    groups = [[x for x in lines if x.is_cost is c] for c in (False, True)]
    colours = [combine_financial(g, thresholds=t, currency="EUR").colour for g in groups if g]
    assert rag.colour is worst_colour(colours)
    assert rag.explanation.count("; ") >= len(colours) - 1


milestones_st = st.lists(
    st.builds(
        MilestoneFacts,
        title=st.text(min_size=1, max_size=20),
        due_date=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
        done_date=st.none() | st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
        weight=st.integers(min_value=0, max_value=1000),
        waived=st.booleans(),
    ),
    max_size=12,
)


@PROPERTY
@given(ms=milestones_st)
def test_progress_bounds_and_completion(ms):
    progress = technical_progress(ms)
    assert D(0) <= progress <= D(100)
    assert progress == progress.quantize(D("0.1"))
    all_closed = bool(ms) and all(m.done_date is not None or m.waived for m in ms)
    assert (progress == 100) is all_closed


@PROPERTY
@given(ms=milestones_st, today=st.dates(min_value=date(2020, 1, 1), max_value=date(2031, 12, 31)))
def test_schedule_is_grey_only_without_milestones(ms, today):
    rag = schedule_rag(ms, today=today)
    assert (rag.colour is GREY) is (not ms)
    assert rag.explanation


dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))


@PROPERTY
@given(month=dates, start_month=st.integers(min_value=1, max_value=12))
def test_every_month_has_exactly_one_fiscal_year(month, start_month):
    month = month.replace(day=1)
    fy = fiscal_year(month, start_month=start_month)
    assert month in fiscal_year_months(fy, start_month=start_month)
    assert month not in fiscal_year_months(fy - 1, start_month=start_month)
    assert month not in fiscal_year_months(fy + 1, start_month=start_month)
    assert fy in (month.year, month.year + 1)
    assert all(
        fiscal_year(m, start_month=start_month) == fy
        for m in fiscal_year_months(fy, start_month=start_month)
    )


@PROPERTY
@given(
    monthly=st.dictionaries(dates.map(lambda d: d.replace(day=1)), money, max_size=30),
    start_month=st.integers(min_value=1, max_value=12),
)
def test_fiscal_year_totals_add_up(monthly, start_month):
    totals = totals_by_fiscal_year(monthly, start_month=start_month)
    assert sum(totals.values(), D(0)) == sum(monthly.values(), D(0))


@PROPERTY
@given(
    monthly=st.dictionaries(dates.map(lambda d: d.replace(day=1)), money, max_size=30),
    as_of=dates,
)
def test_run_rate_is_twelve_times_a_known_month(monthly, as_of):
    rate = run_rate(monthly, as_of=as_of)
    earlier = [m for m in monthly if m <= as_of.replace(day=1)]
    assert rate == (monthly[max(earlier)] * 12 if earlier else 0)


@PROPERTY
@given(planned=money, forecast=money, actual=st.none() | money, is_cost=st.booleans(),
       t=thresholds())
def test_without_the_sentence_the_colour_is_the_same(planned, forecast, actual, is_cost, t):
    kwargs = {"planned": planned, "forecast": forecast, "actual": actual,
              "is_cost": is_cost, "thresholds": t, "currency": "EUR"}
    plain = financial_rag(**kwargs, explain=False)
    assert plain.colour is financial_rag(**kwargs).colour
    if plain.colour is not GREY:
        assert plain.explanation == ""
    lines = [LineTotals(planned=planned, forecast=forecast, actual=actual, is_cost=is_cost),
             LineTotals(planned=planned, forecast=actual or forecast, is_cost=not is_cost)]
    assert (combine_financial(lines, thresholds=t, currency="EUR", explain=False).colour
            is combine_financial(lines, thresholds=t, currency="EUR").colour)

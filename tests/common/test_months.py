"""Months and month keys (cat4/common/months.py): examples and properties. No database."""

from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cat4.common.months import (
    add_months,
    first_of_month,
    month_key,
    month_range,
    parse_month_key,
)

# No example database: nothing is written into the working tree.
PROPERTY = settings(deadline=None, database=None, max_examples=200)


def test_month_range_across_year_boundary():
    assert month_range(date(2026, 11, 15), date(2027, 2, 3)) == [
        date(2026, 11, 1),
        date(2026, 12, 1),
        date(2027, 1, 1),
        date(2027, 2, 1),
    ]


def test_month_range_single_month_and_empty():
    assert month_range(date(2026, 5, 31), date(2026, 5, 1)) == [date(2026, 5, 1)]
    assert month_range(date(2026, 5, 1), date(2026, 4, 30)) == []


def test_first_of_month():
    assert first_of_month(date(2026, 2, 28)) == date(2026, 2, 1)
    assert first_of_month(datetime(2026, 2, 28, 23, 59)) == date(2026, 2, 1)
    assert type(first_of_month(datetime(2026, 2, 28, 23, 59))) is date


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 11, 15), 1, date(2026, 12, 1)),
        (date(2026, 11, 15), 2, date(2027, 1, 1)),
        (date(2026, 1, 31), -1, date(2025, 12, 1)),
        (date(2026, 3, 1), -24, date(2024, 3, 1)),
        (date(2026, 3, 1), 0, date(2026, 3, 1)),
    ],
)
def test_add_months(day, months, expected):
    assert add_months(day, months) == expected


@pytest.mark.parametrize(
    ("key", "month"),
    [
        ("2026-03", date(2026, 3, 1)),
        ("2026-12", date(2026, 12, 1)),
        ("0001-01", date(1, 1, 1)),
        ("2026-3", date(2026, 3, 1)),
        ("2026-13", None),
        ("2026-00", None),
        ("0000-05", None),
        ("March", None),
        ("2026-03-01", None),
        ("26-03", None),
        (" 2026-03", None),
        ("2026-03\n", None),
        ("+2026-03", None),
        ("2026-003", None),
        ("", None),
        (None, None),
        (202603, None),
    ],
)
def test_parse_month_key(key, month):
    assert parse_month_key(key) == month


@pytest.mark.parametrize(("key", "month"), [("2026-03", date(2026, 3, 1)), ("2026-3", None),
                                            ("2026-13", None)])
def test_parse_month_key_zero_padded(key, month):
    assert parse_month_key(key, zero_padded=True) == month


def test_month_key():
    assert month_key(date(2026, 3, 1)) == "2026-03"
    assert month_key(date(2026, 3, 31)) == "2026-03"
    assert month_key(date(999, 3, 1)) == "0999-03"


# ============================================================================= properties

dates = st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))


@PROPERTY
@given(start=dates, end=dates)
def test_month_range_length(start, end):
    months = month_range(start, end)
    between = (end.year - start.year) * 12 + end.month - start.month
    assert len(months) == max(between + 1, 0)
    assert all(m.day == 1 for m in months)
    assert months == sorted(set(months))
    if months:
        assert (months[0], months[-1]) == (start.replace(day=1), end.replace(day=1))


@PROPERTY
@given(day=st.dates(min_value=date(1300, 1, 1), max_value=date(9700, 12, 31)),
       a=st.integers(min_value=-1200, max_value=1200),
       b=st.integers(min_value=-1200, max_value=1200))
def test_adding_months_adds_up(day, a, b):
    assert add_months(add_months(day, a), b) == add_months(day, a + b)
    assert add_months(day, a).day == 1
    assert add_months(add_months(day, a), -a) == first_of_month(day)
    assert len(month_range(day, add_months(day, a))) == max(a + 1, 0)


@PROPERTY
@given(day=dates)
def test_a_month_key_reads_back(day):
    key = month_key(day)
    assert parse_month_key(key) == first_of_month(day)
    assert parse_month_key(key, zero_padded=True) == first_of_month(day)


@PROPERTY
@given(text=st.text(max_size=12))
def test_any_text_is_a_month_or_none(text):
    month = parse_month_key(text)
    assert month is None or (month.day == 1 and parse_month_key(month_key(month)) == month)


@PROPERTY
@given(year=st.integers(min_value=0, max_value=9999), month=st.integers(min_value=0, max_value=99))
def test_digits_are_a_month_only_from_1_to_12(year, month):
    parsed = parse_month_key(f"{year:04d}-{month:02d}")
    assert (parsed is not None) == (year >= 1 and 1 <= month <= 12)
    if parsed is not None:
        assert (parsed.year, parsed.month, parsed.day) == (year, month, 1)

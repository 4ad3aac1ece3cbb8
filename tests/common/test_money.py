"""Money text (cat4/common/money.py): examples and properties. No database."""

import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cat4.common.money import format_money

D = Decimal

# No example database: nothing is written into the working tree.
PROPERTY = settings(deadline=None, database=None, max_examples=200)

money = st.decimals(
    min_value=D("-1000000000"),
    max_value=D("1000000000"),
    places=2,
    allow_nan=False,
    allow_infinity=False,
)


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("1200000", "EUR 1.20 M"),
        ("45000", "EUR 45.0 k"),
        ("950", "EUR 950"),
        ("0", "EUR 0"),
        ("0.00", "EUR 0"),
        ("12.50", "EUR 13"),  # half up
        ("1000", "EUR 1.0 k"),
        ("999.49", "EUR 999"),
        ("999.5", "EUR 1.0 k"),  # the unit is chosen after rounding
        ("999949", "EUR 999.9 k"),
        ("999960", "EUR 1.00 M"),
        ("1005000", "EUR 1.01 M"),
        ("2500000000", "EUR 2.50 bn"),
        ("1234567890123", "EUR 1,234.57 bn"),
        ("-45000", "-EUR 45.0 k"),
        ("-1200000", "-EUR 1.20 M"),
        ("-950", "-EUR 950"),
        ("-0.4", "EUR 0"),  # no minus on something that shows as zero
    ],
)
def test_format_money(amount, text):
    assert format_money(D(amount), "EUR") == text


def test_format_money_other_currency():
    assert format_money(D("45000"), "USD") == "USD 45.0 k"


def test_format_money_rejects_float_and_nan():
    with pytest.raises(TypeError):
        format_money(1.5, "EUR")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        format_money(D("NaN"), "EUR")


@PROPERTY
@given(amount=money)
def test_format_money_sign_and_shape(amount):
    text = format_money(amount, "EUR")
    assert re.fullmatch(r"-?EUR [\d,]+(\.\d+)?( (k|M|bn))?", text)
    assert text.startswith("-") == (amount <= D("-0.5"))

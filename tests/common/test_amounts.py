"""The amount parser (cat4/common/amounts.py): the messages of each refusal, and
properties. No database."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cat4.common.amounts import MONEY, AmountRules, parse_amount
from cat4.common.exceptions import ApplicationError

D = Decimal

# No example database: nothing is written into the working tree.
PROPERTY = settings(deadline=None, database=None, max_examples=200)

# Signed, 4 places, no refusal of other types or commas: as kpis.services.KPI_NUMBER.
SIGNED = AmountRules(places=4, not_text="as text", not_a_number="“{raw}” is not a number.",
                     not_finite="too large", too_large="too large", too_precise="too precise")


@pytest.mark.parametrize(
    ("raw", "amount"),
    [("12.50", D("12.50")), (" 7 ", D(7)), ("0", D(0)), (42, D(42)), (D("1.5"), D("1.5")),
     ("99999999999999.99", D("99999999999999.99")), ("1E+2", D(100))],
)
def test_money(raw, amount):
    assert parse_amount(raw, field="amount") == amount


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (1.5, "Send amounts as decimal strings, e.g. \"12.50\", not as numbers."),
        (True, "Send amounts as decimal strings, e.g. \"12.50\", not as numbers."),
        ([1], "Send amounts as decimal strings."),
        (None, "Send amounts as decimal strings."),
        ("1,5", "Use a dot for decimals and no thousands separators, e.g. 1250.50."),
        ("abc", "“abc” is not an amount."),
        ("", "“” is not an amount."),
        ("NaN", "“NaN” is not an amount."),
        ("-Infinity", "“-Infinity” is not an amount."),
        ("-1.00", "Amounts cannot be negative."),
        ("1.234", "Use at most 14 digits and 2 decimal places."),
        ("100000000000000", "Use at most 14 digits and 2 decimal places."),
        ("99999999999999.999", "Use at most 14 digits and 2 decimal places."),
    ],
)
def test_money_refusals_name_the_field(raw, message):
    with pytest.raises(ApplicationError) as refused:
        parse_amount(raw, field="values.2026-03")
    assert (refused.value.message, refused.value.field) == (message, "values.2026-03")
    assert refused.value.status_code == 400


@pytest.mark.parametrize(
    ("raw", "outcome"),
    [("-41.5", D("-41.5")), ("1.2345", D("1.2345")), (None, "“None” is not a number."),
     ("1,5", "“1,5” is not a number."), ("1.23456", "too precise"), ("NaN", "too large"),
     ("1" + "0" * 15, "too large"), (0.5, "as text"), ([1], "“[1]” is not a number.")],
)
def test_rules_switch_refusals(raw, outcome):
    if isinstance(outcome, Decimal):
        assert parse_amount(raw, field="value", rules=SIGNED) == outcome
        return
    with pytest.raises(ApplicationError, match=outcome.replace("[", r"\[")):
        parse_amount(raw, field="value", rules=SIGNED)


def test_maximum_and_step():
    assert MONEY.maximum == D("99999999999999.99") and MONEY.step == D("0.01")
    assert SIGNED.maximum == D("99999999999999.9999") and SIGNED.step == D("0.0001")


# ============================================================================= properties

amounts = st.decimals(min_value=D(0), max_value=MONEY.maximum, places=2, allow_nan=False,
                      allow_infinity=False)


@PROPERTY
@given(amount=amounts)
def test_an_amount_reads_back_exactly(amount):
    assert parse_amount(f"{amount:f}", field="x") == amount
    assert parse_amount(amount, field="x") == amount


@PROPERTY
@given(whole=st.integers(min_value=0, max_value=10**14 - 1))
def test_whole_numbers_are_exact(whole):
    assert parse_amount(whole, field="x") == D(whole)


@PROPERTY
@given(text=st.text(max_size=20))
def test_any_text_is_an_amount_or_a_refusal_on_the_field(text):
    try:
        amount = parse_amount(text, field="x")
    except ApplicationError as refused:
        assert refused.field == "x" and refused.message
    else:
        assert amount.is_finite() and 0 <= amount <= MONEY.maximum
        assert amount == amount.quantize(MONEY.step)

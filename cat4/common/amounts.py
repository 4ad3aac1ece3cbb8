"""The one parser of amounts typed or sent by people: text (or a whole number, or a
``Decimal``) to an exact ``Decimal``, never through a float. What an amount may look like
(decimals, size, sign) and the words for each refusal are ``AmountRules``."""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from .exceptions import ApplicationError

__all__ = ["MONEY", "AmountRules", "parse_amount"]


@dataclass(frozen=True, kw_only=True)
class AmountRules:
    """What an amount may look like, and what to say when it does not.

    ``not_a_number`` and ``not_finite`` may name the input as ``{raw}``. Each of the
    optional messages switches a refusal on: ``below_zero`` refuses negative amounts,
    ``other_type`` anything but text, whole numbers and ``Decimal`` (otherwise such input
    is read as its text), ``comma`` a comma (otherwise a comma is simply not a number).
    """

    places: int
    digits: int = 14
    not_text: str
    not_a_number: str
    not_finite: str
    too_large: str
    too_precise: str
    below_zero: str | None = None
    other_type: str | None = None
    comma: str | None = None

    @property
    def maximum(self) -> Decimal:
        """The largest amount: ``digits`` nines before the point, ``places`` after."""
        return Decimal(10) ** self.digits - Decimal(1).scaleb(-self.places)

    @property
    def step(self) -> Decimal:
        return Decimal(1).scaleb(-self.places)


# Money: at least 0, at most 14 digits and 2 decimal places (MonthlyValue.amount).
MONEY = AmountRules(
    places=2,
    not_text="Send amounts as decimal strings, e.g. \"12.50\", not as numbers.",
    other_type="Send amounts as decimal strings.",
    comma="Use a dot for decimals and no thousands separators, e.g. 1250.50.",
    not_a_number="“{raw}” is not an amount.",
    not_finite="“{raw}” is not an amount.",
    below_zero="Amounts cannot be negative.",
    too_large="Use at most 14 digits and 2 decimal places.",
    too_precise="Use at most 14 digits and 2 decimal places.",
)


def parse_amount(raw: object, *, field: str, rules: AmountRules = MONEY) -> Decimal:
    """``raw`` as a ``Decimal`` that fits ``rules``, or ApplicationError on ``field``.

    Floats and booleans are refused (a float is not exact); whole numbers are exact and
    read as their digits.
    """
    if isinstance(raw, (bool, float)):
        raise ApplicationError(rules.not_text, field=field)
    if rules.other_type is not None and not isinstance(raw, (str, int, Decimal)):
        raise ApplicationError(rules.other_type, field=field)
    text = str(raw).strip()
    if rules.comma is not None and "," in text:
        # "1,5" is 1.5 in much of Europe and 15 in the US: refuse rather than guess.
        raise ApplicationError(rules.comma, field=field)
    try:
        amount = Decimal(text)
    except (InvalidOperation, ValueError) as exc:
        raise ApplicationError(rules.not_a_number.format(raw=raw), field=field) from exc
    if not amount.is_finite():
        raise ApplicationError(rules.not_finite.format(raw=raw), field=field)
    if amount < 0 and rules.below_zero is not None:
        raise ApplicationError(rules.below_zero, field=field)
    if abs(amount) > rules.maximum:
        raise ApplicationError(rules.too_large, field=field)
    if amount != amount.quantize(rules.step):
        raise ApplicationError(rules.too_precise, field=field)
    return amount

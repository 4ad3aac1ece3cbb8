"""Money shown as compact text (``EUR 1.20 M``), the same on every page, export and
board pack. Pure: ``Decimal`` only."""

from decimal import ROUND_HALF_UP, Decimal

from .decimals import CONTEXT, ONE, require_decimal

__all__ = ["format_money"]

# (unit value, suffix, decimal places), largest first.
_MONEY_UNITS: tuple[tuple[Decimal, str, int], ...] = (
    (Decimal(10) ** 9, "bn", 2),
    (Decimal(10) ** 6, "M", 2),
    (Decimal(10) ** 3, "k", 1),
    (ONE, "", 0),
)


def format_money(amount: Decimal, currency: str) -> str:
    """Compact money text: ``EUR 1.20 M``, ``EUR 45.0 k``, ``EUR 950``, ``-EUR 45.0 k``.

    Units are k (1 decimal), M and bn (2 decimals); below 1,000 whole units. Rounds half
    up; the unit is chosen after rounding, so 999,960 is ``EUR 1.00 M``, not ``1000.0 k``.
    """
    require_decimal("amount", amount)
    magnitude = abs(amount)
    index = next(
        (i for i, (unit, _, _) in enumerate(_MONEY_UNITS) if magnitude >= unit),
        len(_MONEY_UNITS) - 1,
    )
    scaled = _scale(magnitude, index)
    if index > 0 and scaled * _MONEY_UNITS[index][0] >= _MONEY_UNITS[index - 1][0]:
        index -= 1  # rounding reached the next unit up (999.96 k -> 1.00 M)
        scaled = _scale(magnitude, index)
    suffix = _MONEY_UNITS[index][1]
    number = f"{scaled:,f}" if suffix == "bn" else f"{scaled:f}"
    sign = "-" if amount < 0 and scaled != 0 else ""
    return f"{sign}{currency} {number} {suffix}" if suffix else f"{sign}{currency} {number}"


def _scale(magnitude: Decimal, index: int) -> Decimal:
    unit, _, places = _MONEY_UNITS[index]
    return CONTEXT.divide(magnitude, unit).quantize(
        Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP, context=CONTEXT
    )

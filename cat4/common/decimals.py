"""Decimal arithmetic shared by the pure calculations: one fixed context and the check
that an input is a finite ``Decimal``."""

from decimal import ROUND_HALF_EVEN, Context, Decimal

# One fixed context for every division and rounding, so results never depend on the
# caller's thread-local decimal context. 50 digits is far beyond any money amount.
CONTEXT = Context(prec=50, rounding=ROUND_HALF_EVEN)
ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)


def require_decimal(name: str, value: object) -> None:
    """Refuse anything but a finite ``Decimal`` (TypeError, or ValueError for NaN and
    infinity), naming the input."""
    if not isinstance(value, Decimal):
        raise TypeError(f"{name} must be a Decimal, not {type(value).__name__}")
    if not value.is_finite():
        raise ValueError(f"{name} must be a finite number, got {value}")

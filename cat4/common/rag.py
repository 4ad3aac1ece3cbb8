"""Status colours (RAG) and the words that explain them, shared by initiatives, KPIs and
the reports. Pure: no ORM, ``Decimal`` only.

Every colour carries a sentence that states the inputs, the rule and the result, e.g.
``"forecast EUR 1.20 M is 75 % of plan EUR 1.60 M, below 85 % → red"``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from .decimals import CONTEXT, HUNDRED, ONE, ZERO, require_decimal

__all__ = [
    "Rag",
    "RagColour",
    "Thresholds",
    "apply_staleness",
    "percent_text",
    "ratio_rule",
    "worst_colour",
]


class RagColour(enum.StrEnum):
    """Status colour. GREY means "cannot be judged" (nothing to compare with)."""

    GREEN = "green"
    AMBER = "amber"
    RED = "red"
    GREY = "grey"


# Badness order for combining; GREY is not on the scale.
_SEVERITY = {RagColour.GREEN: 0, RagColour.AMBER: 1, RagColour.RED: 2}


@dataclass(frozen=True)
class Rag:
    """A colour and the sentence that explains it."""

    colour: RagColour
    explanation: str


def worst_colour(colours: Iterable[RagColour]) -> RagColour:
    """The worst of ``colours`` (red > amber > green); GREY only if nothing else is given."""
    judged = [c for c in colours if c is not RagColour.GREY]
    if not judged:
        return RagColour.GREY
    return max(judged, key=_SEVERITY.__getitem__)


@dataclass(frozen=True, kw_only=True)
class Thresholds:
    """Ratio limits: green at or above ``green_at``, red below ``red_below``, amber between.

    Requires ``0 < red_below <= green_at <= 1``.
    """

    green_at: Decimal = Decimal("0.95")
    red_below: Decimal = Decimal("0.85")

    def __post_init__(self) -> None:
        require_decimal("green_at", self.green_at)
        require_decimal("red_below", self.red_below)
        if not (ZERO < self.red_below <= self.green_at <= ONE):
            raise ValueError(
                f"thresholds need 0 < red_below <= green_at <= 1, got red_below "
                f"{self.red_below} and green_at {self.green_at}"
            )


def _threshold_text(ratio: Decimal) -> str:
    """A configured ratio as a percentage, with only the decimals it needs (95, 87.5)."""
    return f"{(ratio * HUNDRED).normalize(context=CONTEXT):f}"


def ratio_rule(ratio: Decimal, thresholds: Thresholds) -> tuple[RagColour, str]:
    """Colour of a ratio (higher is better) and the rule text that gave it."""
    green = _threshold_text(thresholds.green_at)
    red = _threshold_text(thresholds.red_below)
    if ratio >= thresholds.green_at:
        return RagColour.GREEN, f"at or above {green} %"
    if ratio >= thresholds.red_below:
        return RagColour.AMBER, f"between {red} % and {green} %"
    return RagColour.RED, f"below {red} %"


def percent_text(ratio: Decimal, *, boundaries: Iterable[Decimal]) -> str:
    """``ratio`` as a percentage that never lands on the wrong side of a boundary.

    Whole percent when that is faithful (``75``); otherwise one decimal, rounded away
    from the nearest boundary if needed (0.94996 -> ``94.9`` next to 95 %); more decimals
    only when boundaries are closer together than that.
    """
    value = ratio * HUNDRED
    limits = [b * HUNDRED for b in boundaries]

    def side(x: Decimal, limit: Decimal) -> int:
        return (x > limit) - (x < limit)

    def faithful(shown: Decimal) -> bool:
        return all(side(shown, limit) == side(value, limit) for limit in limits)

    nearest = min(limits, key=lambda limit: abs(value - limit), default=value)
    away = ROUND_FLOOR if value < nearest else ROUND_CEILING
    for places in range(7):
        step = Decimal(1).scaleb(-places)
        modes = (ROUND_HALF_UP,) if places == 0 else (ROUND_HALF_UP, away)
        for mode in modes:
            shown = value.quantize(step, rounding=mode, context=CONTEXT)
            if faithful(shown):
                return f"{shown:f}"
    return f"{value.normalize(context=CONTEXT):f}"


def apply_staleness(rag: Rag, *, stale: bool, last_update: date | None) -> Rag:
    """A stale status never shows green: green becomes amber and says why.

    Other colours, and anything not stale, are returned unchanged.
    """
    if not stale or rag.colour is not RagColour.GREEN:
        return rag
    reason = (
        "no status update yet"
        if last_update is None
        else f"last update on {last_update.isoformat()} is overdue"
    )
    return Rag(RagColour.AMBER, f"{rag.explanation}; {reason}, so not green")

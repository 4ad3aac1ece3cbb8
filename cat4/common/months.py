"""Months: a month is the date of its first day, and ``"2026-03"`` is its key in URLs,
form fields, JSON bodies and files. Pure: no ORM."""

import re
from datetime import date

__all__ = ["add_months", "first_of_month", "month_key", "month_range", "parse_month_key"]

_MONTH_KEY = re.compile(r"(\d{4})-(\d{1,2})")


def first_of_month(day: date) -> date:
    """The first day of ``day``'s month (a datetime gives its date's month)."""
    return date(day.year, day.month, 1)


def _index(day: date) -> int:
    return day.year * 12 + day.month - 1


def _from_index(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


def add_months(day: date, months: int) -> date:
    """The first day of the month ``months`` after ``day``'s month (negative: before)."""
    return _from_index(_index(day) + months)


def month_range(start: date, end: date) -> list[date]:
    """First-of-month dates from ``start``'s month to ``end``'s month, both included.

    ``end`` in an earlier month than ``start`` -> ``[]``.
    """
    return [_from_index(i) for i in range(_index(start), _index(end) + 1)]


def month_key(month: date) -> str:
    """``date(2026, 3, 1)`` -> ``"2026-03"``, the key ``parse_month_key`` reads."""
    return f"{month.year:04d}-{month.month:02d}"


def parse_month_key(text: str, *, zero_padded: bool = False) -> date | None:
    """``"2026-03"`` -> ``date(2026, 3, 1)``; anything else -> None.

    A four-digit year (1 or later), a dash and the month 1 to 12, nothing around them.
    ``"2026-3"`` is read too, unless ``zero_padded`` asks for the two digits of the key
    that ``month_key`` writes (the API's keys).
    """
    match = _MONTH_KEY.fullmatch(text) if isinstance(text, str) else None
    if match is None or (zero_padded and len(match.group(2)) != 2):
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if year < 1 or not 1 <= month <= 12:
        return None
    return date(year, month, 1)

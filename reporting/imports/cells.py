"""Parsing one cell of a row into a value (text, date, month, amount, yes/no, a choice,
the cadence); ``CellProblem`` names the column and says what is wrong, in plain words."""

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from cat4.common.months import parse_month_key

ISO_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")
ISO_MONTH = re.compile(r"^\d{4}-\d{1,2}$")


class CellProblem(Exception):
    def __init__(self, column: str, message: str):
        super().__init__(message)
        self.column = column
        self.message = message


def _show(value) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def cell_text(raw: dict, column: str, *, required: bool, max_length: int | None = None) -> str:
    value = raw.get(column)
    if value is None:
        if required:
            raise CellProblem(column, f"{column} is empty.")
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = _show(value).strip()
    if max_length and len(text) > max_length:
        raise CellProblem(column, f"{column} is longer than {max_length} characters.")
    return text


def cell_date(raw: dict, column: str) -> dt.date:
    value = raw.get(column)
    if value is None:
        raise CellProblem(column, f"{column} is empty.")
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise CellProblem(column, f"{column} {_show(value)} is a number, not a date like "
                                  "2026-06-30; format the cell as a date.")
    text = str(value).strip()
    if ISO_DATE.match(text):
        try:
            return dt.date.fromisoformat("-".join(p.zfill(2) for p in text.split("-")))
        except ValueError:
            pass
    raise CellProblem(column, f"{column} {text} is not a date like 2026-06-30.")


def cell_month(raw: dict) -> dt.date:
    value = raw.get("month")
    if value is None:
        raise CellProblem("month", "month is empty.")
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        if value.day != 1:
            raise CellProblem("month", f"month {value.isoformat()} is a day, not a month; "
                                       f"write {value:%Y-%m}.")
        return value
    text = str(value).strip()
    month = parse_month_key(text) if ISO_MONTH.match(text) else None
    if month is not None:
        return month
    raise CellProblem("month", f"month {text} is not a month like 2026-07.")


def cell_amount(raw: dict) -> Decimal:
    value = raw.get("amount")
    if value is None:
        raise CellProblem("amount", "amount is empty; give 0 or leave the row out.")
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str)):
        raise CellProblem("amount", f"amount {_show(value)} is not a number.")
    if isinstance(value, (int, float)):
        amount = Decimal(str(value))
        text = str(value)
    else:
        text = str(value).strip()
        if "," in text:
            raise CellProblem("amount", f"amount “{text}” is text with a comma; type the "
                                        "number without thousands separators and with a "
                                        "dot for decimals, e.g. 1250.50.")
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise CellProblem("amount", f"amount “{text}” is not a number.") from None
    if amount.is_finite() and amount < 0:
        raise CellProblem("amount", f"amount {text} is negative; amounts are at least 0.")
    return amount


YES = {"yes", "y", "true", "1", "x"}
NO = {"no", "n", "false", "0"}


def cell_recurring(raw: dict) -> bool | None:
    value = raw.get("recurring")
    if value is None:
        return None
    text = _show(int(value) if isinstance(value, float) and value.is_integer() else value)
    text = text.strip().casefold()
    if text in YES:
        return True
    if text in NO:
        return False
    raise CellProblem("recurring", f"recurring “{text}” is not yes or no.")


def cell_choice(raw: dict, column: str, choices) -> str:
    text = cell_text(raw, column, required=True)
    wanted = text.casefold().replace(" ", "_").replace("-", "_")
    for choice in choices:
        if wanted in {choice.value, choice.label.casefold().replace(" ", "_")}:
            return choice.value
    allowed = ", ".join(choices.values)
    raise CellProblem(column, f"{column} “{text}” is not one of {allowed}.")


def cell_cadence(raw: dict):
    value = raw.get("update_cadence_days")
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        text = value.strip()
        if "," in text:
            raise CellProblem("update_cadence_days", f"update_cadence_days “{text}” is text "
                                                     "with a comma; type 7, 14, 30 or 91.")
        if text.isdigit():
            value = int(text)
    return value  # the service checks it is one of the cadences


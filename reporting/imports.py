"""The Excel import of initiatives and their monthly values (issue #5).

One code path for every file: ``import_upload`` checks the file as a whole (type, size,
sheets, headers, formulas, row count) and stores an ImportJob; ``run_job`` then does the
dry run (``CHECKING`` -> ``CHECKED``: a row-level report, nothing written) or the import
(``IMPORTING`` -> ``IMPORTED``). Small files run it inline, large ones in the Celery task
``reporting.run_import``; either way progress is committed as it goes.

Rules (docs/architecture.md, "Excel import"):
- Every name, email and code is resolved inside the organisation only; another
  organisation's program, member or initiative "does not exist".
- Rows are checked by the same rules the services apply (``initiative_fields_check``,
  ``parse_values``, ``value_kind_editable``, ``can_edit_values``), and written through
  the services themselves (``initiative_create``, ``initiative_update``,
  ``impact_line_create``, ``monthly_values_set``), so permissions and the audit history
  apply.
- Idempotent by initiative code: an initiative whose fields and values already match is
  "unchanged" and nothing is written (no history row either).
- "Everything" is all or nothing (one transaction) and only allowed after a clean dry
  run; "only the valid rows" writes one initiative (with its valid values rows) per
  transaction. A rejected values row is rejected on its own; a rejected initiative row
  rejects its values rows too.
"""

import datetime as dt
import io
import logging
import re
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import openpyxl
import pghistory
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from cat4.common.exceptions import ApplicationError, NotFoundError, PermissionDeniedError
from cat4.common.locks import try_org_job_lock
from cat4.tenancy.models import Membership, Organization, Role
from cat4.tenancy.scoping import acting_in_org
from cat4.tenancy.selectors import member_list, membership_for
from initiatives import permissions as initiative_permissions
from initiatives import services as initiative_services
from initiatives.forms import parse_month_key
from initiatives.models import (
    BusinessUnit,
    Cadence,
    Function,
    ImpactCategory,
    ImpactLine,
    Initiative,
    MonthlyValue,
    Program,
    Stage,
    ValueKind,
)

from .models import ImportJob, ImportMode, ImportStatus

logger = logging.getLogger(__name__)

MAX_BYTES = 10 * 1024 * 1024  # the upload
MAX_UNPACKED_BYTES = 200 * 1024 * 1024  # what the zip inside would unpack to
MAX_ROWS = 20_000  # data rows over both sheets
# Files with more data rows than this are checked and imported by the Celery job.
INLINE_MAX_ROWS = 200
PROGRESS_EVERY = 100  # rows between two progress commits

INITIATIVES = "Initiatives"
VALUES = "Values"


@dataclass(frozen=True)
class Column:
    name: str
    required: bool  # the column must be in the header row
    help: str
    width: int = 16


INITIATIVE_COLUMNS = [
    Column("code", True, "Required. Unique in the organisation, e.g. NW-042 (at most 20 "
           "characters). Importing a code that exists updates that initiative.", 12),
    Column("title", True, "Required. At most 200 characters.", 36),
    Column("description", False, "Optional. An empty cell clears the description.", 40),
    Column("program", True, "Required. The name of an existing program (sheet Lists).", 24),
    Column("owner_email", True, "Required. The email of a member of the organisation.", 28),
    Column("sponsor_email", False, "Optional. A member who is not a viewer (sponsors "
           "approve gates). An empty cell means no sponsor.", 28),
    Column("controller_email", False, "Optional. A member with the controller role. An "
           "empty cell means no controller.", 28),
    Column("business_unit", False, "Optional. The name of an existing business unit.", 20),
    Column("function", False, "Optional. The name of an existing function.", 20),
    Column("start_date", True, "Required. A date cell, or text like 2026-01-01.", 14),
    Column("target_date", True, "Required. A date cell, or text like 2026-12-31; not "
           "before start_date.", 14),
    Column("update_cadence_days", False, "Optional. 7, 14, 30 or 91 days between status "
           "updates. Empty keeps the current cadence (30 for a new initiative).", 12),
]
VALUE_COLUMNS = [
    Column("code", True, "Required. An initiative code from the Initiatives sheet or one "
           "that already exists in cat4.", 12),
    Column("line", True, "Required. The impact line's description, e.g. Freight rates. A "
           "new description adds a line to the initiative.", 30),
    Column("category", True, "Required. cost_reduction, revenue_increase, cost_avoidance "
           "or one_time_cost; must match the line's category if it exists.", 18),
    Column("recurring", False, "Optional. yes or no (default yes).", 10),
    Column("month", True, "Required. The month as text like 2026-07 (or a date cell on "
           "the 1st), inside the initiative's start and target dates.", 10),
    Column("kind", True, "Required. planned (until the Decided gate), forecast (from "
           "Decided on) or actual (from Implemented on).", 10),
    Column("amount", True, "Required. A number of at least 0 with at most 2 decimals; no "
           "thousands separators.", 14),
]
COLUMNS = {INITIATIVES: INITIATIVE_COLUMNS, VALUES: VALUE_COLUMNS}
REASON = "reason"


def can_import(*, membership: Membership | None) -> bool:
    """Admins (the transformation office) only. Executives see everything but do not
    create initiatives (initiatives.permissions.can_create_initiative), which is what an
    import does; owners create only initiatives of their own, one at a time."""
    return membership is not None and membership.role == Role.ADMIN


class FileProblem(ApplicationError):
    """The file as a whole cannot be read: shown on the upload field."""

    def __init__(self, message: str):
        super().__init__(message, field="file")


# --- Template ---------------------------------------------------------------------

HEADER_FILL = PatternFill("solid", fgColor="1F3A5F")
HEADER_FONT = Font(bold=True, color="FFFFFF")


def _header(ws, columns, *, with_reason: bool = False) -> None:
    names = [c.name for c in columns] + ([REASON] if with_reason else [])
    ws.append(names)
    for index, column in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=index)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.comment = Comment(column.help, "cat4", width=260, height=110)
        ws.column_dimensions[get_column_letter(index)].width = column.width
    if with_reason:
        cell = ws.cell(row=1, column=len(names))
        cell.font = Font(bold=True, color="9C0006")
        ws.column_dimensions[get_column_letter(len(names))].width = 60
    ws.freeze_panes = "A2"


def _column_letter(columns, name: str) -> str:
    return get_column_letter([c.name for c in columns].index(name) + 1)


def _list_validation(ws, columns, name: str, formula: str, *, strict: bool) -> None:
    validation = DataValidation(type="list", formula1=formula, allow_blank=True,
                                showErrorMessage=True,
                                errorStyle="stop" if strict else "warning",
                                error=f"Choose a {name} from the list.")
    letter = _column_letter(columns, name)
    validation.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
    ws.add_data_validation(validation)


INSTRUCTIONS = [
    "How to import initiatives into cat4",
    "",
    "1. Fill in the sheet Initiatives: one row per initiative. The first row names the "
    "columns; hover over a column name for help. Do not rename the columns.",
    "2. Optionally fill in the sheet Values: one row per impact line, month and kind "
    "(planned, forecast or actual) with its amount.",
    "3. Paste values only: cells with formulas are refused.",
    "4. Upload the file on the Imports page. The dry run lists every problem with its sheet, "
    "row and column; nothing is written yet.",
    "5. Then import everything (only when the dry run is clean) or only the valid rows, and "
    "download the rejected rows with a reason column to fix and upload again.",
    "",
    "Rules",
    "- Programs, business units, functions and people are looked up by name and email in "
    "this organisation (sheet Lists); they must exist already.",
    "- Importing the same file twice changes nothing: initiatives are matched by code and "
    "only different values are written.",
    "- Planned values are frozen from the Decided gate on; forecasts are entered from "
    "Decided on, actuals from Implemented on. A new initiative starts at Identified, so "
    "it takes planned values only.",
    "- Dates: date cells, or text like 2026-06-30. Amounts: numbers with a dot for "
    "decimals, no thousands separators. Months: text like 2026-07.",
    f"- At most {MAX_ROWS:,} rows and {MAX_BYTES // 1048576} MB per file.",
    "",
    "Example (Initiatives): NW-042 | Freight tender | … | Logistics | owner@example.com | … "
    "| 2026-01-01 | 2026-12-31 | 30",
    "Example (Values): NW-042 | Freight rates | cost_reduction | yes | 2026-03 | planned | "
    "12500",
]


def template_workbook(*, organization: Organization) -> bytes:
    """The template: Instructions, Initiatives, Values and the organisation's Lists
    (programs, business units, functions, members) that the data validations use."""
    with scope(organization=organization):
        programs = list(Program.objects.filter(organization=organization)
                        .order_by("name").values_list("name", flat=True))
        units = list(BusinessUnit.objects.filter(organization=organization)
                     .order_by("name").values_list("name", flat=True))
        functions = list(Function.objects.filter(organization=organization)
                         .order_by("name").values_list("name", flat=True))
        members = list(member_list(organization=organization)
                       .order_by("user__email").values_list("user__email", "role"))
    wb = openpyxl.Workbook()
    intro = wb.active
    intro.title = "Instructions"
    intro.column_dimensions["A"].width = 120
    for line in INSTRUCTIONS:
        intro.append([line])
    intro["A1"].font = Font(bold=True, size=14)
    intro["A9"].font = Font(bold=True)
    for row in intro.iter_rows():
        row[0].alignment = Alignment(wrap_text=True, vertical="top")

    lists = wb.create_sheet("Lists")
    emails = [e for e, _ in members]
    sponsors = [e for e, role in members if role != Role.VIEWER]
    controllers = [e for e, role in members if role == Role.CONTROLLER]
    named = {"program": programs, "business_unit": units, "function": functions,
             "owner_email": emails, "sponsor_email": sponsors,
             "controller_email": controllers}
    ranges = {}
    for index, (name, items) in enumerate(named.items(), start=1):
        letter = get_column_letter(index)
        lists.cell(row=1, column=index, value=name).font = Font(bold=True)
        lists.column_dimensions[letter].width = 30
        for row, item in enumerate(items, start=2):
            lists.cell(row=row, column=index, value=item)
        if items:
            ranges[name] = f"Lists!${letter}$2:${letter}${len(items) + 1}"

    ws = wb.create_sheet(INITIATIVES, 1)
    _header(ws, INITIATIVE_COLUMNS)
    for name, formula in ranges.items():
        _list_validation(ws, INITIATIVE_COLUMNS, name, formula, strict=False)
    cadences = ",".join(str(c.value) for c in Cadence)
    _list_validation(ws, INITIATIVE_COLUMNS, "update_cadence_days", f'"{cadences}"',
                     strict=True)
    for name in ("start_date", "target_date"):
        validation = DataValidation(type="date", operator="greaterThan", formula1="1",
                                    allow_blank=True, errorStyle="warning",
                                    error="Enter a date, e.g. 2026-06-30.")
        letter = _column_letter(INITIATIVE_COLUMNS, name)
        validation.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
        ws.add_data_validation(validation)

    ws = wb.create_sheet(VALUES, 2)
    _header(ws, VALUE_COLUMNS)
    _list_validation(ws, VALUE_COLUMNS, "category", f'"{",".join(ImpactCategory.values)}"',
                     strict=True)
    _list_validation(ws, VALUE_COLUMNS, "recurring", '"yes,no"', strict=True)
    _list_validation(ws, VALUE_COLUMNS, "kind", f'"{",".join(ValueKind.values)}"',
                     strict=True)
    amount = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0",
                            allow_blank=True, errorStyle="stop",
                            error="Amounts are numbers of at least 0.")
    letter = _column_letter(VALUE_COLUMNS, "amount")
    amount.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
    ws.add_data_validation(amount)
    return _save(wb)


def _save(wb) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- Reading a workbook -------------------------------------------------------------


@dataclass
class Row:
    sheet: str
    number: int  # as Excel numbers it
    raw: dict  # column name -> cell value, for the columns we know


@dataclass
class Parsed:
    initiatives: list[Row]
    values: list[Row]
    initiative_columns: set[str]  # the columns present in the Initiatives sheet

    @property
    def total(self) -> int:
        return len(self.initiatives) + len(self.values)


OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _sniff(head: bytes) -> None:
    if head.startswith(b"PK\x03\x04"):
        return
    if not head:
        raise FileProblem("The file is empty.")
    if head.startswith(OLE2):
        raise FileProblem("This is an old-format Excel file (.xls) or a password-protected "
                          "workbook. In Excel choose File › Save As › Excel Workbook (.xlsx), "
                          "without a password, and upload that file.")
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = ""
    if text and ("," in text or ";" in text or "\t" in text) and "\x00" not in text:
        raise FileProblem("This is a text (CSV) file, not an Excel workbook, even if its name "
                          "ends in .xlsx. Open it in Excel and save it as an Excel Workbook "
                          "(.xlsx), or start from the template.")
    raise FileProblem("This is not an Excel workbook (.xlsx). Start from the template.")


def _check_zip(upload) -> None:
    try:
        archive = zipfile.ZipFile(upload)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise FileProblem("The file is damaged: it is not a readable Excel workbook "
                          "(.xlsx). Save it again from Excel and upload it.") from exc
    with archive:
        infos = archive.infolist()
        if any(info.flag_bits & 0x1 for info in infos):
            raise FileProblem("The workbook is password-protected. Remove the password "
                              "(File › Info › Protect Workbook) and upload it again.")
        if sum(info.file_size for info in infos) > MAX_UNPACKED_BYTES:
            raise FileProblem(f"The workbook unpacks to more than "
                              f"{MAX_UNPACKED_BYTES // 1048576} MB; split it into smaller "
                              "files.")
        if "xl/workbook.xml" not in archive.namelist():
            raise FileProblem("This zip file is not an Excel workbook (.xlsx): it may be "
                              "another kind of document. Start from the template.")


def _sheet(wb, name: str):
    for title in wb.sheetnames:
        if title.strip().casefold() == name.casefold():
            return wb[title]
    return None


def _read_sheet(ws, name: str, *, budget: int) -> tuple[list[Row], set[str]]:
    columns = {c.name for c in COLUMNS[name]}
    required = [c.name for c in COLUMNS[name] if c.required]
    declared = ws.max_row  # from the sheet's dimension record, before reading the rows
    if isinstance(declared, int) and declared - 1 > MAX_ROWS:
        raise FileProblem(f"The sheet {name} has {declared - 1:,} rows; the limit is "
                          f"{MAX_ROWS:,} rows per file. Split it into smaller files.")
    header: dict[int, str] = {}
    rows: list[Row] = []
    for number, cells in enumerate(ws.iter_rows(), start=1):
        for index, cell in enumerate(cells, start=1):
            if getattr(cell, "data_type", None) == "f":
                raise FileProblem(f"Cell {get_column_letter(index)}{number} of sheet {name} "
                                  "contains a formula; paste values only (Paste Special › "
                                  "Values) and upload again.")
        if number == 1:
            seen = set()
            for index, cell in enumerate(cells, start=1):
                title = cell.value.strip().lower() if isinstance(cell.value, str) else ""
                if title in columns:
                    if title in seen:
                        raise FileProblem(f"The column “{title}” appears twice in the first "
                                          f"row of sheet {name}.")
                    seen.add(title)
                    header[index] = title
            missing = [c for c in required if c not in seen]
            if missing:
                raise FileProblem(
                    f"The first row of sheet {name} must name the columns; "
                    f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing. "
                    "Start from the template.")
            continue
        raw = {}
        for index, cell in enumerate(cells, start=1):
            if index in header:
                value = cell.value
                if isinstance(value, str):
                    value = value.strip()
                    value = value or None
                raw[header[index]] = value
        if all(v is None for v in raw.values()):
            continue
        rows.append(Row(name, number, raw))
        if len(rows) > budget:
            raise FileProblem(f"The file has more than {MAX_ROWS:,} rows; split it into "
                              "smaller files.")
    if not header:
        raise FileProblem(f"The sheet {name} is empty: its first row must name the "
                          "columns. Start from the template.")
    return rows, set(header.values())


def read_workbook(upload) -> Parsed:
    """Read an uploaded workbook or raise FileProblem with a message for the user. The
    checks that need no loading come first (type, zip, size); the rows are streamed in
    read-only mode and counted as they come."""
    upload.seek(0)
    _sniff(upload.read(8))
    upload.seek(0)
    _check_zip(upload)
    upload.seek(0)
    try:
        wb = openpyxl.load_workbook(upload, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        logger.info("openpyxl refused an upload: %r", exc)
        raise FileProblem("The file is damaged or not an Excel workbook (.xlsx) that cat4 "
                          "can read. Save it again from Excel as .xlsx and upload it.") from exc
    try:
        initiatives_ws = _sheet(wb, INITIATIVES)
        if initiatives_ws is None:
            raise FileProblem("The workbook has no sheet named “Initiatives”. Start from the "
                              "template, which has the sheets Initiatives and Values.")
        try:
            initiatives, present = _read_sheet(initiatives_ws, INITIATIVES, budget=MAX_ROWS)
            values_ws = _sheet(wb, VALUES)
            values = []
            if values_ws is not None:
                values, _ = _read_sheet(values_ws, VALUES, budget=MAX_ROWS - len(initiatives))
        except FileProblem:
            raise
        except Exception as exc:
            logger.info("openpyxl failed reading an upload: %r", exc)
            raise FileProblem("The file is damaged: cat4 could not read its rows. Save it "
                              "again from Excel as .xlsx and upload it.") from exc
    finally:
        wb.close()
    if not initiatives and not values:
        raise FileProblem("The file has no rows to import below the column names.")
    return Parsed(initiatives, values, present)


# --- Cell parsing -------------------------------------------------------------------

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


def _text(raw: dict, column: str, *, required: bool, max_length: int | None = None) -> str:
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


def _date(raw: dict, column: str) -> dt.date:
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


def _month(raw: dict) -> dt.date:
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


def _amount(raw: dict) -> Decimal:
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


def _recurring(raw: dict) -> bool | None:
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


def _choice(raw: dict, column: str, choices) -> str:
    text = _text(raw, column, required=True)
    wanted = text.casefold().replace(" ", "_").replace("-", "_")
    for choice in choices:
        if wanted in {choice.value, choice.label.casefold().replace(" ", "_")}:
            return choice.value
    allowed = ", ".join(choices.values)
    raise CellProblem(column, f"{column} “{text}” is not one of {allowed}.")


def _cadence(raw: dict):
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


# --- The dry run ----------------------------------------------------------------------


@dataclass
class Cell:
    row: Row
    code: str
    line: str
    category: str
    recurring: bool | None
    month: dt.date
    kind: str
    amount: Decimal
    line_id: int | None = None
    changed: bool = True


@dataclass
class Unit:
    """Everything the file says about one initiative code."""

    code: str
    row: Row | None = None
    initiative: Initiative | None = None  # the existing one
    fields: dict = field(default_factory=dict)  # cleaned, for initiative_create
    changes: dict = field(default_factory=dict)  # for initiative_update
    cells: list[Cell] = field(default_factory=list)
    values_unchanged: int = 0


@dataclass
class Report:
    units: dict[str, Unit]
    problems: list[dict]  # {"sheet", "row", "column", "message"}
    total: int

    def rejected_rows(self) -> set[tuple[str, int]]:
        return {(p["sheet"], p["row"]) for p in self.problems}

    @property
    def valid(self) -> int:
        return self.total - len(self.rejected_rows())


FIELD_OF_COLUMN = {"owner_email": "owner", "sponsor_email": "sponsor",
                   "controller_email": "controller"}
COLUMN_OF_FIELD = {v: k for k, v in FIELD_OF_COLUMN.items()}


class Checker:
    """Resolves and checks the rows of one file inside one organisation."""

    def __init__(self, *, membership: Membership, parsed: Parsed, progress=None):
        self.membership = membership
        self.org = membership.organization
        self.parsed = parsed
        self.progress = progress or (lambda done, total: None)
        self.problems: list[dict] = []
        self.rejected: set[tuple[str, int]] = set()
        self.duplicates: dict[str, int] = {}
        self.done = 0

    def problem(self, row: Row, column: str, message: str) -> None:
        self.problems.append({"sheet": row.sheet, "row": row.number, "column": column,
                              "message": message})
        self.rejected.add((row.sheet, row.number))

    def tick(self) -> None:
        self.done += 1
        if self.done % PROGRESS_EVERY == 0:
            self.progress(self.done, self.parsed.total)

    def load(self) -> None:
        org = self.org
        self.programs = {p.name.casefold(): p for p in Program.objects.filter(organization=org)}
        self.units_by_name = {u.name.casefold(): u
                              for u in BusinessUnit.objects.filter(organization=org)}
        self.functions = {f.name.casefold(): f for f in Function.objects.filter(organization=org)}
        self.members = {m.user.email.casefold(): m for m in member_list(organization=org)}
        codes = {_text(r.raw, "code", required=False)
                 for r in self.parsed.initiatives + self.parsed.values} - {""}
        self.existing: dict[str, Initiative] = {}
        ordered = sorted(codes)
        for start in range(0, len(ordered), 1000):
            for initiative in Initiative.objects.filter(
                    organization=org, code__in=ordered[start:start + 1000]):
                self.existing[initiative.code] = initiative
        ids = [i.pk for i in self.existing.values()]
        self.lines: dict[int, list[ImpactLine]] = {}
        self.current: dict[tuple[int, dt.date, str], Decimal] = {}
        for start in range(0, len(ids), 1000):
            chunk = ids[start:start + 1000]
            for line in ImpactLine.objects.filter(organization=org, initiative_id__in=chunk):
                self.lines.setdefault(line.initiative_id, []).append(line)
            for line_id, month, kind, amount in MonthlyValue.objects.filter(
                    organization=org, line__initiative_id__in=chunk).values_list(
                    "line_id", "month", "kind", "amount"):
                self.current[(line_id, month, kind)] = amount
        self.actuals_entry = initiative_services.value_settings_for(org).actuals_entry

    def run(self) -> Report:
        self.load()
        units: dict[str, Unit] = {}
        first_row: dict[str, int] = {}
        for row in self.parsed.initiatives:
            self.check_initiative(row, units, first_row)
            self.tick()
        # A code given twice: which row is right is not ours to guess, so both are rejected.
        for code, number in first_row.items():
            unit = units.get(code)
            if unit is not None and unit.row is not None and code in self.duplicates:
                self.problem(unit.row, "code", f"code {code} appears twice in the file (rows "
                                               f"{number} and {self.duplicates[code]}).")
        seen_cells: dict[tuple, int] = {}
        seen_lines: dict[tuple, tuple] = {}
        for row in self.parsed.values:
            self.check_value(row, units, seen_cells, seen_lines)
            self.tick()
        self.problems.sort(key=lambda p: (p["sheet"] != INITIATIVES, p["row"]))
        return Report(units, self.problems, self.parsed.total)

    # Initiatives sheet

    def _lookup(self, row: Row, column: str, table: dict, what: str, *, required: bool):
        text = _text(row.raw, column, required=required)
        if not text:
            return None
        found = table.get(text.casefold())
        if found is None:
            raise CellProblem(column, f"{what} “{text}” does not exist in this organisation.")
        return found

    def _member(self, row: Row, column: str, *, required: bool):
        text = _text(row.raw, column, required=required)
        if not text:
            return None
        membership = self.members.get(text.casefold())
        if membership is None:
            raise CellProblem(column, f"{column} {text} is not a member of this organisation.")
        return membership.user

    def check_initiative(self, row: Row, units: dict, first_row: dict) -> None:
        present = self.parsed.initiative_columns
        values: dict = {}
        bad: set[str] = set()

        def attempt(column, fn):
            try:
                return fn()
            except CellProblem as exc:
                self.problem(row, exc.column, exc.message)
                bad.add(column)
                return None

        code = attempt("code", lambda: _text(row.raw, "code", required=True, max_length=20))
        if code and code in first_row:
            self.problem(row, "code", f"code {code} appears twice in the file (rows "
                                      f"{first_row[code]} and {row.number}).")
            self.duplicates.setdefault(code, row.number)
            bad.add("code")
        elif code:
            first_row[code] = row.number
        values["title"] = attempt("title", lambda: _text(row.raw, "title", required=True,
                                                          max_length=200))
        if "description" in present:
            values["description"] = _text(row.raw, "description", required=False)
        values["program"] = attempt("program", lambda: self._lookup(
            row, "program", self.programs, "program", required=True))
        values["owner"] = attempt("owner_email", lambda: self._member(row, "owner_email",
                                                                      required=True))
        for column in ("sponsor_email", "controller_email"):
            if column in present:
                values[FIELD_OF_COLUMN[column]] = attempt(
                    column, lambda c=column: self._member(row, c, required=False))
        if "business_unit" in present:
            values["business_unit"] = attempt("business_unit", lambda: self._lookup(
                row, "business_unit", self.units_by_name, "business unit", required=False))
        if "function" in present:
            values["function"] = attempt("function", lambda: self._lookup(
                row, "function", self.functions, "function", required=False))
        for column in ("start_date", "target_date"):
            values[column] = attempt(column, lambda c=column: _date(row.raw, c))
        cadence = attempt("update_cadence_days", lambda: _cadence(row.raw))
        if cadence is not None:
            values["update_cadence_days"] = cadence

        # The services' own rules, field by field so that each names its column.
        for name, value in list(values.items()):
            column = COLUMN_OF_FIELD.get(name, name)
            if column in bad or name in ("start_date", "target_date"):
                continue
            try:
                values.update(initiative_services.initiative_fields_check(
                    organization=self.org, values={name: value}))
            except ApplicationError as exc:
                self.problem(row, column, exc.message)
                bad.add(column)
        if not {"start_date", "target_date"} & bad:
            try:
                initiative_services.initiative_fields_check(
                    organization=self.org, values={"start_date": values["start_date"],
                                                   "target_date": values["target_date"]})
            except ApplicationError:
                self.problem(row, "target_date",
                             f"target_date {values['target_date']} is before start_date "
                             f"{values['start_date']}.")
                bad.add("target_date")
        if not code or "code" in bad:
            return
        unit = units.setdefault(code, Unit(code=code))
        unit.row = row
        unit.initiative = self.existing.get(code)
        if bad:
            return
        if unit.initiative is None:
            if not initiative_permissions.can_create_initiative(membership=self.membership):
                self.problem(row, "code", "Your role does not allow creating initiatives.")
                return
            unit.fields = {"code": code, **values}
            return
        unit.changes = _changes(unit.initiative, values)
        if unit.changes:
            try:
                initiative_permissions.require_edit(membership=self.membership,
                                                    initiative=unit.initiative)
            except ApplicationError as exc:
                self.problem(row, "code", f"{exc.message} It cannot be changed by import.")

    # Values sheet

    def check_value(self, row: Row, units: dict, seen_cells: dict, seen_lines: dict) -> None:
        found: list[CellProblem] = []

        def attempt(fn):
            try:
                return fn()
            except CellProblem as exc:
                found.append(exc)
                return None

        code = attempt(lambda: _text(row.raw, "code", required=True, max_length=20))
        line = attempt(lambda: _text(row.raw, "line", required=True, max_length=200))
        category = attempt(lambda: _choice(row.raw, "category", ImpactCategory))
        recurring = attempt(lambda: _recurring(row.raw))
        month = attempt(lambda: _month(row.raw))
        kind = attempt(lambda: _choice(row.raw, "kind", ValueKind))
        amount = attempt(lambda: _amount(row.raw))
        unit = units.get(code) if code else None
        initiative = unit.initiative if unit else self.existing.get(code) if code else None
        if code and unit is None and initiative is None:
            found.append(CellProblem("code", f"code {code} is neither in the Initiatives "
                                             "sheet nor an initiative of this organisation."))
        if (code and unit is not None and unit.row is not None
                and (INITIATIVES, unit.row.number) in self.rejected):
            found.append(CellProblem("code", f"the Initiatives row {unit.row.number} for "
                                             f"{code} is rejected, so this row is too."))
        if found:
            for exc in found:
                self.problem(row, exc.column, exc.message)
            return
        key = (code, line.casefold(), month, kind)
        if key in seen_cells:
            self.problem(row, "month", f"{code} “{line}” {month:%Y-%m} {kind} appears twice in "
                                       f"the file (rows {seen_cells[key]} and {row.number}).")
            return
        seen_cells[key] = row.number
        line_key = (code, line.casefold())
        if line_key in seen_lines:
            first_category, first_recurring, first_row = seen_lines[line_key]
            if category != first_category:
                self.problem(row, "category", f"line “{line}” of {code} is {first_category} "
                                              f"on row {first_row}; one line has one category.")
                return
            if recurring is not None and first_recurring is not None \
                    and recurring != first_recurring:
                self.problem(row, "recurring", f"line “{line}” of {code} has a different "
                                               f"recurring on row {first_row}.")
                return
        else:
            seen_lines[line_key] = (category, recurring, row.number)
        unit = units.setdefault(code, Unit(code=code, initiative=initiative))
        cell = Cell(row, code, line, category, recurring, month, kind, amount)
        try:
            self._check_cell(unit, cell)
        except CellProblem as exc:
            self.problem(row, exc.column, exc.message)
            return
        if cell.changed:
            unit.cells.append(cell)
        else:
            unit.values_unchanged += 1

    def _check_cell(self, unit: Unit, cell: Cell) -> None:
        initiative = unit.initiative
        if initiative is not None:
            lines = [ln for ln in self.lines.get(initiative.pk, [])
                     if ln.description.strip().casefold() == cell.line.casefold()]
            if len(lines) > 1:
                raise CellProblem("line", f"{cell.code} has {len(lines)} lines described "
                                          f"“{cell.line}”; change these values in cat4.")
            if lines:
                existing = lines[0]
                if existing.category != cell.category:
                    raise CellProblem("category", f"line “{cell.line}” of {cell.code} exists "
                                                  f"as {existing.category}; an import cannot "
                                                  "change a line's category.")
                if cell.recurring is not None and existing.recurring != cell.recurring:
                    raise CellProblem("recurring", f"line “{cell.line}” of {cell.code} exists "
                                                   "with a different recurring; an import "
                                                   "cannot change it.")
                cell.line_id = existing.pk
                current = self.current.get((existing.pk, cell.month, cell.kind))
                if current is not None and current == cell.amount:
                    cell.changed = False
                    return
        # The initiative as it will be: the existing one with the file's dates, or a new one
        # (at Identified). Dates come from the file when its row has them.
        subject = _subject(unit)
        if subject is None:
            return  # the initiative row is rejected; reported already
        month_only = {cell.month: None}
        try:
            initiative_services.parse_values(initiative=subject, values=month_only)
        except ApplicationError as exc:
            raise CellProblem("month", f"month {cell.month:%Y-%m}: {exc.message}") from None
        try:
            initiative_services.parse_values(initiative=subject,
                                             values={cell.month: cell.amount})
        except ApplicationError as exc:
            raise CellProblem("amount", f"amount {cell.amount}: {exc.message}") from None
        if not initiative_permissions.can_edit_values(
                membership=self.membership, initiative=subject, kind=cell.kind,
                actuals_entry=self.actuals_entry):
            raise CellProblem("kind", f"Your role does not allow entering {cell.kind} values "
                                      f"for {cell.code}.")
        editable, why = initiative_permissions.value_kind_editable(initiative=subject,
                                                                   kind=cell.kind)
        if not editable:
            stage = Stage(initiative_permissions.effective_stage(subject)).label
            raise CellProblem("kind", f"{cell.kind} for {cell.code} ({stage}): {why}")


def _subject(unit: Unit) -> Initiative | None:
    if unit.initiative is not None:
        subject = Initiative(pk=unit.initiative.pk, organization=unit.initiative.organization,
                             stage=unit.initiative.stage,
                             resume_stage=unit.initiative.resume_stage,
                             owner_id=unit.initiative.owner_id,
                             controller_id=unit.initiative.controller_id,
                             start_date=unit.initiative.start_date,
                             target_date=unit.initiative.target_date)
        for name in ("start_date", "target_date", "owner", "controller"):
            if name in unit.changes:
                setattr(subject, name, unit.changes[name])
        return subject
    if not unit.fields:
        return None
    return Initiative(organization_id=unit.fields["program"].organization_id,
                      owner=unit.fields["owner"], controller=unit.fields.get("controller"),
                      start_date=unit.fields["start_date"],
                      target_date=unit.fields["target_date"])


def _changes(initiative: Initiative, values: dict) -> dict:
    changes = {}
    for name, value in values.items():
        current = getattr(initiative, name)
        if hasattr(value, "pk") or hasattr(current, "pk"):
            same = getattr(current, "pk", None) == getattr(value, "pk", None)
        else:
            same = current == value
        if not same:
            changes[name] = value
    return changes


# --- The import -------------------------------------------------------------------------


@dataclass
class Outcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    values_written: int = 0
    values_unchanged: int = 0


def _apply_unit(membership: Membership, unit: Unit, outcome: Outcome) -> None:
    """Write one initiative and its changed values through the services."""
    initiative = unit.initiative
    touched = False
    if unit.row is not None and initiative is None:
        fields = dict(unit.fields)
        fields.setdefault("update_cadence_days", Cadence.MONTHLY)
        initiative = initiative_services.initiative_create(membership=membership, **fields)
        outcome.created += 1
    elif unit.changes:
        initiative = initiative_services.initiative_update(
            membership=membership, initiative_id=initiative.pk, version=initiative.version,
            **unit.changes)
        outcome.updated += 1
        touched = True
    new = unit.row is not None and unit.initiative is None
    lines = {ln.description.strip().casefold(): ln for ln in
             ImpactLine.objects.filter(organization=membership.organization,
                                       initiative=initiative)}
    batches: dict[tuple[int, str], dict] = {}
    for cell in unit.cells:
        line = lines.get(cell.line.casefold())
        if line is None:
            line = initiative_services.impact_line_create(
                membership=membership, initiative_id=initiative.pk, category=cell.category,
                description=cell.line, recurring=True if cell.recurring is None else cell.recurring)
            lines[cell.line.casefold()] = line
        batches.setdefault((line.pk, cell.kind), {})[cell.month] = cell.amount
    for (line_id, kind), values in batches.items():
        initiative_services.monthly_values_set(membership=membership, line_id=line_id,
                                               kind=kind, values=values)
        outcome.values_written += len(values)
    outcome.values_unchanged += unit.values_unchanged
    if not new and not touched:
        if unit.cells:
            outcome.updated += 1
        elif unit.row is not None or unit.values_unchanged:
            outcome.unchanged += 1


def _unit_rows(unit: Unit) -> list[Row]:
    return ([unit.row] if unit.row is not None else []) + [c.row for c in unit.cells]


# --- Rejected rows --------------------------------------------------------------------


def rejected_workbook(parsed: Parsed, problems: list[dict]) -> bytes | None:
    """The rejected rows with a reason column, ready to fix and upload again."""
    reasons: dict[tuple[str, int], list[str]] = {}
    for p in problems:
        reasons.setdefault((p["sheet"], p["row"]), []).append(p["message"])
    if not reasons:
        return None
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for sheet, rows, columns in ((INITIATIVES, parsed.initiatives, INITIATIVE_COLUMNS),
                                 (VALUES, parsed.values, VALUE_COLUMNS)):
        ws = wb.create_sheet(sheet)
        _header(ws, columns, with_reason=True)
        for row in rows:
            why = reasons.get((sheet, row.number))
            if why:
                ws.append([_cell_out(row.raw.get(c.name)) for c in columns] + [" ".join(why)])
    return _save(wb)


def _cell_out(value):
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date()
    return value


# --- Services and the job ---------------------------------------------------------------


def _membership(job: ImportJob) -> Membership | None:
    """The uploader's membership, if they are still an active admin of the organisation."""
    membership = membership_for(user=job.uploaded_by, organization=job.organization)
    return membership if can_import(membership=membership) else None


def import_job_list(*, organization: Organization):
    """The organisation's imports, newest first (the model's ordering)."""
    return ImportJob.objects.filter(organization=organization).select_related("uploaded_by")


def import_job_get(*, organization: Organization, job_id) -> ImportJob | None:
    """An import of this organisation; another organisation's id is a missing one."""
    return import_job_list(organization=organization).filter(pk=job_id).first()


def mode_refusal(job: ImportJob, mode: str) -> ApplicationError | None:
    """Why ``job`` cannot be imported in ``mode`` now, or None if it can. The one rule
    for import_start and for the buttons of the page."""
    if mode not in ImportMode.values:
        return ApplicationError("Choose “everything” or “only the valid rows”.", field="mode")
    if job.status != ImportStatus.CHECKED:
        return ApplicationError(f"This import is {job.get_status_display().lower()}; only a "
                                "checked file can be imported.", status_code=409)
    if mode == ImportMode.ALL and job.problems:
        return ApplicationError(f"The dry run found {len(job.problems)} problem(s): import "
                                "only the valid rows, or fix the file and upload it again.",
                                field="mode", status_code=409)
    if mode == ImportMode.VALID_ONLY and job.valid_rows == 0:
        return ApplicationError("No row is valid: fix the file and upload it again.",
                                field="mode", status_code=409)
    return None


@acting_in_org
def import_upload(*, membership: Membership, upload) -> ImportJob:
    """Check the file as a whole and store it; then the dry run starts (inline for small
    files, else as a Celery job). Raises FileProblem for a file that cannot be imported."""
    if not can_import(membership=membership):
        raise PermissionDeniedError("Only admins import initiatives.")
    if upload is None:
        raise FileProblem("Choose a file.")
    if upload.size > MAX_BYTES:
        raise FileProblem(f"The file is {upload.size / 1048576:.1f} MB; the limit is "
                          f"{MAX_BYTES // 1048576} MB. Split it into smaller files.")
    name = (upload.name or "import.xlsx").replace("\\", "/").rsplit("/", 1)[-1][:200]
    if name.lower().endswith(".xls"):
        upload.seek(0)
        if not upload.read(4).startswith(b"PK\x03\x04"):
            raise FileProblem("This is an old-format Excel file (.xls). In Excel choose "
                              "File › Save As › Excel Workbook (.xlsx) and upload that file.")
    parsed = read_workbook(upload)
    upload.seek(0)
    job = ImportJob(organization=membership.organization, uploaded_by=membership.user,
                    file_name=name, size=upload.size, status=ImportStatus.CHECKING,
                    total_rows=parsed.total)
    job.file.save(name, upload, save=False)
    try:
        job.save()
    except Exception:
        job.file.storage.delete(job.file.name)
        raise
    _dispatch(job, parsed=parsed)
    job.refresh_from_db()
    return job


@acting_in_org
def import_start(*, membership: Membership, job_id, mode: str) -> ImportJob:
    """Import everything (only after a clean dry run) or only the valid rows."""
    if not can_import(membership=membership):
        raise PermissionDeniedError("Only admins import initiatives.")
    job = import_job_get(organization=membership.organization, job_id=job_id)
    if job is None:
        raise NotFoundError("No such import.")
    refusal = mode_refusal(job, mode)
    if refusal is not None:
        raise refusal
    claimed = ImportJob.objects.filter(pk=job.pk, status=ImportStatus.CHECKED).update(
        status=ImportStatus.IMPORTING, mode=mode, progress=0)
    if not claimed:
        raise ApplicationError("This import has just been started.", status_code=409)
    job.refresh_from_db()
    _dispatch(job)
    job.refresh_from_db()
    return job


def _dispatch(job: ImportJob, *, parsed: Parsed | None = None) -> None:
    if job.total_rows <= INLINE_MAX_ROWS:
        run_job(job.pk, parsed=parsed)
    else:
        from .tasks import run_import

        transaction.on_commit(lambda: run_import.delay(job.pk), robust=True)


def _set(job: ImportJob, **fields) -> None:
    """Commit the job's progress at once (outside any transaction of the import)."""
    for name, value in fields.items():
        setattr(job, name, value)
    ImportJob.objects.filter(pk=job.pk).update(**fields)


def run_job(job_id: int, *, parsed: Parsed | None = None) -> str:
    """Do what the job is waiting for: the dry run (CHECKING) or the import (IMPORTING).
    Safe to run twice: a second run at the same time skips, and a run after a crash
    repeats the step, which writes nothing twice (idempotent by code)."""
    with scopes_disabled():
        job = (ImportJob.objects.filter(pk=job_id)
               .select_related("organization", "uploaded_by").first())
    if job is None:
        return "no such job"
    with try_org_job_lock(f"reporting.run_import.{job.pk}", job.organization_id) as acquired:
        if not acquired:
            return "another run holds the lock"
        with scope(organization=job.organization):
            job.refresh_from_db()
            if job.status not in (ImportStatus.CHECKING, ImportStatus.IMPORTING):
                return f"nothing to do ({job.status})"
            try:
                membership = _membership(job)
                if membership is None:
                    raise FileProblem("The person who uploaded this file is no longer an "
                                      "admin of the organisation.")
                if parsed is None:
                    with job.file.open("rb") as handle:
                        parsed = read_workbook(io.BytesIO(handle.read()))
                if job.status == ImportStatus.CHECKING:
                    _check(job, membership, parsed)
                else:
                    _import(job, membership, parsed)
            except FileProblem as exc:
                _set(job, status=ImportStatus.FAILED, file_error=exc.message,
                     finished_at=timezone.now())
            except Exception:
                logger.exception("import %s failed", job.pk)
                _set(job, status=ImportStatus.FAILED, finished_at=timezone.now(),
                     file_error="The import stopped on an unexpected error; nothing more was "
                                "written. Try again, or tell your administrator.")
    return job.status


def _progress(job: ImportJob, start: int, span: int):
    def report(done: int, total: int) -> None:
        _set(job, progress=min(99, start + span * done // max(total, 1)))
    return report


def _store_rejected(job: ImportJob, parsed: Parsed, problems: list[dict]) -> None:
    content = rejected_workbook(parsed, problems)
    if job.rejected_file:
        job.rejected_file.storage.delete(job.rejected_file.name)
    if content is None:
        _set(job, rejected_file="")
        return
    job.rejected_file.save("rejected.xlsx", ContentFile(content), save=False)
    _set(job, rejected_file=job.rejected_file.name)


def _check(job: ImportJob, membership: Membership, parsed: Parsed) -> Report:
    report = Checker(membership=membership, parsed=parsed,
                     progress=_progress(job, 0, 100)).run()
    _store_rejected(job, parsed, report.problems)
    _set(job, status=ImportStatus.CHECKED, problems=report.problems, total_rows=report.total,
         valid_rows=report.valid, progress=100, file_error="")
    return report


def _import(job: ImportJob, membership: Membership, parsed: Parsed) -> None:
    # Check again: the organisation may have changed since the dry run.
    report = Checker(membership=membership, parsed=parsed,
                     progress=_progress(job, 0, 30)).run()
    if job.mode == ImportMode.ALL and report.problems:
        _store_rejected(job, parsed, report.problems)
        _set(job, status=ImportStatus.CHECKED, mode="", problems=report.problems,
             valid_rows=report.valid, progress=100,
             file_error="Nothing was imported: the organisation changed since the dry run "
                        "and some rows are no longer valid. See the report.")
        return
    rejected = report.rejected_rows()
    units = [u for u in report.units.values()
             if u.row is None or (u.row.sheet, u.row.number) not in rejected]
    outcome = Outcome()
    problems = list(report.problems)
    tick = _progress(job, 30, 70)
    with pghistory.context(import_job=job.pk, user=membership.user_id):
        if job.mode == ImportMode.ALL:
            try:
                with transaction.atomic():
                    for unit in units:
                        current = unit
                        _apply_unit(membership, unit, outcome)
            except ApplicationError as exc:
                _set(job, status=ImportStatus.CHECKED, mode="", progress=100,
                     file_error=f"Nothing was imported: {current.code} was refused "
                                f"({exc.message}). Check the file again or import only "
                                "the valid rows.")
                return
        else:
            for done, unit in enumerate(units, start=1):
                try:
                    with transaction.atomic():
                        _apply_unit(membership, unit, outcome)
                except ApplicationError as exc:
                    for row in _unit_rows(unit):
                        problems.append({"sheet": row.sheet, "row": row.number,
                                         "column": "code", "message": exc.message})
                if done % 20 == 0:
                    tick(done, len(units))
    rejected_count = len({(p["sheet"], p["row"]) for p in problems})
    if problems != report.problems:
        _store_rejected(job, parsed, problems)
    summary = {"created": outcome.created, "updated": outcome.updated,
               "unchanged": outcome.unchanged, "rejected": rejected_count,
               "values_written": outcome.values_written,
               "values_unchanged": outcome.values_unchanged}
    _set(job, status=ImportStatus.IMPORTED, problems=problems, summary=summary,
         valid_rows=report.total - rejected_count, progress=100, finished_at=timezone.now())

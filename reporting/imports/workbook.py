"""The import's workbook: its sheets and columns, the limits of a file, the template an
organisation downloads, reading an uploaded file (``read_workbook``: type, size, sheets,
headers, formulas, row count; ``FileProblem`` for a file that cannot be read) and the
workbook of rejected rows. The only module of the import that uses openpyxl."""

import datetime as dt
import io
import logging
import zipfile
from dataclasses import dataclass

import openpyxl
from django_scopes import scope
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from cat4.common.exceptions import ApplicationError
from cat4.tenancy.models import Organization, Role
from cat4.tenancy.selectors import member_list
from initiatives.models import BusinessUnit, Cadence, Function, ImpactCategory, Program, ValueKind

logger = logging.getLogger(__name__)

MAX_BYTES = 10 * 1024 * 1024  # the upload
MAX_UNPACKED_BYTES = 200 * 1024 * 1024  # what the zip inside would unpack to
MAX_ROWS = 20_000  # data rows over both sheets

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


"""Exports of an organisation's initiatives: an xlsx workbook (initiatives, values,
milestones, KPIs) and a csv of the initiatives sheet.

The filters are the initiative list's own (``initiatives.filters.InitiativeFilterSet``
and ``initiatives.selectors.initiative_list``), so a filter means the same thing on the
page and in the file. Every member may read every initiative of the organisation
(``initiatives.permissions.can_view_initiatives``), so an export holds what its
caller may see and nothing of another organisation.

The Values sheet is laid out as spreadsheet users keep plans: one row per initiative,
impact line and kind (planned, forecast, actual), one column per month present in the
export. Excel opens at most 1,048,576 rows per sheet: a sheet that would hold more
continues in "Values (2)", "Values (3)" ... (the same for every sheet), each with the
header row.

Each sheet is one query whatever the number of rows (plus one for the Values sheet's
months; values, milestones and KPI links are fetched keyed by the initiatives' ids),
read through server-side cursors, and rows are streamed: the csv through a generator,
the xlsx through XlsxWriter's constant-memory mode (a row is written to disk as soon
as the next one starts) into a temporary file.

Amounts are ``Decimal`` all the way into the writer (never a float parsed from text)
and are written as numbers with a number format. Text cells are formula-safe: in csv a
cell starting with = + - @ (or a tab / carriage return) gets a leading quote; in xlsx
text is always written as a string cell, so a title such as ``=HYPERLINK(...)`` is
shown, never evaluated.
"""
import csv
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import xlsxwriter
from django.db import connection
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django_scopes import scope

from cat4.common.api import form_errors
from cat4.common.rag import Rag, RagColour, apply_staleness
from cat4.tenancy.models import Organization
from initiatives import selectors as initiative_selectors
from initiatives.filters import InitiativeFilterSet
from initiatives.models import (
    ImpactCategory,
    ImpactLine,
    Initiative,
    Milestone,
    MonthlyValue,
    Stage,
    ValueKind,
)
from kpis.models import KpiLink, KpiReading, KpiSnapshot
from kpis.selectors import is_stale as kpi_is_stale

MONEY_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"
CHUNK = 2000
MAX_SHEET_ROWS = 1_048_576  # Excel's limit per sheet, the header row included
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class FilterError(Exception):
    """The export's filters are not valid (an unknown stage, a program of another
    organisation...): refused rather than silently exporting something else."""

    def __init__(self, errors: dict):
        super().__init__("Invalid export filters.")
        self.errors = errors


def parse_filters(data, *, organization: Organization) -> dict:
    """The list page's filters from a query dict, as keyword arguments of
    ``initiative_list``; raises FilterError with the filters' errors."""
    filterset = InitiativeFilterSet(data, organization=organization)
    if not filterset.is_valid():
        raise FilterError(form_errors(filterset.form))
    return filterset.list_filters()


# --- Rows ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    title: str
    kind: str = "text"  # text | money | date | int


def initiative_columns(currency: str) -> list[Column]:
    return [
        Column("Code"), Column("Title"), Column("Stage"), Column("Program"),
        Column("Portfolio"), Column("Business unit"), Column("Owner"), Column("Sponsor"),
        Column("Controller"), Column("Start date", "date"), Column("Target date", "date"),
        Column(f"Planned ({currency})", "money"), Column(f"Forecast ({currency})", "money"),
        Column(f"Actual ({currency})", "money"),
    ]


VALUE_KEY_COLUMNS = [Column("code"), Column("line"), Column("category"), Column("kind")]
MILESTONE_COLUMNS = [Column("Code"), Column("Milestone"), Column("Due date", "date"),
                     Column("Done date", "date"), Column("Weight", "int"), Column("Waived")]
KPI_COLUMNS = [Column("Code"), Column("KPI"), Column("Unit"), Column("Weight", "money"),
               Column("Latest period", "date"), Column("Latest value", "money"),
               Column("RAG"), Column("Explanation")]

STAGE_LABELS = dict(Stage.choices)
KIND_LABELS = dict(ValueKind.choices)
RAG_VALUES = frozenset(c.value for c in RagColour)
CATEGORY_LABELS = dict(ImpactCategory.choices)


def _name(user) -> str:
    return user.full_name if user is not None else ""


def initiatives_with_totals(*, organization: Organization, filters: dict) -> list:
    """The filtered initiatives (one query) and their planned / forecast / actual
    benefit totals (one aggregate query), the same figures as the list page."""
    initiatives = list(initiative_selectors.initiative_list(organization=organization,
                                                            **filters))
    totals = initiative_selectors.value_totals(organization=organization,
                                               initiative_ids=[i.pk for i in initiatives])
    return [(i, totals.get(i.pk, {})) for i in initiatives]


def initiative_rows(pairs) -> Iterator[list]:
    zero = Decimal("0.00")
    for i, totals in pairs:
        program = i.program
        yield [i.code, i.title, STAGE_LABELS.get(i.stage, i.stage), program.name,
               program.portfolio.name, i.business_unit.name if i.business_unit else "",
               _name(i.owner), _name(i.sponsor), _name(i.controller), i.start_date,
               i.target_date, totals.get(ValueKind.PLANNED, zero),
               totals.get(ValueKind.FORECAST, zero), totals.get(ValueKind.ACTUAL, zero)]


def value_columns(months: list[date]) -> list[Column]:
    """The Values sheet: the line's key, then one money column per month."""
    return [*VALUE_KEY_COLUMNS, *(Column(f"{m:%Y-%m}", "money") for m in months)]


def _values_of(*, organization: Organization, initiative_ids: list[int]):
    return MonthlyValue.objects.filter(organization=organization,
                                       line__initiative_id__in=initiative_ids)


def value_months(*, organization: Organization, initiative_ids: list[int]) -> list[date]:
    """The months that have at least one value in the export (one query)."""
    return list(_values_of(organization=organization, initiative_ids=initiative_ids)
                .order_by("month").values_list("month", flat=True).distinct())


# Grouping first and joining the ~50k groups to their line and initiative afterwards
# keeps the big sort narrow (line, kind, month): joining first and grouping per code
# and line sorted every value with its texts and took three times as long.
VALUE_ROWS_SQL = """
SELECT i.code, l.description, l.category, v.kind, v.months, v.amounts
FROM (SELECT line_id, kind, array_agg(month ORDER BY month) AS months,
             array_agg(amount ORDER BY month) AS amounts
      FROM {value}
      WHERE organization_id = %(org)s
        AND line_id IN (SELECT id FROM {line}
                        WHERE organization_id = %(org)s AND initiative_id = ANY(%(ids)s))
      GROUP BY line_id, kind) v
JOIN {line} l ON l.id = v.line_id
JOIN {initiative} i ON i.id = l.initiative_id
ORDER BY i.code, v.line_id, array_position(%(kinds)s::text[], v.kind::text)
"""


def value_rows(*, organization: Organization, initiative_ids: list[int],
               months: list[date]) -> Iterator[list]:
    """One row per (initiative, impact line, kind): code, line, category, kind (in the
    order planned, forecast, actual), then the amount of each of ``months`` (None where
    the line has no value that month). One query, read through a server-side cursor:
    the database groups the ~1M values into one row per line and kind with the months
    and amounts as two arrays, so Python only places them in their columns."""
    if not initiative_ids:
        return
    sql = VALUE_ROWS_SQL.format(value=MonthlyValue._meta.db_table,
                                line=ImpactLine._meta.db_table,
                                initiative=Initiative._meta.db_table)
    params = {"org": organization.pk, "ids": list(initiative_ids),
              "kinds": list(ValueKind.values)}
    position = {month: n for n, month in enumerate(months, len(VALUE_KEY_COLUMNS))}
    blank = [None] * len(months)
    # A server-side cursor, as QuerySet.iterator() takes one (and not where disabled,
    # e.g. behind a transaction-pooling bouncer): memory stays bounded.
    server_side = not connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS")
    with connection.chunked_cursor() if server_side else connection.cursor() as cursor:
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(CHUNK):
            for code, line, category, kind, line_months, amounts in chunk:
                row = [code, line, CATEGORY_LABELS.get(category, category),
                       KIND_LABELS.get(kind, kind), *blank]
                for month, amount in zip(line_months, amounts, strict=True):
                    row[position[month]] = amount
                yield row


def milestone_rows(*, organization: Organization, initiative_ids: list[int]) -> Iterator[list]:
    rows = (Milestone.objects
            .filter(organization=organization, initiative_id__in=initiative_ids)
            .order_by("initiative__code", "due_date", "id")
            .values_list("initiative__code", "title", "due_date", "done_date", "weight",
                         "waived"))
    for code, title, due, done, weight, waived in rows.iterator(chunk_size=CHUNK):
        yield [code, title, due, done, weight, "yes" if waived else "no"]


def kpi_rows(*, organization: Organization, initiative_ids: list[int],
             today: date | None = None) -> Iterator[list]:
    """Each KPI linked to an exported initiative with its latest reading and the RAG
    of its latest snapshot (a stale KPI is never green, as on the KPI pages)."""
    today = today or timezone.localdate()
    readings = KpiReading.objects.filter(organization=organization,
                                         kpi=OuterRef("kpi")).order_by("-period")
    snapshots = KpiSnapshot.objects.filter(organization=organization,
                                           kpi=OuterRef("kpi")).order_by("-period")
    links = (KpiLink.objects
             .filter(organization=organization, initiative_id__in=initiative_ids)
             .select_related("kpi", "initiative")
             .annotate(latest_period=Subquery(readings.values("period")[:1]),
                       latest_value=Subquery(readings.values("value")[:1]),
                       snapshot_rag=Subquery(snapshots.values("rag")[:1]),
                       snapshot_explanation=Subquery(snapshots.values("explanation")[:1]))
             .order_by("initiative__code", "kpi__name", "id"))
    for link in links.iterator(chunk_size=CHUNK):
        rag = (Rag(RagColour(link.snapshot_rag), link.snapshot_explanation)
               if link.snapshot_rag in RAG_VALUES
               else Rag(RagColour.GREY, "no reading yet"))
        stale = kpi_is_stale(latest_period=link.latest_period, frequency=link.kpi.frequency,
                             today=today)
        rag = apply_staleness(rag, stale=stale, last_update=link.latest_period)
        yield [link.initiative.code, link.kpi.name, link.kpi.unit, link.weight,
               link.latest_period, link.latest_value, rag.colour.value, rag.explanation]


# --- csv -------------------------------------------------------------------------------


def safe_text(value: str) -> str:
    """Neutralise a cell a spreadsheet would read as a formula."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal | int):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return safe_text(str(value))


class _Echo:
    def write(self, value):
        return value


def initiatives_csv(*, organization: Organization, filters: dict) -> Iterator[str]:
    """The Initiatives sheet as csv lines: UTF-8 with a BOM so Excel reads the
    encoding, formula-safe. A generator: it opens the tenant scope itself, because a
    streaming response is consumed after the request's middleware has returned."""
    writer = csv.writer(_Echo())
    with scope(organization=organization):
        pairs = initiatives_with_totals(organization=organization, filters=filters)
        yield "\ufeff" + writer.writerow(
            [c.title for c in initiative_columns(organization.base_currency)])
        for row in initiative_rows(pairs):
            yield writer.writerow([_csv_cell(v) for v in row])


# --- xlsx ------------------------------------------------------------------------------


class _Xlsx:
    """An XlsxWriter workbook in constant-memory mode, with one shared format per kind
    of cell (bold header, money, date) rather than a style per cell."""

    WIDTHS = {"text": 18, "money": 14, "date": 12, "int": 8}

    def __init__(self, handle):
        self.book = xlsxwriter.Workbook(handle, {
            "constant_memory": True,
            # Only write_string / write_number / write_datetime are called, which never
            # read text as a formula, number or link; these say it once more.
            "strings_to_formulas": False, "strings_to_numbers": False,
            "strings_to_urls": False})
        self.header = self.book.add_format({"bold": True})
        self.formats = {"money": self.book.add_format({"num_format": MONEY_FORMAT}),
                        "date": self.book.add_format({"num_format": DATE_FORMAT}),
                        "int": None, "text": None}

    def _sheet(self, title: str, columns: list[Column]):
        sheet = self.book.add_worksheet(title)
        sheet.freeze_panes(1, 0)
        for n, column in enumerate(columns):
            sheet.set_column(n, n, self.WIDTHS[column.kind])
            sheet.write_string(0, n, column.title, self.header)
        return sheet

    @staticmethod
    def _writers(sheet):
        """write_string, write_number, write_datetime of the sheet, taking (row, col)
        numbers. XlsxWriter's public methods only add "A1" notation parsing (a decorator)
        to its _write_* ones, about a fifth of the time per cell over the ~1.5M cells of
        a reference-scale export; the public ones are the fallback should a release
        rename them."""
        return tuple(getattr(sheet, f"_{name}", getattr(sheet, name))
                     for name in ("write_string", "write_number", "write_datetime"))

    def sheet(self, title: str, columns: list[Column], rows) -> None:
        """Writes the rows under a header, continuing in "<title> (2)" ... when a sheet
        is full."""
        part, sheet, r = 1, self._sheet(title, columns), 0
        write_string, write_number, write_date = self._writers(sheet)
        plan = [(column.kind, self.formats[column.kind]) for column in columns]
        for row in rows:
            r += 1
            if r == MAX_SHEET_ROWS:
                part += 1
                sheet, r = self._sheet(f"{title} ({part})", columns), 1
                write_string, write_number, write_date = self._writers(sheet)
            for c, value in enumerate(row):
                if value is None or value == "":
                    continue
                kind, fmt = plan[c]
                if kind == "money":
                    write_number(r, c, value, fmt)
                elif kind == "text":
                    write_string(r, c, str(value))  # never a formula
                elif kind == "date":
                    write_date(r, c, value, fmt)
                else:
                    write_number(r, c, value)

    def close(self) -> None:
        self.book.close()


def initiatives_xlsx(*, organization: Organization, filters: dict):
    """The workbook in an anonymous temporary file (deleted when closed), positioned
    at its start. Six queries (initiatives, totals, the values' months, values,
    milestones, KPI links) whatever the number of rows."""
    pairs = initiatives_with_totals(organization=organization, filters=filters)
    ids = [i.pk for i, _totals in pairs]
    months = value_months(organization=organization, initiative_ids=ids)
    handle = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 (FileResponse closes it)
    try:
        xlsx = _Xlsx(handle)
        xlsx.sheet("Initiatives", initiative_columns(organization.base_currency),
                   initiative_rows(pairs))
        xlsx.sheet("Values", value_columns(months),
                   value_rows(organization=organization, initiative_ids=ids, months=months))
        xlsx.sheet("Milestones", MILESTONE_COLUMNS,
                   milestone_rows(organization=organization, initiative_ids=ids))
        xlsx.sheet("KPIs", KPI_COLUMNS,
                   kpi_rows(organization=organization, initiative_ids=ids))
        xlsx.close()
    except BaseException:
        handle.close()
        raise
    handle.seek(0)
    return handle


def export_file_name(organization: Organization, extension: str) -> str:
    return f"{organization.slug}-initiatives-{timezone.localdate():%Y-%m-%d}.{extension}"

"""Exports of an organisation's initiatives: an xlsx workbook (initiatives, values,
milestones, KPIs) and a csv of the initiatives sheet.

The filters are the initiative list's own (``InitiativeFilterForm`` and
``initiatives.selectors.initiative_list``), so a filter means the same thing on the
page and in the file. Every member may read every initiative of the organisation
(``initiatives.permissions.can_view_initiatives``), so an export holds what its
caller may see and nothing of another organisation.

Each sheet is one query whatever the number of rows (values, milestones and KPI
links are fetched with one query each, keyed by the initiatives' ids) and rows are
streamed: the csv through a generator, the xlsx through openpyxl's write-only mode
into a temporary file.

Amounts are ``Decimal`` all the way into the cell (never a float parsed from text).
Text cells are formula-safe: in csv a cell starting with = + - @ (or a tab / carriage
return) gets a leading quote; in xlsx text is always written as a string cell, so a
title such as ``=HYPERLINK(...)`` is shown, never evaluated.
"""

import csv
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django_scopes import scope

from cat4.tenancy.models import Membership, Organization
from initiatives import permissions as initiative_perms
from initiatives import selectors as initiative_selectors
from initiatives.calculations import Rag, RagColour, apply_staleness
from initiatives.forms import InitiativeFilterForm
from initiatives.models import ImpactCategory, Milestone, MonthlyValue, Stage, ValueKind
from kpis.models import KpiLink, KpiReading, KpiSnapshot
from kpis.selectors import is_stale as kpi_is_stale

MONEY_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"
CHUNK = 2000
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def can_export(*, membership: Membership | None) -> bool:
    """Whoever may read the initiative list may export it."""
    return initiative_perms.can_view_initiatives(membership=membership)


class FilterError(Exception):
    """The export's filters are not valid (an unknown stage, a program of another
    organisation...): refused rather than silently exporting something else."""

    def __init__(self, errors: dict):
        super().__init__("Invalid export filters.")
        self.errors = errors


def parse_filters(data, *, organization: Organization) -> dict:
    """The list page's filters from a query dict, as keyword arguments of
    ``initiative_list``; raises FilterError with the form's errors."""
    form = InitiativeFilterForm(data, organization=organization)
    if not form.is_valid():
        raise FilterError({k: [str(m) for m in v] for k, v in form.errors.items()})
    cleaned = form.cleaned_data
    return {"stage": cleaned.get("stage") or "",
            "program": cleaned["program"].pk if cleaned.get("program") else None,
            "owner": cleaned["owner"].pk if cleaned.get("owner") else None,
            "query": cleaned.get("q") or "",
            "sort": cleaned.get("sort") or "code"}


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


VALUE_COLUMNS = [Column("Code"), Column("Line"), Column("Category"), Column("Month", "date"),
                 Column("Kind"), Column("Amount", "money")]
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


def value_rows(*, organization: Organization, initiative_ids: list[int]) -> Iterator[list]:
    rows = (MonthlyValue.objects
            .filter(organization=organization, line__initiative_id__in=initiative_ids)
            .order_by("line__initiative__code", "line_id", "month", "kind")
            .values_list("line__initiative__code", "line__description", "line__category",
                         "month", "kind", "amount"))
    for code, line, category, month, kind, amount in rows.iterator(chunk_size=CHUNK):
        yield [code, line, CATEGORY_LABELS.get(category, category), month,
               KIND_LABELS.get(kind, kind), amount]


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
    readings = KpiReading.objects.filter(kpi=OuterRef("kpi")).order_by("-period")
    snapshots = KpiSnapshot.objects.filter(kpi=OuterRef("kpi")).order_by("-period")
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


def _xlsx_sheet(workbook, title: str, columns: list[Column], rows) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    sheet = workbook.create_sheet(title)
    sheet.freeze_panes = "A2"
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=column.title)
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    for row in rows:
        cells = []
        for column, value in zip(columns, row, strict=True):
            cell = WriteOnlyCell(sheet, value=value)
            if value is None:
                pass
            elif column.kind == "money":
                cell.number_format = MONEY_FORMAT
            elif column.kind == "date":
                cell.number_format = DATE_FORMAT
            elif isinstance(value, str):
                cell.data_type = "s"  # never a formula, whatever the text starts with
            cells.append(cell)
        sheet.append(cells)


def initiatives_xlsx(*, organization: Organization, filters: dict):
    """The workbook in an anonymous temporary file (deleted when closed), positioned
    at its start. Five queries (initiatives, totals, values, milestones, KPI links)
    whatever the number of rows."""
    from openpyxl import Workbook

    pairs = initiatives_with_totals(organization=organization, filters=filters)
    ids = [i.pk for i, _totals in pairs]
    workbook = Workbook(write_only=True)
    _xlsx_sheet(workbook, "Initiatives", initiative_columns(organization.base_currency),
                initiative_rows(pairs))
    _xlsx_sheet(workbook, "Values", VALUE_COLUMNS,
                value_rows(organization=organization, initiative_ids=ids))
    _xlsx_sheet(workbook, "Milestones", MILESTONE_COLUMNS,
                milestone_rows(organization=organization, initiative_ids=ids))
    _xlsx_sheet(workbook, "KPIs", KPI_COLUMNS,
                kpi_rows(organization=organization, initiative_ids=ids))
    handle = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 (FileResponse closes it)
    workbook.save(handle)
    handle.seek(0)
    return handle


def export_file_name(organization: Organization, extension: str) -> str:
    return f"{organization.slug}-initiatives-{timezone.localdate():%Y-%m-%d}.{extension}"

"""Workbooks for the Excel import tests, built with openpyxl in the test itself."""

import datetime as dt
import io

import openpyxl
from django.core.files.uploadedfile import SimpleUploadedFile

from reporting.imports import INITIATIVE_COLUMNS, VALUE_COLUMNS

INITIATIVE_HEADER = [c.name for c in INITIATIVE_COLUMNS]
VALUE_HEADER = [c.name for c in VALUE_COLUMNS]


def initiative(**overrides) -> dict:
    row = {"code": "AC-201", "title": "Warehouse consolidation", "description": "Two into one",
           "program": "Acme Procurement", "owner_email": "owner@acme.test",
           "sponsor_email": "executive@acme.test", "controller_email": "controller@acme.test",
           "business_unit": None, "function": None, "start_date": dt.date(2026, 1, 1),
           "target_date": dt.date(2026, 12, 31), "update_cadence_days": 30}
    row.update(overrides)
    return row


def value(**overrides) -> dict:
    row = {"code": "AC-201", "line": "Rent", "category": "cost_reduction", "recurring": "yes",
           "month": "2026-03", "kind": "planned", "amount": 1000}
    row.update(overrides)
    return row


def workbook(initiatives=(), values=(), *, initiative_header=None, value_header=None,
             with_values_sheet=True, initiatives_title="Initiatives") -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = initiatives_title
    header = initiative_header or INITIATIVE_HEADER
    ws.append(header)
    for row in initiatives:
        ws.append([row.get(name) for name in header])
    if with_values_sheet:
        ws = wb.create_sheet("Values")
        header = value_header or VALUE_HEADER
        ws.append(header)
        for row in values:
            ws.append([row.get(name) for name in header])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def upload(content: bytes, name: str = "portfolio.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def clean_file() -> bytes:
    """Two new initiatives, one with planned values on two lines."""
    return workbook(
        [initiative(), initiative(code="AC-202", title="Fleet renewal", sponsor_email=None,
                                  controller_email=None, update_cadence_days=None)],
        [value(), value(month="2026-04", amount=1250.5),
         value(line="Energy", category="cost_avoidance", recurring="no", amount="300.25")])


def read(content: bytes) -> dict[str, list[list]]:
    wb = openpyxl.load_workbook(io.BytesIO(content))
    return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in wb}

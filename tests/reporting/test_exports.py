"""Exports of the initiatives: xlsx (four sheets, the values one row per line and kind
with the months as columns) and csv (the initiatives sheet), with the list's filters,
the caller's organisation only, formula-safe text, Decimal amounts and a query count
that does not grow with the number of rows."""

import csv
import io
import zipfile
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope, scopes_disabled
from openpyxl import load_workbook

from cat4.tenancy.models import Role
from initiatives.models import (
    BusinessUnit,
    ImpactCategory,
    Initiative,
    MonthlyValue,
    Program,
    ValueKind,
)
from kpis.models import Kpi, KpiLink, KpiReading, KpiSnapshot
from reporting import exports
from tests.conftest import ORG_A_MARKER, ORG_B_MARKER, api_client_for, client_for
from tests.factories import (
    ImpactLineFactory,
    InitiativeFactory,
    MilestoneFactory,
    ProgramFactory,
)


def _fill(initiative, *, planned=("1000.10", "2000.20"), forecast=("900.05",),
          one_time="500.00"):
    """A benefit line with planned and forecast months, and a one-time cost line."""
    line = ImpactLineFactory(initiative=initiative, description="Freight rates")
    for i, amount in enumerate(planned):
        MonthlyValue.objects.create(organization=initiative.organization, line=line,
                                    month=date(2026, i + 1, 1), kind="planned",
                                    amount=Decimal(amount))
    for i, amount in enumerate(forecast):
        MonthlyValue.objects.create(organization=initiative.organization, line=line,
                                    month=date(2026, i + 1, 1), kind="forecast",
                                    amount=Decimal(amount))
    cost = ImpactLineFactory(initiative=initiative, category="one_time_cost",
                             description="Consultants")
    MonthlyValue.objects.create(organization=initiative.organization, line=cost,
                                month=date(2026, 1, 1), kind="planned", amount=Decimal(one_time))
    return line


@pytest.fixture
def data(world):
    with scopes_disabled():
        org = world.org_a
        _fill(world.initiative)
        MilestoneFactory(initiative=world.initiative, title="Tender issued",
                         due_date=date(2026, 3, 31), done_date=date(2026, 3, 20), weight=2)
        MilestoneFactory(initiative=world.initiative, title="Contract signed",
                         due_date=date(2026, 6, 30))
        kpi = Kpi.objects.create(organization=org, name="Freight cost per pallet", unit="EUR",
                                 direction="lower", baseline="12.50",
                                 baseline_date=date(2026, 1, 1), target="10",
                                 target_date=date(2027, 12, 31),
                                 owner=world.a[Role.OWNER].user)
        KpiLink.objects.create(organization=org, kpi=kpi, initiative=world.initiative,
                               weight="1")
        for month, value in ((1, "12.40"), (2, "12.10")):
            KpiReading.objects.create(organization=org, kpi=kpi, period=date(2026, month, 1),
                                      value=Decimal(value), entered_by=world.a[Role.OWNER].user)
        KpiSnapshot.objects.create(organization=org, kpi=kpi, period=date(2026, 2, 1),
                                   expected="12.3", actual="12.10", variance="-0.2",
                                   performance="1.05", rag="red",
                                   explanation="12.10 against 12.30 expected",
                                   computed_at="2026-02-02T00:00:00Z")
        # A second initiative in another program and stage, with a hostile title.
        other_program = ProgramFactory(organization=org, portfolio__organization=org,
                                       name="Acme Warehousing")
        hostile = InitiativeFactory(program=other_program, code="AC-200",
                                    title='=HYPERLINK("http://evil.test","x")',
                                    owner=world.a[Role.ADMIN].user)
        _fill(hostile, planned=("10.00",), forecast=())
        # Org B: must never appear in org A's exports.
        b_init = InitiativeFactory(
            program=ProgramFactory(organization=world.org_b, portfolio__organization=world.org_b,
                                   name=f"{ORG_B_MARKER} program"),
            code="GX-001", title=f"{ORG_B_MARKER} secret", owner=world.b_executive.user)
        _fill(b_init)
    return world


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


def _workbook(response):
    return load_workbook(io.BytesIO(_body(response)))


def _xlsx_url(world, **params):
    from urllib.parse import urlencode

    url = reverse("export_initiatives_xlsx", kwargs={"org_slug": world.org_a.slug})
    return f"{url}?{urlencode(params)}" if params else url


def _csv_url(world, **params):
    from urllib.parse import urlencode

    url = reverse("export_initiatives_csv", kwargs={"org_slug": world.org_a.slug})
    return f"{url}?{urlencode(params)}" if params else url


def test_xlsx_has_four_sheets_with_the_source_values(data):
    response = client_for(data.a[Role.VIEWER].user).get(_xlsx_url(data))
    assert response.status_code == 200
    assert response["Content-Type"] == exports.XLSX_CONTENT_TYPE
    assert "attachment" in response["Content-Disposition"]
    book = _workbook(response)
    assert book.sheetnames == ["Initiatives", "Values", "Milestones", "KPIs"]

    rows = list(book["Initiatives"].iter_rows(values_only=True))
    assert rows[0][:3] == ("Code", "Title", "Stage")
    assert rows[0][11] == "Planned (EUR)"
    by_code = {r[0]: r for r in rows[1:]}
    assert set(by_code) == {"AC-100", "AC-200"}
    ac = by_code["AC-100"]
    assert ac[1:5] == ("Acme freight tender", "Identified", "Acme Procurement",
                       data.initiative.program.portfolio.name)
    assert ac[6:9] == ("Acme Owner", "Acme Executive", "Acme Controller")
    # Benefit lines only (the one-time cost is kept apart), exact to the cent.
    assert Decimal(str(ac[11])) == Decimal("3000.30")
    assert Decimal(str(ac[12])) == Decimal("900.05")
    assert Decimal(str(ac[13])) == Decimal("0")
    planned_cell = book["Initiatives"]["L2"]
    assert planned_cell.data_type == "n" and planned_cell.number_format == exports.MONEY_FORMAT
    assert book["Initiatives"]["J2"].number_format == exports.DATE_FORMAT

    values = list(book["Values"].iter_rows(values_only=True))
    assert values[0] == ("code", "line", "category", "kind", "2026-01", "2026-02")
    # One row per initiative, line and kind (planned, forecast, actual order), the
    # months as columns, blank where the line has no value that month.
    assert [r[:4] for r in values[1:]] == [
        ("AC-100", "Freight rates", "Cost reduction", "Planned"),
        ("AC-100", "Freight rates", "Cost reduction", "Forecast"),
        ("AC-100", "Consultants", "One-time cost", "Planned"),
        ("AC-200", "Freight rates", "Cost reduction", "Planned"),
        ("AC-200", "Consultants", "One-time cost", "Planned"),
    ]
    assert _amounts(values[1]) == [Decimal("1000.10"), Decimal("2000.20")]
    assert _amounts(values[2]) == [Decimal("900.05"), None]
    assert _amounts(values[3]) == [Decimal("500.00"), None]
    amount_cell = book["Values"]["E2"]
    assert amount_cell.data_type == "n" and amount_cell.number_format == exports.MONEY_FORMAT
    assert book["Values"]["F3"].value is None
    assert _value_cells(values) == _source_values(data.org_a)

    milestones = list(book["Milestones"].iter_rows(values_only=True))[1:]
    assert [m[1] for m in milestones] == ["Tender issued", "Contract signed"]
    assert milestones[0][3].date() == date(2026, 3, 20) and milestones[0][4] == 2

    kpis = list(book["KPIs"].iter_rows(values_only=True))[1:]
    assert len(kpis) == 1
    code, name, unit, _weight, period, value, rag, _why = kpis[0]
    assert (code, name, unit) == ("AC-100", "Freight cost per pallet", "EUR")
    assert period.date() == date(2026, 2, 1) and Decimal(str(value)) == Decimal("12.10")
    assert rag == "red"


def _amounts(row) -> list:
    """A Values row's month cells as exact Decimals (a reader gives floats)."""
    return [None if v is None else Decimal(str(v)) for v in row[4:]]


def _value_cells(rows) -> dict:
    """The Values sheet's non-blank cells: (code, line, kind, "YYYY-MM") -> amount."""
    header, *body = rows
    return {(r[0], r[1], r[3], month): Decimal(str(amount))
            for r in body for month, amount in zip(header[4:], r[4:], strict=True)
            if amount is not None}


def _source_values(org) -> dict:
    """The same, straight from the MonthlyValue rows."""
    kinds = dict(ValueKind.choices)
    with scopes_disabled():
        return {(v.line.initiative.code, v.line.description, kinds[v.kind],
                 f"{v.month:%Y-%m}"): v.amount
                for v in MonthlyValue.objects.filter(organization=org)
                .select_related("line__initiative")}


def test_xlsx_writes_decimals_not_floats_and_never_formulas(data):
    with scopes_disabled():
        hostile = Initiative.objects.get(organization=data.org_a, code="AC-200")
        line = ImpactLineFactory(initiative=hostile, description="@SUM(A1:A9)",
                                 category=ImpactCategory.REVENUE_INCREASE)
        MonthlyValue.objects.create(organization=data.org_a, line=line,
                                    month=date(2026, 3, 1), kind="planned",
                                    amount=Decimal("12.34"))
    body = _body(client_for(data.a[Role.ADMIN].user).get(_xlsx_url(data)))
    archive = zipfile.ZipFile(io.BytesIO(body))
    for name in archive.namelist():
        if name.startswith("xl/worksheets/"):
            assert "<f>" not in archive.read(name).decode(), name  # text, never a formula
    sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<v>3000.30</v>" in sheet or "<v>3000.3</v>" in sheet
    book = load_workbook(io.BytesIO(body))
    title = next(r for r in book["Initiatives"].iter_rows() if r[0].value == "AC-200")[1]
    assert title.data_type == "s" and title.value.startswith("=HYPERLINK")
    hostile = next(r for r in book["Values"].iter_rows() if r[1].value == "@SUM(A1:A9)")
    assert hostile[1].data_type == "s"
    assert _amounts([c.value for c in hostile]) == [None, None, Decimal("12.34")]


def test_a_full_sheet_continues_on_the_next(data, monkeypatch):
    whole = _workbook(client_for(data.a[Role.VIEWER].user).get(_xlsx_url(data)))
    monkeypatch.setattr(exports, "MAX_SHEET_ROWS", 3)  # a header and two rows per sheet
    book = _workbook(client_for(data.a[Role.VIEWER].user).get(_xlsx_url(data)))
    assert book.sheetnames == ["Initiatives", "Values", "Values (2)", "Values (3)",
                               "Milestones", "KPIs"]
    parts = [list(book[name].iter_rows(values_only=True))
             for name in ("Values", "Values (2)", "Values (3)")]
    assert [len(p) for p in parts] == [3, 3, 2]
    header = parts[0][0]
    assert all(p[0] == header for p in parts)
    assert [r for p in parts for r in p[1:]] == list(
        whole["Values"].iter_rows(values_only=True))[1:]


def test_csv_is_utf8_with_bom_formula_safe_and_equal_to_the_source(data):
    response = client_for(data.a[Role.OWNER].user).get(_csv_url(data))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    body = _body(response)
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][0] == "Code" and rows[0][11] == "Planned (EUR)"
    by_code = {r[0]: r for r in rows[1:]}
    assert by_code["AC-100"][11:14] == ["3000.30", "900.05", "0.00"]
    assert by_code["AC-100"][9:11] == ["2026-01-01", "2027-12-31"]
    assert by_code["AC-200"][1] == "'" + '=HYPERLINK("http://evil.test","x")'
    assert ORG_B_MARKER not in body.decode()


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "plain"])
def test_safe_text(value):
    cleaned = exports.safe_text(value)
    assert cleaned == (value if value == "plain" else "'" + value)


def test_filters_mean_what_they_mean_on_the_list(data):
    client = client_for(data.a[Role.EXECUTIVE].user)
    with scopes_disabled():
        program = data.initiative.program_id
    for params, codes in [({"program": program}, {"AC-100"}), ({"q": "HYPER"}, {"AC-200"}),
                          ({"owner": data.a[Role.ADMIN].user.pk}, {"AC-200"}),
                          ({"stage": "closed"}, set()), ({}, {"AC-100", "AC-200"})]:
        rows = list(csv.reader(io.StringIO(
            _body(client.get(_csv_url(data, **params))).decode("utf-8-sig"))))
        assert {r[0] for r in rows[1:]} == codes, params
        book = _workbook(client.get(_xlsx_url(data, **params)))
        values = list(book["Values"].iter_rows(values_only=True))
        assert {r[0] for r in values[1:]} == codes
        assert _value_cells(values) == {k: v for k, v in _source_values(data.org_a).items()
                                        if k[0] in codes}
    # Sorted as the list sorts (AC-200's target date is earlier than AC-100's).
    with scopes_disabled():
        Initiative.objects.filter(organization=data.org_a, code="AC-200").update(
            target_date=date(2026, 6, 30))
    for sort, codes in [("target", ["AC-200", "AC-100"]), ("-target", ["AC-100", "AC-200"])]:
        rows = list(csv.reader(io.StringIO(
            _body(client.get(_csv_url(data, sort=sort))).decode("utf-8-sig"))))
        assert [r[0] for r in rows[1:]] == codes, sort
        book = _workbook(client.get(_xlsx_url(data, sort=sort)))
        assert [r[0] for r in list(book["Initiatives"].iter_rows(values_only=True))[1:]] \
            == codes, sort


def test_an_id_of_another_organisation_is_refused_not_ignored(data):
    with scopes_disabled():
        b_program = Program.objects.filter(organization=data.org_b).first()
    client = client_for(data.a[Role.EXECUTIVE].user)
    assert client.get(_csv_url(data, program=b_program.pk)).status_code == 400
    assert client.get(_xlsx_url(data, stage="nonsense")).status_code == 400
    api = api_client_for(data.a[Role.EXECUTIVE].user)
    url = reverse("api_export_initiatives_csv", kwargs={"org_slug": "acme"})
    response = api.get(url, {"program": b_program.pk})
    assert response.status_code == 400 and "program" in response.json()


def test_api_exports_with_filters(data):
    api = api_client_for(data.a[Role.VIEWER].user)
    url = reverse("api_export_initiatives_xlsx", kwargs={"org_slug": "acme"})
    response = api.get(url, {"q": "freight"}, HTTP_ACCEPT=exports.XLSX_CONTENT_TYPE)
    assert response.status_code == 200
    book = _workbook(response)
    assert [r[0] for r in list(book["Initiatives"].iter_rows(values_only=True))[1:]] == [
        "AC-100"]
    url = reverse("api_export_initiatives_csv", kwargs={"org_slug": "acme"})
    response = api.get(url, HTTP_ACCEPT="text/csv")
    assert response.status_code == 200
    assert ORG_A_MARKER not in _body(response).decode()  # the org's name is not a column
    # Org B's executive sees only org B.
    b = api_client_for(data.b_executive.user)
    body = _body(b.get(reverse("api_export_initiatives_csv", kwargs={"org_slug": "globex"})))
    assert "GX-001" in body.decode() and "AC-100" not in body.decode()


def _queries(world, *, kind: str) -> int:
    with CaptureQueriesContext(connection) as ctx, scope(organization=world.org_a):
        if kind == "xlsx":
            exports.initiatives_xlsx(organization=world.org_a,
                                     filters={"sort": "code"}).close()
        else:
            list(exports.initiatives_csv(organization=world.org_a, filters={"sort": "code"}))
    return len(ctx.captured_queries)


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_query_count_does_not_grow_with_rows(data, kind):
    one = _queries(data, kind=kind)
    with scopes_disabled():
        for n in range(20):
            initiative = InitiativeFactory(program=data.initiative.program, code=f"AC-{500 + n}",
                                           owner=data.a[Role.OWNER].user,
                                           sponsor=data.a[Role.EXECUTIVE].user)
            _fill(initiative)
            MilestoneFactory(initiative=initiative)
            KpiLink.objects.create(organization=data.org_a,
                                   kpi=Kpi.objects.get(organization=data.org_a),
                                   initiative=initiative, weight="1")
    assert _queries(data, kind=kind) == one
    assert one <= (6 if kind == "xlsx" else 2)


def test_list_page_links_carry_the_filters(data):
    client = client_for(data.a[Role.VIEWER].user)
    url = reverse("initiative_list", kwargs={"org_slug": "acme"})
    html = client.get(url, {"stage": "identified", "q": "freight"}).content.decode()
    assert "exports/initiatives.xlsx?" in html and "exports/initiatives.csv?" in html
    assert "stage=identified" in html and "q=freight" in html


# --- Portfolio and business-unit filters -------------------------------------------------


@pytest.fixture
def units(data):
    """AC-100 in Logistics; AC-200 (another program and portfolio) in Finance; AC-300 in
    AC-200's portfolio without a unit; org B with a portfolio and a unit of its own."""
    with scopes_disabled():
        org = data.org_a
        logistics = BusinessUnit.objects.create(organization=org, name="Logistics")
        finance = BusinessUnit.objects.create(organization=org, name="Finance")
        Initiative.objects.filter(organization=org, code="AC-100").update(
            business_unit=logistics)
        hostile = Initiative.objects.get(organization=org, code="AC-200")
        hostile.business_unit = finance
        hostile.save(update_fields=["business_unit"])
        _fill(InitiativeFactory(program=hostile.program, code="AC-300", title="Racking",
                                owner=data.a[Role.OWNER].user))
        b_initiative = Initiative.objects.get(organization=data.org_b, code="GX-001")
        b_unit = BusinessUnit.objects.create(organization=data.org_b,
                                             name=f"{ORG_B_MARKER} unit")
        b_initiative.business_unit = b_unit
        b_initiative.save(update_fields=["business_unit"])
        return {"procurement": data.initiative.program.portfolio_id,
                "warehousing": hostile.program.portfolio_id,
                "logistics": logistics.pk, "finance": finance.pk,
                "owner": data.a[Role.OWNER].user.pk,
                "b_portfolio": b_initiative.program.portfolio_id, "b_unit": b_unit.pk}


def _codes_in_both(response_csv, response_xlsx) -> set[str]:
    """The codes of the csv, checked against every sheet of the xlsx that names one."""
    assert response_csv.status_code == 200 and response_xlsx.status_code == 200
    rows = list(csv.reader(io.StringIO(_body(response_csv).decode("utf-8-sig"))))
    codes = {r[0] for r in rows[1:]}
    book = _workbook(response_xlsx)
    assert {r[0] for r in list(book["Initiatives"].iter_rows(values_only=True))[1:]} == codes
    assert {r[0] for r in list(book["Values"].iter_rows(values_only=True))[1:]} == codes
    for sheet in ("Milestones", "KPIs"):
        assert {r[0] for r in list(book[sheet].iter_rows(values_only=True))[1:]} <= codes
    return codes


def _portfolio_cases(u):
    return [
        ({"portfolio": u["procurement"]}, {"AC-100"}),
        ({"portfolio": u["warehousing"]}, {"AC-200", "AC-300"}),
        ({"business_unit": u["logistics"]}, {"AC-100"}),
        ({"business_unit": u["finance"]}, {"AC-200"}),
        ({"portfolio": u["warehousing"], "business_unit": u["finance"]}, {"AC-200"}),
        ({"portfolio": u["warehousing"], "owner": u["owner"]}, {"AC-300"}),
        ({"portfolio": u["warehousing"], "q": "rack"}, {"AC-300"}),
        ({"portfolio": u["procurement"], "business_unit": u["finance"]}, set()),
        ({"business_unit": u["logistics"], "stage": "closed"}, set()),
    ]


def test_page_exports_filter_by_portfolio_and_business_unit(data, units):
    client = client_for(data.a[Role.EXECUTIVE].user)
    for params, codes in _portfolio_cases(units):
        found = _codes_in_both(client.get(_csv_url(data, **params)),
                               client.get(_xlsx_url(data, **params)))
        assert found == codes, params
    # The Business unit and Portfolio columns say so.
    rows = list(csv.reader(io.StringIO(_body(client.get(_csv_url(
        data, business_unit=units["logistics"]))).decode("utf-8-sig"))))
    assert rows[0][4:6] == ["Portfolio", "Business unit"] and rows[1][5] == "Logistics"


def test_api_exports_filter_by_portfolio_and_business_unit(data, units):
    api = api_client_for(data.a[Role.VIEWER].user)
    csv_url = reverse("api_export_initiatives_csv", kwargs={"org_slug": "acme"})
    xlsx_url = reverse("api_export_initiatives_xlsx", kwargs={"org_slug": "acme"})
    for params, codes in _portfolio_cases(units):
        found = _codes_in_both(
            api.get(csv_url, params, HTTP_ACCEPT="text/csv"),
            api.get(xlsx_url, params, HTTP_ACCEPT=exports.XLSX_CONTENT_TYPE))
        assert found == codes, params


@pytest.mark.parametrize("field", ["portfolio", "business_unit"])
def test_a_foreign_portfolio_or_unit_is_refused_by_every_export(data, units, field):
    foreign = units["b_portfolio" if field == "portfolio" else "b_unit"]
    client = client_for(data.a[Role.EXECUTIVE].user)
    for url in (_csv_url(data, **{field: foreign}), _xlsx_url(data, **{field: foreign})):
        response = client.get(url)
        assert response.status_code == 400 and field in response.content.decode()
    api = api_client_for(data.a[Role.EXECUTIVE].user)
    for name in ("api_export_initiatives_csv", "api_export_initiatives_xlsx"):
        response = api.get(reverse(name, kwargs={"org_slug": "acme"}), {field: foreign})
        assert response.status_code == 400 and list(response.json()) == [field], name
        assert ORG_B_MARKER not in response.content.decode()


def test_parse_filters_passes_portfolio_and_business_unit(data, units):
    from django.http import QueryDict

    query = QueryDict(f"portfolio={units['warehousing']}&business_unit={units['finance']}"
                      "&stage=identified&sort=-target")
    with scope(organization=data.org_a):
        assert exports.parse_filters(query, organization=data.org_a) == {
            "stage": "identified", "portfolio": units["warehousing"], "program": None,
            "business_unit": units["finance"], "owner": None, "query": "",
            "sort": "-target"}


def test_list_page_export_links_carry_portfolio_and_business_unit(data, units):
    client = client_for(data.a[Role.VIEWER].user)
    params = {"portfolio": units["warehousing"], "business_unit": units["finance"]}
    html = client.get(reverse("initiative_list", kwargs={"org_slug": "acme"}),
                      params).content.decode()
    query = f"portfolio={units['warehousing']}&amp;business_unit={units['finance']}"
    assert f"exports/initiatives.xlsx?{query}" in html
    assert f"exports/initiatives.csv?{query}" in html
    # Following the link exports what the page lists.
    assert _codes_in_both(client.get(_csv_url(data, **params)),
                          client.get(_xlsx_url(data, **params))) == {"AC-200"}

"""The dashboard's drill-down in the API (``GET /api/v1/o/<slug>/dashboard/initiatives/``):
every figure's ``drill.api_url`` followed to its initiatives (totals equal the figure, the
rows are the drill-down page's), the rows against the raw rows (the helpers of
test_dashboard.py), every filter and sort as on the page, pagination, 400s on bad input (a
foreign id included), a flat query count and the OpenAPI schema. Who may call it:
tests/tenancy/test_isolation_matrix.py."""

import re
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scopes_disabled
from drf_spectacular.generators import SchemaGenerator
from rest_framework.pagination import PageNumberPagination

from cat4.tenancy.models import Role
from initiatives.models import BusinessUnit
from reporting import rollups
from reporting.models import InitiativeFact
from reporting.selectors import DRILL_SORTS
from tests.conftest import ORG_A_MARKER, api_client_for, client_for
from tests.factories import ProgramFactory
from tests.reporting.test_dashboard import (
    FY,
    add_initiatives,
    add_kpis,
    expected_rows,
    total,
    url,
)
from tests.reporting.test_dashboard_api import BAD_FILTERS, _foreign_owner

pytestmark = pytest.mark.django_db

D = Decimal
MONEY = re.compile(r"-?\d+\.\d{2}")
SUMS = ("planned", "forecast", "actual", "outturn", "variance", "run_rate")


@pytest.fixture
def portfolio(world):
    """The same portfolio as test_dashboard.py's: 15 initiatives, 4 KPIs, rollups built."""
    add_initiatives(world, 0, 14)
    add_kpis(world)
    rollups.rebuild(organization=world.org_a)
    return world


def drill_api_url(org_slug="acme") -> str:
    return reverse("api_dashboard_initiatives", kwargs={"org_slug": org_slug})


def money(value) -> Decimal:
    """An amount of the API: always a decimal string with two places, never a float."""
    assert isinstance(value, str) and MONEY.fullmatch(value), value
    return D(value)


def api_all(client, target, params=None) -> tuple[list[dict], dict]:
    """Every row over every page (following ``next``) and the first page's answer."""
    response = client.get(target, params)
    rows, first = [], None
    while True:
        assert response.status_code == 200, response.content[:500]
        body = response.json()
        first = first or body
        assert body["totals"] == first["totals"] and body["count"] == first["count"]
        rows += body["results"]
        if not body["next"]:
            return rows, first
        response = client.get(body["next"])


def api_drill(user, **params) -> tuple[list[dict], dict]:
    return api_all(api_client_for(user), drill_api_url(), {"fiscal_year": FY, **params})


def page_all(client, target) -> tuple[list[int], object]:
    """The initiative ids the drill-down page lists over its pages, and its totals."""
    ids, n = [], 1
    while True:
        response = client.get(f"{target}{'&' if '?' in target else '?'}page={n}")
        assert response.status_code == 200
        page = response.context["page"]
        ids += [f.initiative_id for f in page.object_list]
        if not page.has_next():
            return ids, response.context["totals"]
        n += 1


def page_drill(user, **params):
    return page_all(client_for(user), url("dashboard_initiatives", **{"fiscal_year": FY,
                                                                      **params}))


def sums(totals) -> dict:
    """The page's ``DrillTotals`` in the API's terms."""
    return {"count": totals.count, "planned": totals.money.planned,
            "forecast": totals.money.forecast, "actual": totals.money.actual,
            "outturn": totals.money.outturn, "variance": totals.money.variance,
            "run_rate": totals.run_rate}


def api_sums(body) -> dict:
    t = body["totals"]
    return {"count": t["count"], **{k: money(t[k]) for k in SUMS}}


def drills(body) -> list[tuple[str, dict, dict]]:
    """(what, the figure, its drill) for every figure of the dashboard API that links to
    initiatives."""
    out = [("headline", body["headline"], body["headline"]["drill"])]
    out += [(f"stage {s['stage']}", s, s["drill"]) for s in body["stages"]]
    out += [(f"cell {c['schedule']}/{c['financial']}", c, c["drill"]) for c in body["matrix"]]
    out += [("variances", body["variances"], body["variances"]["drill"]),
            ("stale", body["stale"], body["stale"]["drill"])]
    out += [(f"escalation level {e['level']}", e, e["drill"])
            for e in body["escalations"] or []]
    return out


# --- From the dashboard's figures ------------------------------------------------------------


@pytest.mark.parametrize("narrow", [False, True], ids=["all", "one-program"])
def test_every_drill_api_url_lists_the_initiatives_behind_its_figure(portfolio, narrow):
    user = portfolio.a[Role.EXECUTIVE].user
    params = {"fiscal_year": FY}
    if narrow:
        with scopes_disabled():
            params["program"] = portfolio.initiative.program_id
    client = api_client_for(user)
    response = client.get(reverse("api_dashboard", kwargs={"org_slug": "acme"}), params)
    assert response.status_code == 200
    body = response.json()
    page = client_for(user)
    seen = set()
    for what, figure, drill in drills(body):
        # The API's drill-down takes the very query of the page's.
        api_url = urlsplit(drill["api_url"])
        assert api_url.path == drill_api_url(), what
        assert api_url.query == urlsplit(drill["url"]).query, what
        assert parse_qs(api_url.query) == {k: [v] for k, v in drill["params"].items()}, what

        rows, answer = api_all(client, drill["api_url"])
        assert answer["params"] == drill["params"], what
        assert answer["fiscal_year"] == FY and answer["currency"] == "EUR"
        totals = api_sums(answer)
        count = figure.get("count", figure.get("initiatives"))
        assert totals["count"] == answer["count"] == len(rows) == count, what
        if what == "headline" or what.startswith("stage"):
            for key in ("planned", "forecast", "actual", "outturn", "run_rate"):
                assert totals[key] == money(figure[key]), (what, key)
        if what == "headline":
            assert totals["variance"] == money(figure["variance"])
        if what == "variances":
            assert totals["variance"] == money(figure["total"]) < 0
            assert all(money(r["variance"]) < 0 for r in rows)
        if what == "stale":
            assert all(r["stale"] for r in rows)
        if what.startswith("cell"):
            assert {(r["schedule"], r["financial"]) for r in rows} <= {
                (figure["schedule"], figure["financial"])}
        if narrow:
            assert {r["program"]["id"] for r in rows} <= {params["program"]}
        # The rows add up to the totals.
        for key in SUMS:
            assert sum((money(r[key]) for r in rows), D(0)) == totals[key], (what, key)
        # The page's drill-down: the same initiatives in the same order, the same totals.
        ids, page_totals = page_all(page, drill["url"])
        assert [r["id"] for r in rows] == ids, what
        assert sums(page_totals) == totals, what
        seen.add(drill["api_url"])
    assert len(seen) == 1 + 7 + 16 + 2 + 3  # each figure its own drill-down


def test_rows_carry_the_pages_columns_and_the_raw_values(portfolio):
    user = portfolio.a[Role.EXECUTIVE].user
    rows, body = api_drill(user)
    expected = expected_rows(portfolio)
    assert sorted(r["id"] for r in rows) == sorted(expected)
    assert [r["code"] for r in rows] == sorted(r["code"] for r in rows)  # by code
    with scopes_disabled():
        facts = {f.initiative_id: f for f in InitiativeFact.objects.filter(
            organization=portfolio.org_a).select_related(
            "initiative", "program", "portfolio", "business_unit", "owner")}
    assert any(r["business_unit"] is None for r in rows)  # the world's own initiative
    for r in rows:
        e, f = expected[r["id"]], facts[r["id"]]
        assert set(r) == {"id", "code", "title", "url", "stage", "program", "portfolio",
                          "business_unit", "owner", "schedule", "financial", "stale",
                          "last_update", *SUMS}
        assert (r["code"], r["title"]) == (f.initiative.code, f.initiative.title)
        assert r["url"] == reverse("api_initiative_detail", kwargs={
            "org_slug": "acme", "initiative_id": r["id"]})
        assert (r["stage"], r["program"]["id"], r["portfolio"]["id"], r["owner"]["id"],
                r["stale"]) == (e["stage"], e["program"], e["portfolio"], e["owner"],
                                e["stale"])
        assert r["program"]["name"] == f.program.name
        assert r["portfolio"]["name"] == f.portfolio.name
        assert r["business_unit"] == (None if e["bu"] is None else {
            "id": e["bu"], "name": f.business_unit.name})
        assert (r["owner"]["email"], r["owner"]["full_name"]) == (f.owner.email,
                                                                  f.owner.full_name)
        assert (r["schedule"], r["financial"]) == (f.schedule_rag, f.financial_rag)
        assert r["last_update"] == (f.last_update and f.last_update.isoformat())
        for key in ("planned", "forecast", "actual", "outturn"):
            assert money(r[key]) == e[key], (r["code"], key)
        assert money(r["variance"]) == e["outturn"] - e["planned"]
        assert money(r["run_rate"]) == f.run_rate
    t = api_sums(body)
    assert t["count"] == 15 and t["planned"] == total(expected.values(), "planned")
    assert (body["fiscal_label"], body["figures_as_of"] is not None) == (
        client_for(user).get(url("dashboard_initiatives", fiscal_year=FY)).context[
            "fiscal_label"], True)


def test_no_amount_is_a_float(portfolio):
    raw = api_client_for(portfolio.a[Role.VIEWER].user).get(
        drill_api_url(), {"fiscal_year": FY}).content.decode()
    assert not re.search(r'"(planned|forecast|actual|outturn|variance|run_rate)": -?\d', raw)


# --- Filters and sort ------------------------------------------------------------------------


def _structure(name):
    def value(world):
        key = {"business_unit": "bu"}.get(name, name)
        return next(r[key] for r in expected_rows(world).values() if r[key] is not None)
    return value


FILTERS = [
    {"portfolio": _structure("portfolio")},
    {"program": _structure("program")},
    {"business_unit": _structure("business_unit")},
    {"owner": _structure("owner")},
    {"fiscal_year": FY + 1},
    {"stage": "decided"},
    {"stage": "on_hold"},
    {"schedule_rag": "green"},
    {"financial_rag": "red"},
    {"schedule_rag": "green", "financial_rag": "red"},
    {"stale": "1"},
    {"variance": "shortfall"},
    {"variance": "ahead"},
    {"escalation_level": 1},
    {"escalation_level": 3},
    {"program": _structure("program"), "stage": "identified"},
]


@pytest.mark.parametrize("params", FILTERS,
                         ids=lambda p: "+".join(f"{k}={v}" if not callable(v) else k
                                                for k, v in p.items()))
def test_each_filter_lists_what_the_page_lists(portfolio, params):
    params = {k: v(portfolio) if callable(v) else v for k, v in params.items()}
    user = portfolio.a[Role.EXECUTIVE].user
    rows, body = api_drill(user, **params)
    ids, page_totals = page_drill(user, **params)
    assert [r["id"] for r in rows] == ids
    assert api_sums(body) == sums(page_totals)
    assert body["params"] == {k: str(v) for k, v in {"fiscal_year": FY, **params}.items()}
    if "fiscal_year" in params:
        assert len(rows) == 15 and money(body["totals"]["planned"]) == D(7) * 14
    else:
        assert 0 < len(rows) < 15, params
    for name in ("portfolio", "program", "business_unit", "owner"):
        if name in params:
            assert {r[name]["id"] for r in rows} == {params[name]}
            key = {"business_unit": "bu"}.get(name, name)
            mine = [e for e in expected_rows(portfolio).values() if e[key] == params[name]
                    and e["stage"] == params.get("stage", e["stage"])]
            assert len(rows) == len(mine)
            assert money(body["totals"]["planned"]) == total(mine, "planned")
    if "stage" in params:
        assert {r["stage"] for r in rows} == {params["stage"]}
    if params.get("variance") == "ahead":
        assert all(money(r["variance"]) > 0 for r in rows)


def test_without_a_fiscal_year_the_current_one(portfolio):
    user = portfolio.a[Role.EXECUTIVE].user
    response = api_client_for(user).get(drill_api_url())
    assert response.status_code == 200
    page = client_for(user).get(url("dashboard_initiatives"))
    fiscal_year = page.context["filters"].fiscal_year
    assert response.json()["fiscal_year"] == fiscal_year
    assert response.json()["params"] == {"fiscal_year": str(fiscal_year)}


@pytest.mark.parametrize("sort", [*DRILL_SORTS, ""])
@pytest.mark.parametrize("variance", ["", "shortfall"])
def test_sort_as_on_the_page(portfolio, sort, variance):
    user = portfolio.a[Role.EXECUTIVE].user
    params = {k: v for k, v in (("sort", sort), ("variance", variance)) if v}
    rows, body = api_drill(user, **params)
    ids, _ = page_drill(user, **params)
    assert [r["id"] for r in rows] == ids
    applied = sort or ("variance" if variance else "code")
    assert body["sort"] == applied
    key, reverse_ = {"code": ("code", False), "variance": ("variance", False),
                     "-planned": ("planned", True), "-outturn": ("outturn", True)}[applied]
    values = [r[key] if key == "code" else money(r[key]) for r in rows]
    assert values == sorted(values, reverse=reverse_)


def test_pages(portfolio, monkeypatch):
    """Paginated by the project's pagination class (50 a page; 4 here): ``?page=``, count,
    next and previous, the totals of every page on each."""
    assert PageNumberPagination.page_size == 50
    user = portfolio.a[Role.EXECUTIVE].user
    whole, _ = api_drill(user)
    monkeypatch.setattr(PageNumberPagination, "page_size", 4)
    client = api_client_for(user)
    rows, first = api_all(client, drill_api_url(), {"fiscal_year": FY})
    assert rows == whole and len(rows) == first["count"] == first["totals"]["count"] == 15
    assert len(first["results"]) == 4 and first["previous"] is None
    assert parse_qs(urlsplit(first["next"]).query) == {"fiscal_year": [str(FY)],
                                                       "page": ["2"]}
    last = client.get(drill_api_url(), {"fiscal_year": FY, "page": 4}).json()
    assert [r["id"] for r in last["results"]] == [r["id"] for r in whole[12:]]
    assert last["next"] is None and "page=3" in last["previous"]
    for bad in ("5", "0", "abc"):
        response = client.get(drill_api_url(), {"fiscal_year": FY, "page": bad})
        assert response.status_code == 404, bad


# --- Bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(("params", "field"), [
    *BAD_FILTERS,
    ({"stage": "done"}, "stage"),
    ({"schedule_rag": "purple"}, "schedule_rag"),
    ({"financial_rag": "Red"}, "financial_rag"),
    ({"stale": "true"}, "stale"),
    ({"variance": "big"}, "variance"),
    ({"escalation_level": "4"}, "escalation_level"),
    ({"escalation_level": "sponsor"}, "escalation_level"),
    ({"sort": "title"}, "sort"),
], ids=lambda v: "-".join(v) if isinstance(v, dict) else v)
def test_a_bad_parameter_is_a_400_on_that_field(portfolio, params, field):
    params = {k: v(portfolio) if callable(v) else v for k, v in params.items()}
    response = api_client_for(portfolio.a[Role.EXECUTIVE].user).get(drill_api_url(), params)
    assert response.status_code == 400
    body = response.json()
    assert list(body) == [field]
    assert body[field] and all(isinstance(m, str) for m in body[field])


def test_every_bad_parameter_is_named_at_once(portfolio):
    response = api_client_for(portfolio.a[Role.EXECUTIVE].user).get(
        drill_api_url(), {"stage": "done", "program": "abc", "sort": "title"})
    assert response.status_code == 400
    assert set(response.json()) == {"stage", "program", "sort"}


def test_an_id_of_another_organisation_is_a_400_not_a_leak(portfolio):
    with scopes_disabled():
        foreign = ProgramFactory(organization=portfolio.org_b,
                                 portfolio__organization=portfolio.org_b,
                                 portfolio__name="Globex secret portfolio",
                                 name="Globex secret program")
        unit = BusinessUnit.objects.create(organization=portfolio.org_b,
                                           name="Globex secret unit")
    client = api_client_for(portfolio.a[Role.EXECUTIVE].user)
    for name, pk in (("portfolio", foreign.portfolio_id), ("program", foreign.pk),
                     ("business_unit", unit.pk), ("owner", _foreign_owner(portfolio))):
        response = client.get(drill_api_url(), {name: pk})
        assert response.status_code == 400, name
        assert list(response.json()) == [name]
        assert "Globex" not in response.content.decode()
    # Org B's drill-down lists nothing of org A.
    response = api_client_for(portfolio.b_executive.user).get(drill_api_url("globex"))
    assert response.status_code == 200
    body = response.json()
    assert body["currency"] == "USD" and body["count"] == body["totals"]["count"] == 0
    assert body["results"] == []
    text = response.content.decode()
    assert ORG_A_MARKER not in text and "AC-" not in text and "acme" not in text


# --- Query count and schema ------------------------------------------------------------------


def count_queries(client, target, params) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(target, params).status_code == 200
    return len(captured.captured_queries)


def test_query_count_is_the_same_for_1_and_30_initiatives(world):
    with scopes_disabled():
        world.initiative.delete()  # exactly 1, then 30 initiatives
    add_initiatives(world, 0, 1)
    add_kpis(world)
    rollups.rebuild(organization=world.org_a)
    with scopes_disabled():
        # The filters that keep the one initiative (an empty page reads no rows at all).
        only = InitiativeFact.objects.get(organization=world.org_a)
    client = api_client_for(world.a[Role.EXECUTIVE].user)
    targets = [{"fiscal_year": FY}, {"fiscal_year": FY, "stage": "identified"},
               {"fiscal_year": FY, "variance": "shortfall"}, {"escalation_level": 1},
               {"fiscal_year": FY, "owner": only.owner_id},
               {"fiscal_year": FY, "program": only.program_id, "sort": "-planned"}]
    client.get(drill_api_url(), targets[0])  # warm up
    few = [count_queries(client, drill_api_url(), t) for t in targets]
    assert [client.get(drill_api_url(), t).json()["count"] for t in targets] == [1] * 6
    add_initiatives(world, 1, 29)
    rollups.rebuild(organization=world.org_a)
    many = [count_queries(client, drill_api_url(), t) for t in targets]
    assert many == few, (few, many)
    assert all(client.get(drill_api_url(), t).json()["count"] > 1 for t in targets)
    rows, _ = api_drill(world.a[Role.EXECUTIVE].user)
    assert len(rows) == 30 and all(r["business_unit"] and r["portfolio"] for r in rows)


def test_the_drill_down_is_in_the_openapi_schema():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/v1/o/{org_slug}/dashboard/initiatives/"]["get"]
    assert operation["operationId"] == "dashboard_initiatives"
    params = {p["name"]: p for p in operation["parameters"]}
    assert set(params) == {
        "org_slug", "portfolio", "program", "business_unit", "owner", "fiscal_year", "stage",
        "schedule_rag", "financial_rag", "stale", "variance", "escalation_level", "sort",
        "page"}
    assert set(params["sort"]["schema"]["enum"]) == set(DRILL_SORTS)
    assert set(operation["responses"]) >= {"200", "400"}
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    components = schema["components"]["schemas"]
    component = components[ref.rsplit("/", 1)[1]]
    assert set(component["properties"]) >= {
        "count", "next", "previous", "currency", "params", "sort", "totals", "results"}
    row = components["DashboardDrillRow"]["properties"]
    assert set(row) >= {"id", "code", "title", "stage", "program", "portfolio",
                        "business_unit", "owner", "schedule", "financial", "stale", *SUMS}
    assert (row["planned"]["type"], row["planned"]["format"]) == ("string", "decimal")
    totals = components["DashboardDrillTotals"]["properties"]
    assert set(totals) == {"count", *SUMS}
    assert "api_url" in components["DashboardDrill"]["properties"]


def test_viewers_cannot_list_initiatives_by_escalation(portfolio):
    """Escalations are not shown to viewers: neither the page nor the API lists the
    initiatives behind an escalation level for them."""
    viewer, controller = portfolio.a[Role.VIEWER].user, portfolio.a[Role.CONTROLLER].user
    page = reverse("dashboard_initiatives", kwargs={"org_slug": "acme"})
    assert client_for(viewer).get(page, {"escalation_level": 1}).status_code == 403
    assert api_client_for(viewer).get(drill_api_url(), {"escalation_level": 1}
                                      ).status_code == 403
    assert client_for(controller).get(page, {"escalation_level": 1}).status_code == 200
    assert api_client_for(controller).get(drill_api_url(), {"escalation_level": 1}
                                          ).status_code == 200
    assert client_for(viewer).get(page, {"stage": "decided"}).status_code == 200
    assert api_client_for(viewer).get(drill_api_url(), {"stage": "decided"}
                                      ).status_code == 200

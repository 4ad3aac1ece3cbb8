"""The dashboard's figures in the API (``GET /api/v1/o/<slug>/dashboard/``): every figure
against the page's for the same filters and against expectations computed from the raw
rows (the helpers of test_dashboard.py), every drill-down against its figure, filters,
400s on bad input (a foreign id included), the as-of comparison, a flat query count and
the OpenAPI schema. Who may call it: tests/tenancy/test_isolation_matrix.py."""

import datetime as dt
import re
from collections import Counter
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled
from drf_spectacular.generators import SchemaGenerator

from cat4.tenancy.models import Role
from initiatives.models import Program
from reporting import history, rollups
from tests.conftest import ORG_A_MARKER, api_client_for, client_for
from tests.factories import ProgramFactory
from tests.reporting.test_dashboard import (
    FY,
    add_initiatives,
    add_kpis,
    dash,
    expected_rows,
    page_colours,
    total,
    url,
)

pytestmark = pytest.mark.django_db

D = Decimal
MONEY = re.compile(r"-?\d+\.\d{2}")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@pytest.fixture
def portfolio(world):
    """The same portfolio as test_dashboard.py's: 15 initiatives, 4 KPIs, rollups built."""
    add_initiatives(world, 0, 14)
    add_kpis(world)
    rollups.rebuild(organization=world.org_a)
    return world


def api_url(org_slug="acme") -> str:
    return reverse("api_dashboard", kwargs={"org_slug": org_slug})


def api_get(user, **params):
    return api_client_for(user).get(api_url(), params)


def api_dash(user, **params) -> dict:
    response = api_get(user, **{"fiscal_year": FY, **params})
    assert response.status_code == 200, response.content[:500]
    return response.json()


def money(value) -> Decimal:
    """An amount of the API: always a decimal string with two places, never a float."""
    assert isinstance(value, str) and MONEY.fullmatch(value), value
    return D(value)


def drills(body) -> list[tuple[str, dict, dict]]:
    """(what, the figure, its drill) for every figure that links to initiatives."""
    out = [("headline", body["headline"], body["headline"]["drill"])]
    out += [(f"stage {s['stage']}", s, s["drill"]) for s in body["stages"]]
    out += [(f"cell {c['schedule']}/{c['financial']}", c, c["drill"]) for c in body["matrix"]]
    out += [("variances", body["variances"], body["variances"]["drill"]),
            ("stale", body["stale"], body["stale"]["drill"])]
    out += [(f"escalation level {e['level']}", e, e["drill"])
            for e in body["escalations"] or []]
    return out


# --- Figures ------------------------------------------------------------------------------


def test_every_figure_equals_the_page_and_the_raw_rows(portfolio):
    user = portfolio.a[Role.EXECUTIVE].user
    body = api_dash(user)
    d = dash(client_for(user))
    rows = list(expected_rows(portfolio).values())

    assert (body["fiscal_year"], body["fiscal_label"], body["currency"]) == (
        FY, d.fiscal_label, "EUR")
    assert dt.datetime.fromisoformat(body["figures_as_of"]) == d.as_of is not None
    assert body["filters"] == {"portfolio": None, "program": None, "business_unit": None,
                               "owner": None, "fiscal_year": FY, "as_of": None}
    assert body["as_of"] is None

    h = body["headline"]
    assert h["initiatives"] == d.initiatives == len(rows) == 15
    for key in ("planned", "forecast", "actual", "outturn"):
        assert money(h[key]) == getattr(d.money, key) == total(rows, key), key
    assert money(h["variance"]) == d.money.variance == total(rows, "outturn") - total(
        rows, "planned")
    assert money(h["run_rate"]) == d.run_rate > 0

    assert [s["stage"] for s in body["stages"]] == [s.stage for s in d.stages]
    for s, page in zip(body["stages"], d.stages, strict=True):
        mine = [r for r in rows if r["stage"] == s["stage"]]
        assert (s["label"], s["count"], s["on_gate_path"]) == (
            page.label, page.count, page.on_gate_path)
        assert s["count"] == len(mine)
        for key in ("planned", "forecast", "actual", "outturn"):
            assert money(s[key]) == getattr(page.money, key) == total(mine, key), key
        assert money(s["run_rate"]) == page.run_rate

    colours = Counter(page_colours(portfolio).values())
    page_cells = [c for row in d.matrix for c in row]
    assert len(body["matrix"]) == len(page_cells) == 16
    for cell, page in zip(body["matrix"], page_cells, strict=True):
        assert (cell["schedule"], cell["financial"], cell["count"], cell["flagged"],
                cell["heat"]) == (page.schedule, page.financial, page.count, page.flagged,
                                  page.heat)
        assert cell["count"] == colours[(cell["schedule"], cell["financial"])]
    assert [c["flagged"] for c in body["matrix"]].count(True) == 1

    shortfalls = sorted(r["outturn"] - r["planned"] for r in rows
                        if r["outturn"] < r["planned"])
    v = body["variances"]
    assert v["count"] == d.shortfall_count == len(shortfalls)
    assert money(v["total"]) == d.shortfall_total == sum(shortfalls)
    assert [money(r["variance"]) for r in v["top"]] == [f.fy_variance for f in d.variances] \
        == shortfalls[:10]
    assert [(r["initiative"]["code"], money(r["planned"]), money(r["outturn"]))
            for r in v["top"]] == [(f.initiative.code, f.fy_planned, f.fy_outturn)
                                   for f in d.variances]
    first = v["top"][0]["initiative"]
    assert first["url"] == reverse("api_initiative_detail", kwargs={
        "org_slug": "acme", "initiative_id": first["id"]})

    st = body["stale"]
    assert st["initiatives"] == d.stale_count == sum(r["stale"] for r in rows) > 0
    assert st["kpis"] == d.kpi_stale == 1
    assert [(r["initiative"]["code"], r["owner"]["id"], r["last_update"]) for r in st["top"]] \
        == [(f.initiative.code, f.owner_id, f.last_update and f.last_update.isoformat())
            for f in d.stale_initiatives]

    assert [(e["level"], e["label"], e["escalations"], e["initiatives"])
            for e in body["escalations"]] == [(e.level, e.label, e.escalations, e.initiatives)
                                               for e in d.escalations]
    assert body["escalations"][0]["escalations_url"] == reverse(
        "api_escalation_list", kwargs={"org_slug": "acme"}) + "?state=unresolved&level=1"

    a = body["approvals"]
    assert a["waiting"] == d.approvals_waiting == 3
    assert [(r["id"], r["initiative"]["code"], r["gate"], r["role"], r["approver"]["id"],
             dt.datetime.fromisoformat(r["submitted_at"])) for r in a["top"]] == [
        (x.pk, x.submission.initiative.code, x.submission.gate, x.role, x.approver_id,
         x.submission.submitted_at) for x in d.approvals]

    k = body["kpis"]
    assert k["counts"] == d.kpi_counts == {"green": 0, "amber": 2, "red": 1, "grey": 1}
    assert (k["total"], k["stale"]) == (d.kpi_total, d.kpi_stale) == (4, 1)
    assert [(x["id"], x["name"], x["colour"], x["stale"], x["explanation"])
            for x in k["exceptions"]] == [(x.kpi_id, x.name, x.colour, x.stale, x.explanation)
                                          for x in d.kpi_exceptions]
    assert all(DATE.fullmatch(x["latest_period"]) for x in k["exceptions"])
    assert k["url"] == reverse("api_kpi_list", kwargs={"org_slug": "acme"})


def test_no_amount_is_a_float(portfolio):
    raw = api_get(portfolio.a[Role.EXECUTIVE].user, fiscal_year=FY).content.decode()
    assert not re.search(r'"(planned|forecast|actual|outturn|variance|run_rate|total)": -?\d',
                         raw)


def test_viewers_get_no_escalations(portfolio):
    assert api_dash(portfolio.a[Role.VIEWER].user)["escalations"] is None
    assert len(api_dash(portfolio.a[Role.CONTROLLER].user)["escalations"]) == 3


# --- Drill-downs ---------------------------------------------------------------------------


@pytest.mark.parametrize("narrow", [False, True], ids=["all", "one-program"])
def test_every_drill_down_lists_the_initiatives_behind_its_figure(portfolio, narrow):
    user = portfolio.a[Role.EXECUTIVE].user
    params = {}
    if narrow:
        with scopes_disabled():
            params["program"] = portfolio.initiative.program_id
    body = api_dash(user, **params)
    page = client_for(user)
    seen = set()
    for what, figure, drill in drills(body):
        # The parameters are the URL's query, which carries the dashboard's filters.
        assert parse_qs(urlsplit(drill["url"]).query) == {
            k: [v] for k, v in drill["params"].items()}, what
        assert drill["params"]["fiscal_year"] == str(FY)
        assert drill["params"].get("program") == (str(params["program"]) if narrow
                                                  else None)
        assert drill["url"].startswith(url("dashboard_initiatives") + "?")
        response = page.get(drill["url"])
        assert response.status_code == 200, what
        totals = response.context["totals"]
        count = figure.get("count", figure.get("initiatives"))
        assert totals.count == count, what
        seen.add(frozenset(drill["params"].items()))
        if what == "headline" or what.startswith("stage"):
            assert (totals.money.planned, totals.money.outturn, totals.money.actual) == (
                money(figure["planned"]), money(figure["outturn"]),
                money(figure["actual"])), what
        if what == "variances":
            assert totals.money.outturn - totals.money.planned == money(figure["total"])
    assert len(seen) == 1 + 7 + 16 + 2 + 3  # each figure its own drill-down
    assert body["stale"]["drill"]["params"]["stale"] == "1"
    assert body["variances"]["drill"]["params"]["variance"] == "shortfall"


def test_drill_links_are_the_pages_links(portfolio):
    """The API hands out the very links the page renders for the same filters."""
    user = portfolio.a[Role.EXECUTIVE].user
    with scopes_disabled():
        program = portfolio.initiative.program_id
    body = api_dash(user, program=program)
    html = client_for(user).get(url("dashboard", fiscal_year=FY, program=program)
                                ).content.decode()
    for what, _figure, drill in drills(body):
        assert f'href="{drill["url"].replace("&", "&amp;")}"' in html, what


# --- Filters -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["portfolio", "program", "business_unit", "owner"])
def test_each_filter_narrows_as_on_the_page(portfolio, name):
    rows = expected_rows(portfolio)
    key = {"business_unit": "bu"}.get(name, name)
    wanted = next(r[key] for r in rows.values() if r[key] is not None)
    mine = [r for r in rows.values() if r[key] == wanted]
    user = portfolio.a[Role.EXECUTIVE].user
    body = api_dash(user, **{name: wanted})
    d = dash(client_for(user), **{name: wanted})
    h = body["headline"]
    assert 0 < h["initiatives"] == d.initiatives == len(mine) < len(rows)
    for k in ("planned", "forecast", "actual", "outturn"):
        assert money(h[k]) == getattr(d.money, k) == total(mine, k), k
    assert [s["count"] for s in body["stages"]] == [s.count for s in d.stages]
    assert [c["count"] for c in body["matrix"]] == [c.count for r in d.matrix for c in r]
    assert body["variances"]["count"] == d.shortfall_count
    assert body["stale"]["initiatives"] == d.stale_count
    assert [e["escalations"] for e in body["escalations"]] == [
        e.escalations for e in d.escalations]
    assert body["approvals"]["waiting"] == d.approvals_waiting
    assert body["filters"][name] == wanted
    assert h["drill"]["params"][name] == str(wanted)


def test_fiscal_year_filter(portfolio):
    body = api_dash(portfolio.a[Role.EXECUTIVE].user, fiscal_year=FY + 1)
    assert body["fiscal_year"] == body["filters"]["fiscal_year"] == FY + 1
    assert money(body["headline"]["planned"]) == D(7) * 14
    assert money(body["headline"]["outturn"]) == 0


def test_without_a_fiscal_year_the_current_one(portfolio):
    response = api_get(portfolio.a[Role.EXECUTIVE].user)
    assert response.status_code == 200
    page = client_for(portfolio.a[Role.EXECUTIVE].user).get(url("dashboard"))
    assert response.json()["fiscal_year"] == page.context["d"].fiscal_year


def _foreign_owner(world):
    return world.b_executive.user.pk


# Bad dashboard filters and the field each is refused on (also the drill-down API's).
BAD_FILTERS = [
    ({"program": "abc"}, "program"),
    ({"portfolio": "999999"}, "portfolio"),
    ({"business_unit": "-1"}, "business_unit"),
    ({"owner": _foreign_owner}, "owner"),
    ({"fiscal_year": "1999"}, "fiscal_year"),
    ({"fiscal_year": "next"}, "fiscal_year"),
]


@pytest.mark.parametrize(("params", "field"), [
    *BAD_FILTERS,
    ({"as_of": "yesterday"}, "as_of"),
    ({"as_of": "2999-01-01"}, "as_of"),
], ids=lambda v: "-".join(v) if isinstance(v, dict) else v)
def test_a_bad_filter_is_a_400_on_that_field(portfolio, params, field):
    params = {k: v(portfolio) if callable(v) else v for k, v in params.items()}
    response = api_get(portfolio.a[Role.EXECUTIVE].user, **params)
    assert response.status_code == 400
    body = response.json()
    assert list(body) == [field]
    assert body[field] and all(isinstance(m, str) for m in body[field])
    if params.get("as_of") == "2999-01-01":
        assert "not in the future" in body[field][0]


def test_an_id_of_another_organisation_is_a_400_not_a_leak(portfolio):
    with scopes_disabled():
        foreign = ProgramFactory(organization=portfolio.org_b,
                                 portfolio__organization=portfolio.org_b,
                                 portfolio__name="Globex secret portfolio",
                                 name="Globex secret program")
    user = portfolio.a[Role.EXECUTIVE].user
    for name, pk in (("portfolio", foreign.portfolio_id), ("program", foreign.pk)):
        response = api_get(user, **{name: pk})
        assert response.status_code == 400
        assert list(response.json()) == [name]
        assert "Globex secret" not in response.content.decode()
    # Org B's own dashboard shows nothing of org A.
    response = api_client_for(portfolio.b_executive.user).get(api_url("globex"))
    assert response.status_code == 200
    body = response.json()
    assert body["currency"] == "USD" and body["headline"]["initiatives"] == 0
    text = response.content.decode()
    assert ORG_A_MARKER not in text and "AC-" not in text and "acme" not in text


# --- As of a date --------------------------------------------------------------------------


def test_as_of_sets_a_past_date_beside_today_as_the_page_does(portfolio):
    user = portfolio.a[Role.EXECUTIVE].user
    when = timezone.localdate() - dt.timedelta(days=1)
    body = api_dash(user, as_of=when.isoformat())
    page = client_for(user).get(url("dashboard", fiscal_year=FY, as_of=when.isoformat()))
    assert page.status_code == 200
    a = body["as_of"]
    assert a["date"] == body["filters"]["as_of"] == when.isoformat()
    assert (a["fiscal_year"], a["fiscal_label"]) == (FY, page.context["as_of"].fiscal_label)
    assert [(label, money(a["headline"][label.lower()]["then"]),
             money(a["headline"][label.lower()]["today"]),
             money(a["headline"][label.lower()]["change"]))
            for label, *_ in page.context["headline_rows"]] == page.context["headline_rows"]
    assert [(s["label"], s["then"], s["today"], s["change"]) for s in a["stages"]] == \
        page.context["stage_rows"]
    assert [s["stage"] for s in a["stages"]] == [s["stage"] for s in body["stages"]]
    assert (a["initiatives"]["then"], a["initiatives"]["today"],
            a["initiatives"]["change"]) == (page.context["as_of"].initiatives,
                                            page.context["today_figures"].initiatives,
                                            page.context["initiatives_delta"])
    # And independently of the page: the audit history on that date and today.
    with scopes_disabled():
        then = history.portfolio_as_of(organization=portfolio.org_a, when=when,
                                       fiscal_year=FY)
        now = history.portfolio_as_of(organization=portfolio.org_a,
                                      when=timezone.localdate(), fiscal_year=FY)
    for key in ("planned", "forecast", "actual", "outturn"):
        assert money(a["headline"][key]["then"]) == getattr(then.headline, key), key
        assert money(a["headline"][key]["today"]) == getattr(now.headline, key), key
    assert a["initiatives"]["today"] == now.initiatives
    # The rest of the answer does not change with the comparison.
    plain = api_dash(user)
    assert {k: v for k, v in body.items() if k not in ("as_of", "filters")} == {
        k: v for k, v in plain.items() if k not in ("as_of", "filters")}


def test_as_of_narrowed_by_a_filter(portfolio):
    with scopes_disabled():
        program = portfolio.initiative.program_id
    user = portfolio.a[Role.EXECUTIVE].user
    today = timezone.localdate().isoformat()
    narrow = api_dash(user, as_of=today, program=program)["as_of"]
    wide = api_dash(user, as_of=today)["as_of"]
    page = client_for(user).get(url("dashboard", fiscal_year=FY, as_of=today,
                                    program=program))
    assert narrow["initiatives"]["today"] == page.context["today_figures"].initiatives
    assert narrow["initiatives"]["today"] < wide["initiatives"]["today"]


# --- Query count and schema ----------------------------------------------------------------


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
        program = Program.objects.filter(organization=world.org_a).first().pk
    client = api_client_for(world.a[Role.EXECUTIVE].user)
    yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    targets = [{"fiscal_year": FY}, {"fiscal_year": FY, "as_of": yesterday},
               {"fiscal_year": FY, "owner": world.a[Role.OWNER].user.pk},
               {"fiscal_year": FY, "program": program}]
    client.get(api_url(), targets[0])  # warm up
    few = [count_queries(client, api_url(), t) for t in targets]
    add_initiatives(world, 1, 29)
    rollups.rebuild(organization=world.org_a)
    many = [count_queries(client, api_url(), t) for t in targets]
    assert many == few, (few, many)
    assert api_dash(world.a[Role.EXECUTIVE].user)["headline"]["initiatives"] == 30


def test_the_dashboard_is_in_the_openapi_schema():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/v1/o/{org_slug}/dashboard/"]["get"]
    assert operation["operationId"] == "dashboard"
    assert {p["name"] for p in operation["parameters"]} >= {
        "org_slug", "portfolio", "program", "business_unit", "owner", "fiscal_year", "as_of"}
    assert set(operation["responses"]) >= {"200", "400"}
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    component = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(component["properties"]) >= {
        "currency", "figures_as_of", "filters", "headline", "stages", "matrix", "variances",
        "stale", "escalations", "approvals", "kpis", "as_of"}
    headline = schema["components"]["schemas"]["DashboardHeadline"]["properties"]
    assert headline["planned"]["type"] == "string"
    assert headline["planned"]["format"] == "decimal"


"""The executive dashboard and its drill-down: every figure against an expectation
computed here from the raw rows, every filter, every drill-down (its count and sums
equal the figure clicked), htmx partials and a flat query count."""

import datetime as dt
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from cat4.tenancy.models import Role
from governance.models import Approval, GateSubmission
from initiatives import selectors as initiative_selectors
from initiatives.models import (
    BusinessUnit,
    ImpactLine,
    Initiative,
    MonthlyValue,
    Program,
    StatusUpdate,
)
from kpis.models import Kpi, KpiReading, KpiSnapshot
from reporting import rollups
from tests.conftest import ORG_A_MARKER, client_for
from tests.factories import (
    EscalationFactory,
    ImpactLineFactory,
    InitiativeFactory,
    MilestoneFactory,
    ProgramFactory,
)

pytestmark = pytest.mark.django_db

D = Decimal
FY = 2026
STAGES = ["identified", "detailed", "decided", "implemented", "closed", "on_hold", "cancelled"]
ACTIVE = {"identified", "detailed", "decided", "implemented"}


def url(name, **params):
    from urllib.parse import urlencode

    return reverse(name, kwargs={"org_slug": "acme"}) + ("?" + urlencode(params) if params
                                                          else "")


def add_initiatives(world, start, count):
    """Initiatives with a spread of stages, programs, business units, owners, values,
    milestones and freshness."""
    org = world.org_a
    with scopes_disabled():
        p1 = world.initiative.program
        p2 = Program.objects.filter(organization=org, name="Second program").first() or \
            ProgramFactory(organization=org, portfolio__organization=org, name="Second program")
        bu1, _ = BusinessUnit.objects.get_or_create(organization=org, name="Operations")
        bu2, _ = BusinessUnit.objects.get_or_create(organization=org, name="Finance")
        owners = [world.a[Role.OWNER].user, world.a[Role.ADMIN].user]
        for k in range(start, start + count):
            i = InitiativeFactory(program=p1 if k % 2 else p2, owner=owners[k % 3 == 0],
                                  business_unit=bu1 if k % 4 < 2 else bu2,
                                  code=f"AC-{300 + k}", title=f"Measure {k}")
            Initiative.objects.filter(pk=i.pk).update(stage=STAGES[k % 7])
            line = ImpactLineFactory(initiative=i, recurring=bool(k % 2))
            share = [D("0.7"), D("0.9"), D("1.0"), D("1.2")][k % 4]
            for m in range(1, 13):
                month = dt.date(FY, m, 1)
                planned = D(100 * (k + 1))
                MonthlyValue.objects.create(organization=org, line=line, month=month,
                                            kind="planned", amount=planned)
                MonthlyValue.objects.create(organization=org, line=line, month=month,
                                            kind="forecast", amount=planned * share)
                if m <= 3 and k % 3 == 1:
                    MonthlyValue.objects.create(organization=org, line=line, month=month,
                                                kind="actual", amount=planned)
            MonthlyValue.objects.create(organization=org, line=line,
                                        month=dt.date(FY + 1, 1, 1), kind="planned",
                                        amount=D(7))
            if k % 5 != 4:
                cost = ImpactLineFactory(initiative=i, category="one_time_cost",
                                         recurring=False)
                MonthlyValue.objects.create(organization=org, line=cost,
                                            month=dt.date(FY, 2, 1), kind="planned",
                                            amount=D(50))
            MilestoneFactory(initiative=i, due_date=dt.date(2025, 1, 1) if k % 3 == 0
                             else dt.date(2099, 1, 1))
            if k % 5 == 0:
                Initiative.objects.filter(pk=i.pk).update(
                    created_at=timezone.now() - dt.timedelta(days=120))
            elif k % 5 == 1:
                StatusUpdate.objects.create(organization=org, initiative=i, author=i.owner,
                                            narrative="On track", confidence="high")
            if k % 4 == 0:
                EscalationFactory(rule__organization=org, initiative=i, subject_id=i.pk,
                                  level=1 + k % 3)
            if k % 6 == 0:
                submission = GateSubmission.objects.create(
                    organization=org, initiative=i, gate="detailed", from_stage="identified",
                    submitted_by=world.a[Role.OWNER].user)
                Approval.objects.create(organization=org, submission=submission,
                                        role="sponsor", approver=world.a[Role.EXECUTIVE].user)


def add_kpis(world):
    org = world.org_a
    today = timezone.localdate()
    last_month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    with scopes_disabled():
        for n, rag in enumerate(["red", "green", "amber", None]):
            kpi = Kpi.objects.create(organization=org, name=f"KPI {n}", unit="%",
                                     direction="higher", baseline="80",
                                     baseline_date=dt.date(2025, 1, 1), target="90",
                                     target_date=dt.date(2027, 12, 1),
                                     owner=world.a[Role.OWNER].user)
            period = last_month if n != 1 else dt.date(2025, 6, 1)  # KPI 1 is stale
            KpiReading.objects.create(organization=org, kpi=kpi, period=period, value="85",
                                      entered_by=world.a[Role.OWNER].user)
            if rag:
                KpiSnapshot.objects.create(organization=org, kpi=kpi, period=period,
                                           expected="85", actual="85", variance="0",
                                           performance="1", rag=rag, explanation=rag,
                                           computed_at=timezone.now())


@pytest.fixture
def portfolio(world):
    add_initiatives(world, 0, 14)
    add_kpis(world)
    rollups.rebuild(organization=world.org_a)
    return world


# --- Independent expectations --------------------------------------------------------------


def expected_rows(world):
    """Per initiative (the world's own included): stage, structure and FY money of its
    benefit lines, computed from the raw value rows."""
    today = timezone.localdate()
    out = {}
    with scopes_disabled():
        for i in Initiative.objects.filter(organization=world.org_a).select_related("program"):
            latest = i.status_updates.order_by("-created_at").first()
            last = timezone.localdate(latest.created_at) if latest else None
            due = (last or timezone.localdate(i.created_at)) + dt.timedelta(
                days=i.update_cadence_days)
            out[i.pk] = {"stage": i.stage, "program": i.program_id,
                         "portfolio": i.program.portfolio_id, "bu": i.business_unit_id,
                         "owner": i.owner_id, "planned": D(0), "forecast": D(0),
                         "actual": D(0), "outturn": D(0),
                         "stale": i.stage in ACTIVE and due < today}
        cells = {}
        for v in MonthlyValue.objects.filter(organization=world.org_a, month__year=FY,
                                             line__category__in=["cost_reduction",
                                                                 "revenue_increase",
                                                                 "cost_avoidance"]
                                             ).select_related("line"):
            cells.setdefault((v.line.initiative_id, v.line_id, v.month), {})[v.kind] = v.amount
    for (initiative_id, _line, _month), kinds in cells.items():
        row = out[initiative_id]
        for kind in ("planned", "forecast", "actual"):
            row[kind] += kinds.get(kind, D(0))
        row["outturn"] += kinds.get("actual", kinds.get("forecast", D(0)))
    return out


def page_colours(world):
    with scope(organization=world.org_a):
        colours = {}
        for i in Initiative.objects.filter(organization=world.org_a):
            _m, grids = initiative_selectors.value_grid(initiative=i)
            status = initiative_selectors.initiative_status(initiative=i, grids=grids)
            colours[i.pk] = (str(status.schedule.colour), str(status.financial.colour))
    return colours


def dash(client, **params):
    response = client.get(url("dashboard", **{"fiscal_year": FY, **params}))
    assert response.status_code == 200
    return response.context["d"]


def drill(client, **params):
    response = client.get(url("dashboard_initiatives", **{"fiscal_year": FY, **params}))
    assert response.status_code == 200
    return response.context["totals"], response


def total(rows, key):
    return sum((r[key] for r in rows), D(0))


# --- Figures ------------------------------------------------------------------------------


def test_headline_and_value_by_stage(portfolio):
    d = dash(client_for(portfolio.a[Role.EXECUTIVE].user))
    rows = list(expected_rows(portfolio).values())
    assert d.initiatives == len(rows) == 15
    for key in ("planned", "forecast", "actual", "outturn"):
        assert getattr(d.money, key) == total(rows, key), key
    for s in d.stages:
        mine = [r for r in rows if r["stage"] == s.stage]
        assert s.count == len(mine), s.stage
        assert s.money.planned == total(mine, "planned"), s.stage
        assert s.money.outturn == total(mine, "outturn"), s.stage
        assert s.money.actual == total(mine, "actual"), s.stage
    assert [s.label for s in d.funnel] == ["Identified", "Detailed", "Decided",
                                           "Implemented", "Closed"]
    assert d.chart["series"][0]["data"][0] == str(d.stages[0].money.planned)


def test_run_rate_is_latest_best_value_of_recurring_benefit_lines(portfolio):
    d = dash(client_for(portfolio.a[Role.VIEWER].user))
    today = timezone.localdate()
    expected = D(0)
    with scopes_disabled():
        for line in ImpactLine.objects.filter(organization=portfolio.org_a, recurring=True
                                              ).exclude(category="one_time_cost"):
            values = [v for v in line.values.all() if v.month <= today]
            if not values:
                continue
            month = max(v.month for v in values)
            best = {v.kind: v.amount for v in values if v.month == month}
            expected += 12 * best.get("actual", best.get("forecast", best.get("planned")))
    assert d.run_rate == expected and expected > 0


def test_dual_status_matrix_counts_the_page_colours(portfolio):
    d = dash(client_for(portfolio.a[Role.EXECUTIVE].user))
    expected = Counter(page_colours(portfolio).values())
    for row in d.matrix:
        for cell in row:
            assert cell.count == expected[(cell.schedule, cell.financial)], cell
            assert cell.flagged == (cell.schedule == "green" and cell.financial == "red")
    assert sum(c.count for row in d.matrix for c in row) == 15


def test_exception_lists(portfolio):
    d = dash(client_for(portfolio.a[Role.EXECUTIVE].user))
    rows = expected_rows(portfolio)
    shortfalls = {pk: r["outturn"] - r["planned"] for pk, r in rows.items()
                  if r["outturn"] < r["planned"]}
    assert d.shortfall_count == len(shortfalls)
    assert d.shortfall_total == sum(shortfalls.values())
    worst = sorted(shortfalls.values())[:10]
    assert [f.fy_variance for f in d.variances] == worst
    assert d.stale_count == sum(r["stale"] for r in rows.values()) > 0
    with scopes_disabled():
        from governance.models import Escalation

        open_ = list(Escalation.objects.filter(organization=portfolio.org_a))
        approvals = Approval.objects.filter(organization=portfolio.org_a).count()
    by_level = Counter(e.level for e in open_)
    assert [(e.level, e.escalations, e.initiatives) for e in d.escalations] == [
        (lvl, by_level[lvl], len({e.initiative_id for e in open_ if e.level == lvl}))
        for lvl in (1, 2, 3)]
    assert d.approvals_waiting == approvals == len(d.approvals) == 3
    assert d.kpi_counts == {"green": 0, "amber": 2, "red": 1, "grey": 1}  # stale green->amber
    assert d.kpi_stale == 1 and d.kpi_total == 4
    assert d.kpi_exceptions[0].name == "KPI 0"


def test_viewers_see_no_escalations(portfolio):
    d = dash(client_for(portfolio.a[Role.VIEWER].user))
    assert d.escalations is None


# --- Filters -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["portfolio", "program", "business_unit", "owner"])
def test_each_filter(portfolio, name):
    rows = expected_rows(portfolio)
    key = {"business_unit": "bu"}.get(name, name)
    wanted = next(r[key] for r in rows.values() if r[key] is not None)
    d = dash(client_for(portfolio.a[Role.EXECUTIVE].user), **{name: wanted})
    mine = [r for r in rows.values() if r[key] == wanted]
    assert 0 < d.initiatives == len(mine) < len(rows)
    assert d.money.planned == total(mine, "planned")
    assert d.money.outturn == total(mine, "outturn")
    t, _ = drill(client_for(portfolio.a[Role.EXECUTIVE].user), **{name: wanted})
    assert t.count == len(mine) and t.money.planned == d.money.planned


def test_fiscal_year_filter(portfolio):
    d = dash(client_for(portfolio.a[Role.EXECUTIVE].user), fiscal_year=FY + 1)
    assert d.fiscal_year == FY + 1
    assert d.money.planned == D(7) * 14 and d.money.outturn == 0


def test_a_foreign_id_is_a_field_error_not_a_leak(portfolio):
    with scopes_disabled():
        foreign = ProgramFactory(organization=portfolio.org_b,
                                 portfolio__organization=portfolio.org_b,
                                 name="Globex secret program")
    client = client_for(portfolio.a[Role.EXECUTIVE].user)
    response = client.get(url("dashboard", program=foreign.pk))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Select a valid choice" in body and "Globex secret program" not in body
    assert response.context["d"].initiatives == 15  # the bad filter is not applied
    other = client_for(portfolio.b_executive.user).get(
        reverse("dashboard", kwargs={"org_slug": "globex"}))
    assert ORG_A_MARKER not in other.content.decode() and "AC-3" not in other.content.decode()


def test_htmx_request_gets_only_the_results(portfolio):
    client = client_for(portfolio.a[Role.EXECUTIVE].user)
    response = client.get(url("dashboard", fiscal_year=FY), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="results"') and "<html" not in body
    # The partial alone still links figures to the drill-down page, not to "?…".
    drill_url = reverse("dashboard_initiatives", kwargs={"org_slug": "acme"})
    assert f'href="{drill_url}?' in body and 'href="?' not in body
    assert f'data-link-base="{drill_url}"' in body
    # htmx drops <script> elements from swapped content: the chart's data is an attribute.
    assert "data-chart-json=" in body and "<script" not in body
    full = client.get(url("dashboard", fiscal_year=FY)).content.decode()
    assert 'hx-push-url="true"' in full and 'data-chart="stage-chart-data"' in full
    assert "Figures as of" in full


# --- Drill-down ----------------------------------------------------------------------------


def test_every_drill_down_equals_its_figure(portfolio):
    client = client_for(portfolio.a[Role.EXECUTIVE].user)
    d = dash(client)
    t, _ = drill(client)
    assert (t.count, t.money.planned, t.money.outturn, t.money.actual, t.run_rate) == (
        d.initiatives, d.money.planned, d.money.outturn, d.money.actual, d.run_rate)
    for s in d.stages:
        t, _ = drill(client, stage=s.stage)
        assert (t.count, t.money.planned, t.money.outturn, t.money.actual) == (
            s.count, s.money.planned, s.money.outturn, s.money.actual), s.stage
    for row in d.matrix:
        for cell in row:
            t, _ = drill(client, schedule_rag=cell.schedule, financial_rag=cell.financial)
            assert t.count == cell.count, cell
    t, _ = drill(client, variance="shortfall")
    assert t.count == d.shortfall_count
    assert t.money.outturn - t.money.planned == d.shortfall_total
    t, _ = drill(client, stale=1)
    assert t.count == d.stale_count
    for e in d.escalations:
        t, _ = drill(client, escalation_level=e.level)
        assert t.count == e.initiatives, e


def test_dashboard_links_carry_the_filters(portfolio):
    client = client_for(portfolio.a[Role.EXECUTIVE].user)
    with scopes_disabled():
        program = portfolio.initiative.program_id
    body = client.get(url("dashboard", fiscal_year=FY, program=program)).content.decode()
    assert f"dashboard/initiatives/?program={program}&amp;fiscal_year={FY}&amp;stage=decided" \
        in body
    assert "schedule_rag=green&amp;financial_rag=red" in body
    assert "variance=shortfall" in body and "stale=1" in body


def test_drill_down_pages_and_lists_initiatives(portfolio):
    client = client_for(portfolio.a[Role.VIEWER].user)
    _t, response = drill(client)
    body = response.content.decode()
    assert "15 initiatives" in body and "Page 1 of 1" in body and "AC-300" in body


# --- Query counts ----------------------------------------------------------------------------


def count_queries(client, target) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(target).status_code == 200
    return len(captured.captured_queries)


def test_query_count_is_the_same_for_1_and_30_initiatives(world):
    with scopes_disabled():
        world.initiative.delete()  # exactly 1, then 30 initiatives
    add_initiatives(world, 0, 1)
    add_kpis(world)
    rollups.rebuild(organization=world.org_a)
    client = client_for(world.a[Role.EXECUTIVE].user)
    targets = [url("dashboard", fiscal_year=FY), url("dashboard_initiatives", fiscal_year=FY),
               url("dashboard_initiatives", fiscal_year=FY, stage="identified")]
    client.get(targets[0])  # warm the session
    few = [count_queries(client, t) for t in targets]
    add_initiatives(world, 1, 29)
    rollups.rebuild(organization=world.org_a)
    many = [count_queries(client, t) for t in targets]
    assert many == few, (few, many)
    assert dash(client).initiatives == 30


def test_an_initiative_without_a_forecast_is_no_shortfall(portfolio):
    """Before the Decided gate there is a plan but no forecast: its outturn is 0, which
    is not a shortfall against plan. It still counts in the planned headline."""
    d_before = dash(client_for(portfolio.a[Role.EXECUTIVE].user))
    with scopes_disabled():
        early = InitiativeFactory(program=portfolio.initiative.program, code="AC-900",
                                  owner=portfolio.a[Role.OWNER].user)
        line = ImpactLineFactory(initiative=early)
        MonthlyValue.objects.create(organization=portfolio.org_a, line=line,
                                    month=dt.date(FY, 5, 1), kind="planned", amount=D(5000))
    rollups.rebuild(organization=portfolio.org_a)
    d = dash(client_for(portfolio.a[Role.EXECUTIVE].user))
    assert d.money.planned == d_before.money.planned + D(5000)
    assert d.shortfall_count == d_before.shortfall_count
    assert "AC-900" not in [f.initiative.code for f in d.variances]
    t, _ = drill(client_for(portfolio.a[Role.EXECUTIVE].user), variance="shortfall")
    assert t.count == d.shortfall_count


def test_the_dashboard_shows_the_portfolio_as_of_a_date_beside_today(portfolio):
    """With a date to compare with, the dashboard adds the portfolio as it was at the end
    of that day (from the audit history) beside today: the same figures the what-changed
    page shows for that date."""
    from reporting import history

    client = client_for(portfolio.a[Role.EXECUTIVE].user)
    when = timezone.localdate() - dt.timedelta(days=1)
    response = client.get(url("dashboard", as_of=when.isoformat()))
    assert response.status_code == 200
    assert response.context["as_of"].when == when
    with scopes_disabled():
        expected = history.portfolio_as_of(organization=portfolio.org_a, when=when,
                                           fiscal_year=FY)
    assert response.context["as_of"].headline == expected.headline
    body = response.content.decode()
    assert f"Portfolio as of {when.day} {when:%b %Y} and today" in body
    changes = client.get(url("changes", as_of=when.isoformat()))
    assert changes.context["headline_rows"] == response.context["headline_rows"]
    # Without the date, no comparison; a future date is a field error, not a 500.
    assert client.get(url("dashboard")).context["as_of"] is None
    future = client.get(url("dashboard", as_of="2999-01-01"))
    assert future.status_code == 200 and "not in the future" in future.content.decode()
    assert future.context["as_of"] is None

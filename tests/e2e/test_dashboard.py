"""The executive dashboard in a real browser: an executive of Acme opens it from the nav,
reads the headline figures of a small portfolio built through the real services, filters
by program (htmx, the URL follows), drills down from the dual-status matrix and from a
bar of the value-by-stage chart, downloads the xlsx and csv exports, has a real Celery
worker build a board pack and downloads it, and looks at what changed and the imports.
Screenshots at desktop and tablet widths go to tests/e2e/screenshots/."""

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal

import openpyxl
import pytest
from django.utils import timezone
from django_scopes import scopes_disabled
from playwright.sync_api import Page, expect

from cat4.tenancy.models import Membership, Role
from governance import escalations
from governance import services as gov
from governance.models import Approval, EscalationRule
from initiatives import calculations as calc
from initiatives import services
from initiatives.models import BusinessUnit, Initiative, Program
from kpis import services as kpi_services
from reporting import rollups
from reporting.models import BoardPack
from tests.e2e.conftest import VIEWPORTS, log_in, screenshot
from tests.factories import ProgramFactory
from tests.initiatives.support import approve_pending
from tests.reporting.test_history import Clock
from tests.workers import wait_for

D = Decimal
TODAY = timezone.localdate()
FY = calc.fiscal_year(TODAY, start_month=1)  # the factories' organisations start in January
FY_LABEL = calc.fiscal_year_label(FY, start_month=1)
MONTHS = [dt.date(FY, m, 1) for m in range(1, 13)]
PAST = [m for m in MONTHS if m < TODAY.replace(day=1)]  # months that can have actuals
STEERING = TODAY - dt.timedelta(days=30)  # "the last steering committee"
BEFORE = timezone.now() - dt.timedelta(days=75)  # when most of the portfolio was set up


def shoot(page: Page, name: str) -> None:
    """Desktop and tablet screenshots of the current page; neither scrolls sideways."""
    for viewport in ("desktop", "tablet"):
        page.set_viewport_size(VIEWPORTS[viewport])
        screenshot(page, f"dashboard-{name}-{viewport}")
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px at {viewport}"
    page.set_viewport_size(VIEWPORTS["desktop"])


@dataclass
class Spec:
    code: str
    title: str
    program: str
    owner: str  # persona role in org A, or "consultant"
    stage: str
    planned: int  # a month, benefit
    forecast: float | None = None  # share of plan, from Decided
    actual: float | None = None  # share of plan in past months, from Implemented
    milestones: list = field(default_factory=list)  # (title, days from today, done)
    months: list = field(default_factory=lambda: MONTHS)

    def values(self):
        planned = {m: D(self.planned) for m in self.months}
        forecast = ({m: (D(self.planned) * D(str(self.forecast))).quantize(D("1"))
                     for m in self.months} if self.forecast is not None else {})
        actual = ({m: (D(self.planned) * D(str(self.actual))).quantize(D("1"))
                   for m in self.months if m in PAST} if self.actual is not None else {})
        return planned, forecast, actual


PROCUREMENT, OPERATIONS, COMMERCIAL = "Acme Procurement", "Operations Excellence", \
    "Commercial Excellence"
SPECS = [
    Spec("AC-100", "Acme freight tender", PROCUREMENT, Role.OWNER, "identified", 10_000,
         milestones=[("Tender awarded", 45, False)]),
    Spec("AC-101", "Indirect spend consolidation", PROCUREMENT, Role.OWNER, "detailed", 8_000,
         milestones=[("Spend cube built", 20, False)]),
    Spec("AC-102", "Warehouse automation, Hamburg", OPERATIONS, Role.ADMIN, "decided", 15_000,
         forecast=1.0, milestones=[("Conveyor installed", -45, False),
                                   ("Staff trained", 60, False)]),
    Spec("AC-103", "Route optimisation", OPERATIONS, "consultant", "decided", 12_000,
         forecast=1.0, milestones=[("Pilot depot live", 30, False)]),
    Spec("AC-104", "Pricing discipline", COMMERCIAL, Role.OWNER, "implemented", 20_000,
         forecast=1.0, actual=0.97, milestones=[("Price corridors live", -60, True)]),
    Spec("AC-105", "Online checkout redesign", COMMERCIAL, Role.ADMIN, "implemented", 10_000,
         forecast=0.7, actual=0.65, milestones=[("New checkout launched", -90, True)]),
    Spec("AC-106", "Energy contracts renewal", PROCUREMENT, "consultant", "identified", 5_000,
         milestones=[("Supplier shortlist", 90, False)]),
    Spec("AC-107", "Legacy fleet disposal", OPERATIONS, Role.OWNER, "closed", 4_000,
         forecast=1.0, actual=1.0, milestones=[("Last truck sold", -120, True)],
         months=[dt.date(FY, m, 1) for m in range(1, 9)]),
    Spec("AC-108", "Customer service chatbot", COMMERCIAL, "consultant", "detailed", 6_000,
         milestones=[("Vendor selected", -10, False)]),
]
GATES = ["identified", "detailed", "decided", "implemented", "closed"]


def expected(specs):
    """Headline figures of the fiscal year from the specs alone (AC-103 after its cut)."""
    planned = forecast = actual = outturn = D(0)
    for spec in specs:
        p, f, a = spec.values()
        if spec.code == "AC-103":
            f = {m: (v * D("0.55")).quantize(D("1")) for m, v in f.items()}
        planned += sum(p.values(), D(0))
        forecast += sum(f.values(), D(0))
        actual += sum(a.values(), D(0))
        outturn += sum((a.get(m, f.get(m, D(0))) for m in p), D(0))
    return {"planned": planned, "forecast": forecast, "actual": actual, "outturn": outturn}


def money(amount) -> str:
    return calc.format_money(D(amount), "EUR")


@pytest.fixture
def portfolio(e2e_world):
    """Org A's portfolio: nine initiatives over every gate stage in three programs with
    three owners, values, milestones (two overdue), a stale initiative, escalations, a
    pending approval and two KPIs; set up 75 days ago, then a few recent changes (a
    forecast cut, a stage move) that "what changed" shows. Rollups rebuilt."""
    world = e2e_world
    org = world.org_a
    admin = world.a[Role.ADMIN].membership
    controller = world.a[Role.CONTROLLER].membership
    with scopes_disabled():
        consultant = Membership.objects.get(organization=org, user=world.consultant)
        procurement = world.initiative.program
        procurement.portfolio.name = "Transformation 2026"
        procurement.portfolio.save()
        programs = {PROCUREMENT: procurement}
        for name in (OPERATIONS, COMMERCIAL):
            programs[name] = ProgramFactory(organization=org, portfolio=procurement.portfolio,
                                            name=name)
        units = [BusinessUnit.objects.create(organization=org, name=n)
                 for n in ("Logistics", "Sales", "Group functions")]
        EscalationRule.objects.filter(organization=org).exclude(
            condition__in=["milestone_overdue", "stale"]).delete()
    owners = {Role.OWNER: world.a[Role.OWNER].membership, Role.ADMIN: admin,
              "consultant": consultant}

    def membership_of(spec):
        return owners[spec.owner]

    clock = Clock()
    clock.start(everything=True)
    made, lines = {}, {}
    for n, spec in enumerate(SPECS):
        owner = membership_of(spec)
        if spec.code == "AC-100":
            initiative = world.initiative
        else:
            initiative = services.initiative_create(
                membership=admin, code=spec.code, title=spec.title,
                program=programs[spec.program], owner=owner.user,
                sponsor=world.a[Role.EXECUTIVE].user, controller=controller.user,
                business_unit=units[n % 3], start_date=spec.months[0],
                target_date=dt.date(FY + 1, 6, 30) if spec.stage != "closed"
                else spec.months[-1])
        line = services.impact_line_create(
            membership=owner, initiative_id=initiative.pk,
            category="revenue_increase" if spec.program == COMMERCIAL else "cost_reduction",
            description=f"{spec.title}: savings" if spec.program != COMMERCIAL
            else f"{spec.title}: margin")
        planned, forecast, actual = spec.values()
        services.monthly_values_set(membership=owner, line_id=line.pk, kind="planned",
                                    values={m: str(v) for m, v in planned.items()})
        for title, days, done in spec.milestones:
            due = TODAY + dt.timedelta(days=days)
            services.milestone_create(membership=owner, initiative_id=initiative.pk,
                                      title=title, due_date=due,
                                      done_date=due if done else None)
        made[spec.code], lines[spec.code] = initiative, line
        recent = spec.code == "AC-104"  # its last gate is passed in the recent phase
        target = "decided" if recent else spec.stage
        while GATES.index(initiative.stage) < GATES.index(target):
            gate = GATES[GATES.index(initiative.stage) + 1]
            if gate == "decided":
                pass  # planned values, a milestone and a controller are all there
            if gate == "closed":
                services.monthly_values_set(membership=controller, line_id=line.pk,
                                            kind="actual",
                                            values={m: str(v) for m, v in planned.items()})
                gov.value_validate(membership=controller, initiative_id=initiative.pk)
            gov.gate_submit(membership=owner, initiative_id=initiative.pk)
            approve_pending(initiative)
            initiative.refresh_from_db()
            if gate == "decided" and forecast:
                services.monthly_values_set(membership=owner, line_id=line.pk,
                                            kind="forecast",
                                            values={m: str(v) for m, v in forecast.items()})
            if gate == "implemented" and actual and spec.stage != "closed":
                services.monthly_values_set(membership=controller, line_id=line.pk,
                                            kind="actual",
                                            values={m: str(v) for m, v in actual.items()})
    clock.stop(BEFORE)

    # The recent phase: AC-104 passes Implemented, AC-103's forecast is cut to 55 %,
    # AC-100 waits for the sponsor at the Detailed gate, and the hourly job raises.
    clock.start()
    owner_104 = owners[Role.OWNER]
    ac104 = made["AC-104"]
    gov.gate_submit(membership=owner_104, initiative_id=ac104.pk)
    approve_pending(ac104)
    _p, _f, actual_104 = SPECS[4].values()
    services.monthly_values_set(membership=controller, line_id=lines["AC-104"].pk,
                                kind="actual", values={m: str(v) for m, v in actual_104.items()})
    services.monthly_values_set(
        membership=consultant, line_id=lines["AC-103"].pk, kind="forecast",
        values={m: str((D(12_000) * D("0.55")).quantize(D("1"))) for m in MONTHS})
    gov.gate_submit(membership=owners[Role.OWNER], initiative_id=made["AC-100"].pk,
                    comment="Tender results are in; plan of EUR 120 k a year.")
    clock.stop(timezone.now() - dt.timedelta(days=6))
    with scopes_disabled():
        # AC-106 was set up months ago and nobody has reported on it since.
        Initiative.objects.filter(pk=made["AC-106"].pk).update(
            created_at=timezone.now() - dt.timedelta(days=120))
        for code in ("AC-101", "AC-102", "AC-103", "AC-104", "AC-105", "AC-108"):
            services.status_update_create(
                membership=owners[next(s.owner for s in SPECS if s.code == code)],
                initiative_id=made[code].pk, narrative="Monthly update: on plan except "
                "where the milestones say otherwise.", confidence="medium")
    escalations.evaluate_org(org.pk, now=timezone.now() - dt.timedelta(days=8))
    escalations.evaluate_org(org.pk)

    kpi = kpi_services.kpi_create(
        membership=admin, name="On-time delivery", unit="%", direction="higher",
        baseline="80", baseline_date=dt.date(FY - 1, 1, 1), target="95",
        target_date=dt.date(FY + 1, 12, 1), owner=world.a[Role.OWNER].user)
    stale_kpi = kpi_services.kpi_create(
        membership=admin, name="Procurement savings captured", unit="%", direction="higher",
        baseline="0", baseline_date=dt.date(FY - 1, 1, 1), target="100",
        target_date=dt.date(FY + 1, 12, 1), owner=world.a[Role.OWNER].user)
    month = (TODAY.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    readings = ["78.8", "79.4", "80.1", "80.9", "81.5", "82.2"]
    for value in readings:
        kpi_services.reading_record(membership=admin, kpi_id=kpi.pk, period=month, value=value)
        month = (month - dt.timedelta(days=1)).replace(day=1)
    old = (TODAY - dt.timedelta(days=150)).replace(day=1)
    kpi_services.reading_record(membership=admin, kpi_id=stale_kpi.pk, period=old, value="35")
    with scopes_disabled():
        for k in (kpi, stale_kpi):
            kpi_services.kpi_recompute(kpi_id=k.pk)
        rollups.rebuild(organization=org)
        programs = {p.name: p for p in Program.objects.filter(organization=org)}
    return world, made, programs


def fact(page: Page, label: str):
    return page.locator(".dash-headline .fact", has_text=label).locator(".fact-value")


def test_executive_reads_filters_drills_exports_and_builds_a_board_pack(
        page: Page, portfolio, worker, browser_errors):
    world, _made, programs = portfolio
    page.set_viewport_size(VIEWPORTS["desktop"])
    log_in(page, world.a[Role.EXECUTIVE].user.email)
    page.locator(".sidenav").get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Portfolio dashboard")

    # Headline figures against the specs.
    want = expected(SPECS)
    expect(fact(page, f"Planned {FY_LABEL}")).to_have_text(money(want["planned"]))
    expect(fact(page, "Forecast (outturn)")).to_have_text(money(want["outturn"]))
    expect(fact(page, f"Actual {FY_LABEL}")).to_have_text(money(want["actual"]))
    expect(page.locator(".dash-headline")).to_contain_text(f"{len(SPECS)} initiatives")
    strip = page.locator(".stage-strip")
    for stage, n in (("Identified", 2), ("Detailed", 2), ("Decided", 2), ("Implemented", 2),
                     ("Closed", 1)):
        expect(strip.get_by_role("link", name=f"{n} {stage}")).to_be_visible()
    flagged = page.locator(".heatmap td.flag")
    expect(flagged).to_have_text("2")  # AC-103 and AC-105: on time, short on money
    with scopes_disabled():
        waiting = Approval.objects.filter(organization=world.org_a, decision="pending").count()
    expect(page.locator("section[aria-labelledby=approvals-title]")).to_contain_text(
        f"{waiting} approval{'s' if waiting != 1 else ''} waiting")
    expect(page.locator("section[aria-labelledby=approvals-title]")).to_contain_text("AC-100")
    expect(page.locator("section[aria-labelledby=stale-title]")).to_contain_text("AC-106")
    expect(page.locator("section[aria-labelledby=kpi-title]")).to_contain_text(
        "Procurement savings captured")
    expect(page.locator("canvas[data-chart]")).to_be_visible()
    shoot(page, "overview")

    # Filter by program: htmx swaps the results and the URL keeps the filter.
    ops = programs[OPERATIONS]
    page.get_by_label("Program").select_option(label=OPERATIONS)
    expect(page).to_have_url(re.compile(rf"program={ops.pk}"))
    ops_specs = [s for s in SPECS if s.program == OPERATIONS]
    want_ops = expected(ops_specs)
    expect(fact(page, f"Planned {FY_LABEL}")).to_have_text(money(want_ops["planned"]))
    expect(fact(page, "Forecast (outturn)")).to_have_text(money(want_ops["outturn"]))
    expect(page.locator(".dash-headline")).to_contain_text(f"{len(ops_specs)} initiatives")
    expect(flagged).to_have_text("1")  # AC-103 only
    shoot(page, "filtered")

    # Drill down from the flagged cell: the list behind it has as many rows as the cell.
    flagged.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/dashboard/initiatives/\?.*financial_rag=red"))
    expect(page.locator(".drill-total")).to_contain_text("1 initiative ")
    expect(page.locator("#results tbody tr")).to_have_count(1)
    expect(page.locator("#results tbody")).to_contain_text("AC-103")
    page.go_back()
    expect(page).to_have_url(re.compile(rf"program={ops.pk}"))

    # Back to the whole portfolio; a bar of the value-by-stage chart opens its stage.
    page.get_by_label("Program").select_option(label="All programs")
    expect(page).not_to_have_url(re.compile(r"program=\d"))
    expect(flagged).to_have_text("2")

    # The portfolio as it was 60 days ago, beside today, on the dashboard itself.
    then = timezone.localdate() - dt.timedelta(days=60)
    page.get_by_label("Compare with").fill(then.isoformat())
    expect(page).to_have_url(re.compile(rf"as_of={then.isoformat()}"))
    comparison = page.locator("#asof-title")
    expect(comparison).to_contain_text(f"Portfolio as of {then.day} {then:%b %Y} and today")
    expect(page.locator("#results")).not_to_contain_text("{%")
    expect(page.locator("#results")).not_to_contain_text("Needs")
    shoot(page, "as-of")
    page.get_by_label("Compare with").fill("")
    expect(comparison).to_have_count(0)
    canvas = page.locator("canvas[data-chart]")
    expect(canvas).to_be_visible()
    page.wait_for_function(  # charts.js draws the swapped-in canvas on htmx:load
        "() => window.Chart.getChart(document.querySelector('canvas[data-chart]'))")
    point = page.evaluate("""() => {
        const canvas = document.querySelector("canvas[data-chart]");
        const bar = window.Chart.getChart(canvas).getDatasetMeta(0).data[2];  // Decided
        return {x: bar.x, y: (bar.y + bar.base) / 2};
    }""")
    canvas.click(position=point)
    expect(page).to_have_url(re.compile(r"/dashboard/initiatives/\?.*stage=decided"))
    expect(page.locator(".drill-total")).to_contain_text("2 initiatives")
    expect(page.locator("#results tbody tr")).to_have_count(2)
    shoot(page, "drill-down")

    # Exports, from the initiative list (the same filters as the list).
    page.locator(".sidenav").get_by_role("link", name="Initiatives").click()
    with page.expect_download() as info:
        page.get_by_role("link", name="Export xlsx").click()
    assert info.value.suggested_filename.endswith(".xlsx")
    workbook = openpyxl.load_workbook(io.BytesIO(info.value.path().read_bytes()),
                                      read_only=True)
    rows = list(workbook["Initiatives"].iter_rows(values_only=True))
    header = rows[0]
    by_code = {r[0]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    assert set(by_code) == {s.code for s in SPECS}
    ac103 = by_code["AC-103"]
    assert (ac103["Title"], ac103["Program"], ac103["Stage"]) == (
        "Route optimisation", OPERATIONS, "Decided")
    assert D(str(ac103["Planned (EUR)"])) == D(12 * 12_000)
    assert D(str(ac103["Forecast (EUR)"])) == D(12 * 6_600)
    with page.expect_download() as info:
        page.get_by_role("link", name="Export csv").click()
    assert info.value.suggested_filename.endswith(".csv")
    lines = list(csv.DictReader(io.StringIO(info.value.path().read_text("utf-8-sig"))))
    assert {r["Code"] for r in lines} == {s.code for s in SPECS}
    assert next(r for r in lines if r["Code"] == "AC-105")["Stage"] == "Implemented"

    # A board pack, built by the real worker; the row polls until it is ready.
    page.goto("/o/acme/dashboard/")
    page.get_by_role("link", name="Board packs").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Board packs")
    page.get_by_label("Title").fill("Steering committee, December")
    page.get_by_label("Changes since").fill(STEERING.isoformat())
    page.get_by_role("button", name="Build the pack").click()
    expect(page.locator(".messages")).to_contain_text("is queued")
    with scopes_disabled():
        pack = BoardPack.objects.get(organization=world.org_a)

    def ready():
        pack.refresh_from_db()
        return pack.status in ("ready", "failed")

    wait_for(worker, ready, what="build the board pack")
    assert pack.status == "ready", pack.error
    row = page.locator(f"#pack-{pack.pk}")
    expect(row.get_by_text("Ready", exact=True)).to_be_visible(timeout=10_000)  # the poll caught up
    shoot(page, "board-packs")
    with page.expect_download() as info:
        row.get_by_role("link", name="Download PDF").click()
    assert info.value.path().read_bytes().startswith(b"%PDF")

    # What changed since the steering committee, with the portfolio as it was then.
    page.goto(f"/o/acme/changes/?since={STEERING.isoformat()}&as_of={STEERING.isoformat()}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("What changed since")
    moves = page.locator("section[aria-labelledby=moves-title]")
    expect(moves).to_contain_text("AC-104")
    expect(page.locator("section[aria-labelledby=values-title]")).to_contain_text("AC-103")
    expect(page.locator("section[aria-labelledby=rag-title]")).to_contain_text("AC-103")
    expect(page.locator("section[aria-labelledby=asof-title]")).to_be_visible()
    shoot(page, "changes")


def test_admin_sees_the_imports_page(page: Page, e2e_world):
    log_in(page, e2e_world.a[Role.ADMIN].user.email)
    page.goto("/o/acme/imports/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Import from Excel")
    expect(page.get_by_role("link", name="Download the template")).to_be_visible()
    shoot(page, "imports")

"""Escalations and a KPI in a real browser: the engine raises escalations from real
data, the executive filters the list (htmx), opens one, acknowledges and resolves it;
the KPI detail page shows its chart, table and projection. Screenshots at desktop and
tablet widths go to tests/e2e/screenshots/."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled
from playwright.sync_api import Page, expect

from cat4.tenancy.models import Role
from governance import escalations
from governance.models import EscalationRule
from initiatives.models import Risk
from kpis import services as kpi_services
from tests.e2e.conftest import VIEWPORTS, log_in, screenshot
from tests.factories import MilestoneFactory

NOW = timezone.now()


def shoot(page: Page, name: str) -> None:
    """Desktop and tablet screenshots of the current page; neither scrolls sideways."""
    for viewport in ("desktop", "tablet"):
        page.set_viewport_size(VIEWPORTS[viewport])
        screenshot(page, f"{name}-{viewport}")
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px at {viewport}"
    page.set_viewport_size(VIEWPORTS["desktop"])


@pytest.fixture
def escalated(e2e_world):
    """Org A with a milestone late for weeks (its escalation moved up to the sponsor),
    and a new high risk and an off-track KPI (with the owner), as the hourly job would
    leave them."""
    world = e2e_world
    today = escalations.local_today(world.org_a, NOW)
    with scopes_disabled():
        EscalationRule.objects.filter(organization=world.org_a).exclude(
            condition__in=["milestone_overdue", "risk_score", "kpi_off_track"]).delete()
        MilestoneFactory(initiative=world.initiative, title="Carrier contracts signed",
                         due_date=today - dt.timedelta(days=40))
    escalations.evaluate_org(world.org_a.pk, now=NOW - dt.timedelta(days=8))
    with scopes_disabled():
        Risk.objects.create(organization=world.org_a, initiative=world.initiative,
                            description="Main carrier may not accept the new rate card",
                            probability=4, impact=5, owner=world.a[Role.OWNER].user)
    kpi = kpi_services.kpi_create(
        membership=world.a[Role.ADMIN].membership, name="On-time delivery", unit="%",
        direction="higher", baseline="80", baseline_date=dt.date(2025, 1, 1), target="95",
        target_date=dt.date(2027, 12, 1), owner=world.a[Role.OWNER].user)
    month = dt.date(2025, 1, 1)
    values = ["80.5", "81.2", "82.0", "82.4", "83.1", "83.0", "82.2", "81.5", "80.9",
              "80.1", "79.4", "78.8"]
    for value in values:
        kpi_services.reading_record(membership=world.a[Role.OWNER].membership, kpi_id=kpi.pk,
                                    period=month, value=value)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    with scopes_disabled():
        kpi_services.kpi_recompute(kpi_id=kpi.pk)
    escalations.evaluate_org(world.org_a.pk, now=NOW)
    return world, kpi


def test_executive_works_through_the_escalations(page: Page, escalated, browser_errors):
    world, _kpi = escalated
    # Acknowledging without a comment is refused with 400 on purpose.
    browser_errors.expect(r"status of 400 \(Bad Request\) \(http://[^/]+/o/acme/escalations/"
                          r"\d+/acknowledge/\)$")
    log_in(page, world.a[Role.EXECUTIVE].user.email)
    page.get_by_role("navigation").get_by_role("link", name=re.compile("Escalations")).click()
    expect(page.get_by_role("heading", name="Escalations")).to_be_visible()
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("#results")).to_contain_text("40 days overdue, rule: 14 days or more")
    expect(page.locator("#results")).to_contain_text("scores 20 (probability 4 × impact 5)")
    shoot(page, "escalations-list")

    page.get_by_label("Level").select_option(label="Sponsor")
    expect(page).to_have_url(re.compile(r"level=2"))
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Carrier contracts signed")

    rows.first.get_by_role("link", name=re.compile("details")).click()
    expect(page.get_by_text("Acme Executive")).not_to_have_count(0)
    page.get_by_role("button", name=re.compile("Acknowledge")).click()
    expect(page.locator(".has-error, .error").first).to_be_visible()  # a comment is needed
    page.get_by_label("Comment").first.fill("Owner presents a recovery plan on Friday.")
    page.get_by_role("button", name=re.compile("Acknowledge")).click()
    expect(page.locator("main")).to_contain_text("Owner presents a recovery plan on Friday.")
    expect(page.locator("main")).to_contain_text("Acknowledged")
    shoot(page, "escalation-detail")

    page.get_by_label("Comment").last.fill("Contracts signed on the 3rd; milestone closed.")
    page.get_by_role("button", name=re.compile("Resolve")).click()
    expect(page.locator("main")).to_contain_text("Contracts signed on the 3rd")
    expect(page.locator("main")).to_contain_text("Resolved")


def test_kpi_detail_shows_chart_table_and_projection(page: Page, escalated):
    world, kpi = escalated
    log_in(page, world.a[Role.EXECUTIVE].user.email)
    page.goto(f"/o/acme/kpis/{kpi.pk}/")
    expect(page.get_by_role("heading", name="On-time delivery")).to_be_visible()
    expect(page.locator("canvas")).to_have_count(1)
    expect(page.locator("table").first).to_contain_text("78.8")
    shoot(page, "kpi-detail")

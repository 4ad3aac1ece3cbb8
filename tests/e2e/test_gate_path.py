"""The whole gate path of one initiative in a real browser, through the pages only.

The owner, the sponsor (executive) and the controller of AC-100 each work in their own
browser context: Identified → Detailed → Decided → Implemented → Closed, with one
refused rejection (no comment) on the way.
"""

import re
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Error, Page, expect

from cat4.tenancy.models import Role
from tests.e2e.conftest import CSP_REPORTER, VIEWPORTS, BrowserErrors, log_in, screenshot

PLANNED = {"2026-01": "10000", "2026-02": "12000", "2026-03": "12000", "2026-04": "15000"}
FORECAST = {"2026-01": "10000", "2026-02": "11500", "2026-03": "12000", "2026-04": "14500"}
ACTUALS = {"2026-01": "9500", "2026-02": "12500", "2026-03": "11800", "2026-04": "15200"}
MONTH_NAMES = {"01": "January", "02": "February", "03": "March", "04": "April", "05": "May",
               "06": "June", "07": "July"}
LINE = "Freight rate savings"
MILESTONE = "Carrier contracts signed"


# --- Helpers ----------------------------------------------------------------------

def _watch(page: Page, errors: BrowserErrors) -> None:
    """The same console / page-error / CSP watch conftest's browser_errors puts on `page`."""
    page.set_default_timeout(10_000)

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            location = msg.location or {}
            errors.seen.append(f"console: {msg.text} ({location.get('url', '?')})")

    def on_page_error(exc: Error) -> None:
        errors.seen.append(f"pageerror: {exc}")

    page.add_init_script(CSP_REPORTER)
    page.on("console", on_console)
    page.on("pageerror", on_page_error)


@pytest.fixture
def log_in_as(browser: Browser, browser_context_args, browser_errors: BrowserErrors
              ) -> Iterator[Callable[[str], Page]]:
    """Log a persona in within a browser context of their own (own cookies)."""
    contexts = []

    def open_page(email: str) -> Page:
        context = browser.new_context(**browser_context_args,
                                      viewport=VIEWPORTS["desktop"])
        contexts.append(context)
        page = context.new_page()
        _watch(page, browser_errors)
        log_in(page, email)
        expect(page).to_have_url(re.compile(r"/o/acme/$"))
        return page

    yield open_page
    for context in contexts:
        context.close()


def shoot(page: Page, name: str) -> None:
    """Desktop and tablet screenshots of the current page; neither scrolls sideways."""
    for viewport in ("desktop", "tablet"):
        page.set_viewport_size(VIEWPORTS[viewport])
        screenshot(page, f"gate-{name}-{viewport}")
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px at {viewport}"
    page.set_viewport_size(VIEWPORTS["desktop"])


def fill_grid(page: Page, values: dict[str, str]) -> None:
    for month, amount in values.items():
        year, mm = month.split("-")
        page.get_by_label(f"{LINE}, {MONTH_NAMES[mm]} {year}").fill(amount)


def stage_of(page: Page):
    return page.locator(".page-head .stage")


def message(page: Page):
    return page.locator(".messages")


# --- The path ---------------------------------------------------------------------

def test_initiative_walks_every_gate_to_closed(page: Page, e2e_world, log_in_as):
    initiative = e2e_world.initiative
    detail = f"/o/acme/initiatives/{initiative.pk}/"
    gate = page.locator("#gate")

    # 1. The owner adds a cost-reduction line, plans it, and submits for Detailed.
    owner = page
    owner.set_viewport_size(VIEWPORTS["desktop"])
    log_in(owner, e2e_world.a[Role.OWNER].user.email)
    owner.goto(detail)
    expect(stage_of(owner)).to_have_text("Identified")
    expect(gate.get_by_role("heading", level=2)).to_have_text("Next gate: Detailed")
    expect(gate.locator(".criteria li.unmet")).to_have_count(1)  # no planned value yet

    owner.get_by_role("link", name="Add line").click()
    expect(owner.get_by_role("heading", level=1)).to_have_text("Add an impact line")
    owner.get_by_label("Category").select_option(label="Cost reduction")
    owner.get_by_label("Description").fill(LINE)
    owner.get_by_role("button", name="Add line").click()
    expect(message(owner)).to_contain_text("Impact line added.")

    owner.get_by_role("link", name="Edit planned").click()
    expect(owner).to_have_url(re.compile(rf"{detail}values/planned/$"))
    expect(owner.get_by_role("heading", level=1)).to_have_text("Planned values")
    fill_grid(owner, PLANNED)
    shoot(owner, "values-grid")
    owner.get_by_role("button", name="Save planned values").click()
    expect(message(owner)).to_contain_text("Planned values saved.")
    values = owner.locator("section[aria-labelledby=values-title]")
    expect(values).to_contain_text(LINE)
    expect(values).to_contain_text("EUR 49.0 k")

    expect(gate.locator(".criteria li.met")).to_have_count(2)
    expect(gate.locator(".criteria li.unmet")).to_have_count(0)
    expect(gate).to_contain_text("Met: owner and sponsor are named")
    expect(gate).to_contain_text("Met: 4 planned monthly value(s)")
    expect(gate).to_contain_text("Every criterion is met: ready to submit.")
    shoot(owner, "identified")
    owner.get_by_label("Comment for the approvers").fill("Tender results are in.")
    owner.get_by_role("button", name="Submit for Detailed").click()
    expect(message(owner)).to_contain_text("Submitted for the Detailed gate.")
    expect(gate).to_contain_text("Waiting for approval")
    expect(gate.get_by_role("button", name="Submit for Detailed")).to_have_count(0)

    # 2. The sponsor finds it in My reviews (count 1) and approves it there.
    sponsor = log_in_as(e2e_world.a[Role.EXECUTIVE].user.email)
    reviews_link = sponsor.locator(".sidenav").get_by_role("link", name=re.compile("My reviews"))
    expect(reviews_link.locator(".count")).to_have_text("1")
    reviews_link.click()
    expect(sponsor.get_by_role("heading", level=1)).to_have_text("My reviews")
    review = sponsor.locator(".review", has_text="AC-100 Acme freight tender")
    expect(review).to_contain_text("Identified → Detailed")
    expect(review).to_contain_text("as sponsor")
    expect(review).to_contain_text("Tender results are in.")
    shoot(sponsor, "my-reviews")
    review.get_by_role("button", name="Approve").click()
    expect(message(sponsor)).to_contain_text("Approved.")
    expect(sponsor.locator("section[aria-labelledby=waiting-title]")).to_contain_text(
        "Nothing is waiting for you.")
    expect(reviews_link.locator(".count")).to_have_count(0)
    owner.goto(detail)
    expect(stage_of(owner)).to_have_text("Detailed")

    # 3. A milestone, then the Decided gate: sponsor on the page, controller in reviews.
    owner.get_by_role("link", name="Add milestone").click()
    owner.get_by_label("Title").fill(MILESTONE)
    owner.get_by_label("Due date").fill("2026-12-15")
    owner.get_by_label("Weight").fill("1")
    owner.get_by_role("button", name="Add milestone").click()
    expect(message(owner)).to_contain_text("Milestone added.")
    expect(gate.get_by_role("heading", level=2)).to_have_text("Next gate: Decided")
    expect(gate.locator(".criteria li.unmet")).to_have_count(0)
    owner.get_by_role("button", name="Submit for Decided").click()
    expect(message(owner)).to_contain_text("Submitted for the Decided gate.")

    sponsor.goto(detail)
    expect(gate_of(sponsor)).to_contain_text("Waiting for approval")
    # Negative: rejecting without a comment is refused and changes nothing.
    gate_of(sponsor).get_by_role("button", name="Reject").click()
    expect(sponsor.locator(".message-error")).to_contain_text(
        "Say why you reject, so the owner can act on it.")
    expect(stage_of(sponsor)).to_have_text("Detailed")
    expect(gate_of(sponsor).locator(".badge.decision-pending")).to_have_count(2)
    expect(gate_of(sponsor).get_by_text("Required when you reject.")).to_be_visible()
    screenshot(sponsor, "gate-reject-refused-desktop", full_page=False)
    gate_of(sponsor).get_by_label("Comment").fill("Savings case is sound.")
    gate_of(sponsor).get_by_role("button", name="Approve as sponsor").click()
    expect(message(sponsor)).to_contain_text("Approved.")
    expect(stage_of(sponsor)).to_have_text("Detailed")  # the controller has yet to approve
    expect(gate_of(sponsor).locator(".badge.decision-approved")).to_have_count(1)

    controller = log_in_as(e2e_world.a[Role.CONTROLLER].user.email)
    controller.goto("/o/acme/reviews/")
    review = controller.locator(".review", has_text="AC-100")
    expect(review).to_contain_text("Detailed → Decided")
    expect(review).to_contain_text("as controller")
    review.get_by_role("button", name="Approve").click()
    expect(message(controller)).to_contain_text("Approved.")
    owner.goto(detail)
    expect(stage_of(owner)).to_have_text("Decided")
    expect(owner.get_by_role("link", name="Edit planned")).to_have_count(0)  # plan frozen

    # 4. Forecast, milestone done, Implemented gate approved by the sponsor.
    owner.get_by_role("link", name="Edit forecast").click()
    expect(owner.get_by_role("heading", level=1)).to_have_text("Forecast values")
    fill_grid(owner, FORECAST)
    owner.get_by_role("button", name="Save forecast values").click()
    expect(message(owner)).to_contain_text("Forecast values saved.")
    status = owner.locator("section[aria-label=Status]")
    expect(status.locator(".rag")).to_have_text(["Green", "Green"])
    expect(status.locator(".explain").first).not_to_be_empty()
    expect(status.locator(".explain").nth(1)).to_contain_text("98 % of plan")
    shoot(owner, "decided")

    owner.locator("section[aria-labelledby=ms-title]").get_by_role("link", name="Edit").click()
    expect(owner.get_by_role("heading", level=1)).to_have_text(f"Milestone: {MILESTONE}")
    owner.get_by_label("Done date").fill("2026-11-20")
    owner.get_by_role("button", name="Save milestone").click()
    expect(message(owner)).to_contain_text("Milestone saved.")
    expect(owner.locator("section[aria-labelledby=ms-title]")).to_contain_text("20 Nov 2026")
    expect(gate.locator(".criteria li.met")).to_contain_text("Met: every milestone is done")
    owner.get_by_role("button", name="Submit for Implemented").click()
    expect(message(owner)).to_contain_text("Submitted for the Implemented gate.")

    sponsor.goto("/o/acme/reviews/")
    sponsor.locator(".review", has_text="AC-100").get_by_role("button", name="Approve").click()
    expect(message(sponsor)).to_contain_text("Approved.")
    owner.goto(detail)
    expect(stage_of(owner)).to_have_text("Implemented")

    # 5. Actuals, the controller's validation, and the Closed gate.
    expect(gate.locator(".criteria li.unmet")).to_have_count(2)
    owner.get_by_role("link", name="Edit actual").click()
    fill_grid(owner, ACTUALS)
    owner.get_by_role("button", name="Save actual values").click()
    expect(message(owner)).to_contain_text("Actual values saved.")
    expect(gate).to_contain_text("Met: every planned month has an actual")
    expect(gate).to_contain_text("the controller has not validated the realised value")

    controller.goto(detail)
    controller.get_by_role("button", name="Validate the realised value").click()
    expect(message(controller)).to_contain_text("Realised value validated.")
    expect(controller.locator("section[aria-label=Status]")).to_contain_text(
        "Realised value validated by Acme Controller")

    owner.goto(detail)
    expect(gate.locator(".criteria li.unmet")).to_have_count(0)
    owner.get_by_label("Comment for the approvers").fill("All savings realised.")
    owner.get_by_role("button", name="Submit for Closed").click()
    expect(message(owner)).to_contain_text("Submitted for the Closed gate.")

    controller.goto("/o/acme/reviews/")
    review = controller.locator(".review", has_text="AC-100")
    expect(review).to_contain_text("Implemented → Closed")
    review.get_by_role("button", name="Approve").click()
    expect(message(controller)).to_contain_text("Approved.")

    owner.goto(detail)
    expect(stage_of(owner)).to_have_text("Closed")
    expect(gate.get_by_role("heading", level=2)).to_have_text("Gates")
    expect(gate).to_contain_text("Every gate is passed")
    expect(owner.get_by_role("link", name="Edit", exact=True)).to_have_count(0)
    stages = gate.locator(".timeline li")
    expect(stages).to_have_count(4)
    expect(stages.nth(0)).to_contain_text("Acme Controller: Implemented → Closed")
    expect(stages.nth(1)).to_contain_text("Acme Executive: Decided → Implemented")
    expect(stages.nth(2)).to_contain_text("Acme Controller: Detailed → Decided")
    expect(stages.nth(3)).to_contain_text("Acme Executive: Identified → Detailed")
    history = owner.locator("section[aria-labelledby=history-title] .timeline li")
    expect(history.filter(has_text="Acme Owner")).not_to_have_count(0)
    expect(history.filter(has_text=re.compile("stage"))).not_to_have_count(0)
    shoot(owner, "closed")


def gate_of(page: Page):
    return page.locator("#gate")

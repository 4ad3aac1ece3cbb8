"""The platform shell in a real browser: login, org switching, members, permissions."""

import re

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import Page, expect

from cat4.tenancy.models import Invitation, Membership, Role
from tests.conftest import ORG_A_MARKER, ORG_B_MARKER
from tests.e2e.conftest import VIEWPORTS, BrowserErrors, log_in, screenshot
from tests.factories import InvitationFactory

# --- Login -----------------------------------------------------------------------

def test_login_page_renders(page: Page, e2e_world):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    expect(page).to_have_title(re.compile("^Log in"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in to cat4")
    expect(page.get_by_label("Email")).to_be_focused()
    expect(page.get_by_label("Password")).to_be_visible()
    expect(page.get_by_role("link", name="Forgot your password?")).to_be_visible()
    # Anonymous visitors get no organisation or account menus.
    expect(page.locator("details[data-menu]")).to_have_count(0)


def test_wrong_password_shows_an_error_on_the_form(page: Page, e2e_world):
    log_in(page, "admin@acme.test", "not-the-password")
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(page.locator("form .form-errors[role=alert]")).to_contain_text(
        "That email and password do not match an account.")
    # The email is kept, the password is not.
    expect(page.get_by_label("Email")).to_have_value("admin@acme.test")
    expect(page.get_by_label("Password")).to_have_value("")


def test_correct_login_lands_on_the_org_overview(page: Page, e2e_world):
    log_in(page, "admin@acme.test")
    expect(page).to_have_url(re.compile(r"/o/acme/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(ORG_A_MARKER)
    expect(page.locator(".org-switcher summary .menu-value")).to_have_text(ORG_A_MARKER)
    expect(page.locator(".user-menu summary")).to_contain_text("Acme Admin")


# --- Organisation switcher -----------------------------------------------------

def test_consultant_switches_organisation_in_the_top_bar(page: Page, e2e_world):
    log_in(page, "consultant@advisers.test")
    # Two organisations and no last one: the chooser lists both.
    expect(page.get_by_role("heading", level=1)).to_have_text("Your organisations")
    page.get_by_role("link", name=re.compile(ORG_A_MARKER)).click()
    expect(page).to_have_url(re.compile(r"/o/acme/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(ORG_A_MARKER)

    switcher = page.locator("details.org-switcher")
    switcher.locator("summary").click()
    expect(switcher).to_have_attribute("open", "")
    current = switcher.get_by_role("link", name=re.compile(ORG_A_MARKER))
    expect(current).to_have_attribute("aria-current", "true")
    switcher.get_by_role("link", name=re.compile(ORG_B_MARKER)).click()

    expect(page).to_have_url(re.compile(r"/o/globex/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(ORG_B_MARKER)
    expect(switcher.locator("summary .menu-value")).to_have_text(ORG_B_MARKER)
    expect(page).to_have_title(re.compile(ORG_B_MARKER))
    expect(page).not_to_have_title(re.compile(ORG_A_MARKER))
    # With the switcher closed, org A's name is nowhere on the page the user sees.
    expect(switcher).not_to_have_attribute("open", "")
    assert ORG_A_MARKER not in page.locator("body").inner_text()
    assert ORG_A_MARKER not in page.locator("main").text_content()
    expect(page.locator("main")).to_contain_text("USD")

    # The organisation used last is remembered: "/" leads back to org B.
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/o/globex/$"))


# --- Members ---------------------------------------------------------------------

def test_admin_invites_and_changes_a_role_in_place(page: Page, e2e_world):
    viewer = e2e_world.a[Role.VIEWER].membership
    log_in(page, "admin@acme.test")
    page.get_by_role("navigation", name=ORG_A_MARKER).get_by_role("link", name="Members").click()
    expect(page).to_have_url(re.compile(r"/o/acme/members/$"))
    expect(page.get_by_role("heading", name="Pending invitations")).to_be_visible()
    pending = page.locator("section[aria-labelledby=pending-title]")
    expect(pending).to_contain_text("No invitations are waiting")

    # Invite: the invitation shows up as pending, with its role.
    page.get_by_label("Email").fill("new.person@example.test")
    page.get_by_role("combobox", name="Role", exact=True).select_option(Role.CONTROLLER)
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator(".message-success")).to_have_text(
        "Invitation sent to new.person@example.test.")
    row = pending.locator("li", has_text="new.person@example.test")
    expect(row).to_contain_text("Controller")
    with scopes_disabled():
        assert Invitation.objects.filter(email="new.person@example.test",
                                         role=Role.CONTROLLER).exists()

    # Change the viewer's role: htmx swaps the row, the page does not reload.
    page.evaluate("window.__e2eNoReload = true")
    row_id = f"#member-{viewer.pk}"
    page.locator(row_id).evaluate("row => row.dataset.e2eOld = '1'")
    with page.expect_response(re.compile(rf"/members/{viewer.pk}/role/$")) as response:
        page.get_by_label("Role of Acme Viewer").select_option(Role.OWNER)
    assert response.value.status == 200
    assert response.value.request.headers.get("hx-request") == "true"
    expect(page.locator(row_id)).not_to_have_attribute("data-e2e-old", "1")  # swapped
    expect(page.locator(f"#role-{viewer.pk}")).to_have_value(Role.OWNER)
    assert page.evaluate("window.__e2eNoReload") is True

    page.reload()
    assert page.evaluate("window.__e2eNoReload") is None
    expect(page.locator(f"#role-{viewer.pk}")).to_have_value(Role.OWNER)
    expect(page.locator("section[aria-labelledby=activity-title]")).to_contain_text(
        "Acme Admin changed the role of viewer@acme.test: viewer → owner")
    screenshot(page, "members-after-changes")
    with scopes_disabled():
        assert Membership.objects.get(pk=viewer.pk).role == Role.OWNER


def test_refused_role_change_explains_itself_in_the_row(page: Page, e2e_world,
                                                        browser_errors: BrowserErrors):
    """The only admin cannot demote themselves: the row says why and shows the real role.

    The view answers 400 with the row; htmx must swap it in (base.html's htmx-config)."""
    admin = e2e_world.a[Role.ADMIN].membership
    # Chromium logs the 400 itself; htmx must not treat it as an error.
    browser_errors.expect_http_error(400, f"/o/acme/members/{admin.pk}/role/")
    log_in(page, "admin@acme.test")
    page.goto("/o/acme/members/")
    select = page.locator(f"#role-{admin.pk}")
    select.focus()
    with page.expect_response(re.compile(rf"/members/{admin.pk}/role/$")) as response:
        select.select_option(Role.VIEWER)
    assert response.value.status == 400
    row = page.locator(f"#member-{admin.pk}")
    expect(row.get_by_role("alert")).to_contain_text("needs at least one admin")
    expect(select).to_have_value(Role.ADMIN)
    expect(select).to_have_attribute("aria-invalid", "true")
    expect(select).to_be_focused()  # keyboard users keep their place after the swap
    screenshot(page, "members-role-refused", full_page=False)
    with scopes_disabled():
        assert Membership.objects.get(pk=admin.pk).role == Role.ADMIN


# --- Permissions -----------------------------------------------------------------

def test_viewer_has_no_settings_link_and_gets_403(page: Page, e2e_world,
                                                 browser_errors: BrowserErrors):
    log_in(page, "viewer@acme.test")
    nav = page.get_by_role("navigation", name=ORG_A_MARKER)
    expect(nav.get_by_role("link", name="Members")).to_be_visible()
    expect(nav.get_by_role("link", name="Settings")).to_have_count(0)

    browser_errors.expect_http_error(403, "/o/acme/settings/")  # Chromium logs every 4xx
    response = page.goto("/o/acme/settings/")
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Your role does not allow this")
    expect(page.locator("main")).to_contain_text(f"Your role in {ORG_A_MARKER} is Viewer.")
    # The 403 page keeps the product's layout: the user can find their way back.
    expect(page.locator(".org-switcher summary .menu-value")).to_have_text(ORG_A_MARKER)


# --- Screenshots for visual review ---------------------------------------------

@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_screenshots(page: Page, e2e_world, browser_errors: BrowserErrors, viewport):
    page.set_viewport_size(VIEWPORTS[viewport])
    admin = e2e_world.a[Role.ADMIN].user
    with scopes_disabled():
        InvitationFactory(organization=e2e_world.org_a, email="pending.person@example.test",
                          role=Role.CONTROLLER, invited_by=admin)

    page.goto("/accounts/login/")
    screenshot(page, f"login-{viewport}")
    shots = [("/o/acme/", "org-overview"), ("/o/acme/members/", "members-admin"),
             ("/account/", "profile")]
    log_in(page, admin.email)
    for path, name in shots:
        page.goto(path)
        expect(page.locator("main h1")).to_be_visible()
        screenshot(page, f"{name}-{viewport}")
        assert_no_horizontal_overflow(page)

    # Keyboard focus: the skip link, then the org switcher in the top bar.
    page.goto("/o/acme/")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    screenshot(page, f"focus-skip-link-{viewport}", full_page=False)
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.locator(".org-switcher summary")).to_be_focused()
    screenshot(page, f"focus-org-switcher-{viewport}", full_page=False)

    # The top bar's menus, open, where a phone user has least room.
    page.goto("/o/acme/")
    page.locator(".org-switcher summary").click()
    screenshot(page, f"org-switcher-open-{viewport}", full_page=False)
    page.keyboard.press("Escape")
    page.locator(".user-menu summary").click()
    screenshot(page, f"user-menu-open-{viewport}", full_page=False)
    page.keyboard.press("Escape")

    browser_errors.expect_http_error(403, "/o/acme/settings/")
    page.context.clear_cookies()
    log_in(page, e2e_world.a[Role.VIEWER].user.email)
    page.goto("/o/acme/settings/")
    screenshot(page, f"403-{viewport}")
    assert_no_horizontal_overflow(page)


def assert_no_horizontal_overflow(page: Page) -> None:
    """Neither the page nor a table in it scrolls sideways (a cut-off column on a phone)."""
    overflow = page.evaluate("""() => [document.documentElement, ...document.querySelectorAll(
        ".table-scroll")].map(e => e.scrollWidth - e.clientWidth).filter(d => d > 0)""")
    assert not overflow, f"{page.url} scrolls sideways by {overflow}px"

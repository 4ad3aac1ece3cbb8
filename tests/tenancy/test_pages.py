"""The tenancy pages through the browser-facing surface: forms keep input and
show errors on the field, htmx swaps a row, the consultant switches orgs, and
list pages do not grow their query count with the number of rows."""

import re

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from cat4.tenancy import services
from cat4.tenancy.models import Invitation, Membership, Role
from tests.conftest import ORG_A_MARKER, ORG_B_MARKER, client_for
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_home_sends_a_single_org_member_to_their_org(world):
    response = client_for(world.a[Role.VIEWER].user).get("/")
    assert response.status_code == 302
    assert response["Location"] == "/o/acme/"


def test_consultant_picks_then_switches_between_orgs(world):
    client = client_for(world.consultant)
    response = client.get("/")
    assert response.status_code == 200  # two orgs, none used yet: a chooser
    body = response.content.decode()
    assert ORG_A_MARKER in body and ORG_B_MARKER in body

    a_page = client.get("/o/acme/").content.decode()
    assert ORG_A_MARKER in a_page
    b_page = client.get("/o/globex/").content.decode()
    # The switcher lists both (it is the consultant's own list), but nothing
    # else of org A is on org B's page.
    assert 'href="/o/acme/"' in b_page
    assert "Acme Owner" not in client.get("/o/globex/members/").content.decode()
    assert "Globex Executive" in client.get("/o/globex/members/").content.decode()
    # "/" remembers the org used last.
    assert client.get("/")["Location"] == "/o/globex/"


def test_members_page_shows_admin_tools_only_to_admins(world):
    admin_body = client_for(world.a[Role.ADMIN].user).get("/o/acme/members/").content.decode()
    viewer_body = client_for(world.a[Role.VIEWER].user).get("/o/acme/members/").content.decode()
    assert "Invite someone" in admin_body and "Invite someone" not in viewer_body
    assert "Acme Viewer" in viewer_body  # everyone sees who is in the org


def test_invite_form_shows_the_error_on_the_field_and_keeps_input(world):
    client = client_for(world.a[Role.ADMIN].user)
    response = client.post(reverse("member_invite", kwargs={"org_slug": "acme"}),
                           {"email": "owner@acme.test", "role": "controller"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "owner@acme.test is already a member" in body
    assert re.search(r'name="email"[^>]*value="owner@acme.test"', body)
    assert re.search(r'<option value="controller" selected>', body)
    with scopes_disabled():
        assert not Invitation.objects.exists()


def test_invite_form_rejects_garbage(world):
    client = client_for(world.a[Role.ADMIN].user)
    response = client.post(reverse("member_invite", kwargs={"org_slug": "acme"}),
                           {"email": "nope", "role": "god"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Enter a valid email address." in body
    assert "Select a valid choice." in body


def test_role_change_by_htmx_returns_the_row(world):
    client = client_for(world.a[Role.ADMIN].user)
    viewer = world.a[Role.VIEWER].membership
    response = client.post(
        reverse("member_role", kwargs={"org_slug": "acme", "member_id": viewer.pk}),
        {"role": "controller"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith(f'<tr id="member-{viewer.pk}">')
    assert '<option value="controller" selected>' in body
    viewer.refresh_from_db()
    assert viewer.role == Role.CONTROLLER


def test_demoting_the_last_admin_shows_why_in_the_row(world):
    admin = world.a[Role.ADMIN]
    client = client_for(admin.user)
    response = client.post(
        reverse("member_role", kwargs={"org_slug": "acme", "member_id": admin.membership.pk}),
        {"role": "viewer"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert "needs at least one admin" in response.content.decode()
    admin.membership.refresh_from_db()
    assert admin.membership.role == Role.ADMIN


def test_role_change_without_htmx_redirects_with_a_message(world):
    client = client_for(world.a[Role.ADMIN].user)
    viewer = world.a[Role.VIEWER].membership
    response = client.post(
        reverse("member_role", kwargs={"org_slug": "acme", "member_id": viewer.pk}),
        {"role": "owner"}, follow=True)
    assert "Role changed." in response.content.decode()


def test_member_of_another_org_is_404_on_pages(world):
    client = client_for(world.a[Role.ADMIN].user)
    other = world.b_executive.membership
    for name in ("member_role", "member_remove"):
        response = client.post(reverse(name, kwargs={"org_slug": "acme", "member_id": other.pk}),
                               {"role": "viewer"})
        assert response.status_code == 404
    other.refresh_from_db()
    assert other.role == Role.EXECUTIVE


def test_settings_form_errors_are_on_the_field(world):
    client = client_for(world.a[Role.ADMIN].user)
    response = client.post(reverse("org_settings", kwargs={"org_slug": "acme"}),
                           {"name": "New name", "base_currency": "EUR",
                            "fiscal_year_start_month": "4", "time_zone": "Atlantis/Capital"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Atlantis/Capital is not a known time zone" in body
    assert 'value="New name"' in body
    world.org_a.refresh_from_db()
    assert world.org_a.name == ORG_A_MARKER


def test_settings_saved(world):
    client = client_for(world.a[Role.ADMIN].user)
    client.post(reverse("org_settings", kwargs={"org_slug": "acme"}),
                {"name": "Acme Holdings", "base_currency": "CHF",
                 "fiscal_year_start_month": "7", "time_zone": "Europe/Zurich"})
    world.org_a.refresh_from_db()
    assert (world.org_a.name, world.org_a.base_currency, world.org_a.fiscal_year_start_month,
            world.org_a.time_zone) == ("Acme Holdings", "CHF", 7, "Europe/Zurich")


def test_invitation_page_flow_for_a_new_person(world, client):
    _, token = services.invitation_create(membership=world.a[Role.ADMIN].membership,
                                          email="newbie@example.test", role=Role.OWNER)
    url = reverse("invitation_accept", kwargs={"token": token})
    page = client.get(url)
    assert page.status_code == 200
    assert "Join Acme Transformation Holdings" in page.content.decode()
    bad = client.post(url, {"full_name": "New Bie", "password1": "short",
                            "password2": "short"})
    assert bad.status_code == 400
    assert "too short" in bad.content.decode()
    assert 'value="New Bie"' in bad.content.decode()
    good = client.post(url, {"full_name": "New Bie", "password1": "a-long-enough-passphrase",
                             "password2": "a-long-enough-passphrase"})
    assert good.status_code == 302 and good["Location"] == "/o/acme/"
    assert client.get("/o/acme/").status_code == 200  # logged in and a member
    assert client.get(url).status_code == 404  # used up


def test_invitation_for_an_existing_account_asks_to_log_in(world, client):
    _, token = services.invitation_create(membership=world.a[Role.ADMIN].membership,
                                          email=world.b_executive.user.email, role=Role.VIEWER)
    url = reverse("invitation_accept", kwargs={"token": token})
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    client.force_login(world.b_executive.user,
                       backend="django.contrib.auth.backends.ModelBackend")
    assert client.post(url).status_code == 302
    with scopes_disabled():
        assert Membership.objects.filter(user=world.b_executive.user,
                                         organization=world.org_a, role=Role.VIEWER).exists()


def test_unknown_invitation_token_is_404(client, db):
    assert client.get(reverse("invitation_accept", kwargs={"token": "x" * 43})).status_code == 404


@pytest.mark.parametrize("url", ["/o/acme/", "/o/acme/members/", "/o/acme/settings/"])
def test_org_pages_query_count_does_not_grow_with_members(world, url,
                                                          django_assert_max_num_queries):
    client = client_for(world.a[Role.ADMIN].user)
    client.get(url)  # warm the session

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    with scopes_disabled():
        for i in range(40):
            MembershipFactory(organization=world.org_a, role=Role.OWNER,
                              user=UserFactory(email=f"bulk{i}@acme.test"))
            services.invitation_create(membership=world.a[Role.ADMIN].membership,
                                       email=f"invitee{i}@example.test", role=Role.VIEWER)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200

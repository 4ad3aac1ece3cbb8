"""Notification preferences: per member, organisation and kind, the email at once or
in the daily digest (the inbox always gets it). Page and API, each member their own."""

import re

import pytest
from django_scopes import scopes_disabled

from cat4.common.exceptions import ApplicationError
from cat4.tenancy.models import Membership, Role
from governance import services
from governance.models import Delivery, Notification, NotificationKind, NotificationPreference
from governance.notifications import notify
from tests.conftest import api_client_for, client_for
from tests.initiatives.support import field_errors, flashed, org_url, page_text

pytestmark = pytest.mark.django_db

EVERY_KIND_AT_ONCE = dict.fromkeys(NotificationKind.values, "immediate")


def radio(body: str, name: str, value: str) -> str:
    """The <input> tag of one radio button."""
    match = re.search(rf'<input [^>]*name="{name}" value="{value}"[^>]*>', body)
    assert match, (name, value)
    return match.group(0)


def prefs_of(user, organization) -> dict:
    with scopes_disabled():
        return dict(NotificationPreference.objects.filter(user=user, organization=organization)
                    .values_list("kind", "delivery"))


# --- Service ------------------------------------------------------------------------------


def test_service_upserts_and_returns_every_kind(world):
    membership = world.a[Role.OWNER].membership
    result = services.notification_preferences_set(
        membership=membership, preferences={"reminder": "digest", "gate_passed": "digest"})
    assert result == {**EVERY_KIND_AT_ONCE, "reminder": "digest", "gate_passed": "digest"}
    result = services.notification_preferences_set(membership=membership,
                                                   preferences={"reminder": "immediate"})
    assert result == {**EVERY_KIND_AT_ONCE, "gate_passed": "digest"}
    assert prefs_of(membership.user, world.org_a) == {"reminder": "immediate",
                                                      "gate_passed": "digest"}


@pytest.mark.parametrize(("preferences", "field"), [
    ({"reminder": "weekly"}, "reminder"),
    ({"reminder": None}, "reminder"),
    ({"no_such_kind": "digest"}, "no_such_kind"),
    (["reminder"], "preferences"),
])
def test_service_refuses_bad_input_on_the_field(world, preferences, field):
    with pytest.raises(ApplicationError) as refused:
        services.notification_preferences_set(membership=world.a[Role.OWNER].membership,
                                              preferences=preferences)
    assert refused.value.field == field
    assert prefs_of(world.a[Role.OWNER].user, world.org_a) == {}


def test_preferences_are_per_organisation(world):
    consultant = world.consultant
    with scopes_disabled():
        in_a = Membership.objects.select_related("organization").get(
            user=consultant, organization=world.org_a)
    services.notification_preferences_set(membership=in_a, preferences={"reminder": "digest"})
    assert prefs_of(consultant, world.org_a) == {"reminder": "digest"}
    assert prefs_of(consultant, world.org_b) == {}


def test_notify_follows_the_preference(world, mailoutbox, django_capture_on_commit_callbacks):
    owner, admin = world.a[Role.OWNER].user, world.a[Role.ADMIN].user
    services.notification_preferences_set(membership=world.a[Role.OWNER].membership,
                                          preferences={"gate_passed": "digest"})
    with django_capture_on_commit_callbacks(execute=True), scopes_disabled():
        notify(organization=world.org_a, recipients=[owner, admin], kind="gate_passed",
               title="AC-100 passed the Detailed gate", url="/o/acme/initiatives/1/")
    with scopes_disabled():
        deliveries = dict(Notification.objects.values_list("recipient_id", "delivery"))
    assert deliveries == {owner.pk: Delivery.DIGEST, admin.pk: Delivery.IMMEDIATE}
    assert [m.to for m in mailoutbox] == [[admin.email]]


# --- Page ---------------------------------------------------------------------------------


def test_inbox_links_to_the_preferences_page(world):
    body = page_text(client_for(world.a[Role.VIEWER].user).get(org_url("inbox")))
    assert org_url("notification_preferences") in body


def test_page_lists_every_kind_with_the_current_choice(world):
    services.notification_preferences_set(membership=world.a[Role.VIEWER].membership,
                                          preferences={"reminder": "digest"})
    response = client_for(world.a[Role.VIEWER].user).get(org_url("notification_preferences"))
    assert response.status_code == 200
    body = page_text(response)
    for kind in NotificationKind:
        assert kind.label in body
    assert "checked" in radio(body, "reminder", "digest")
    assert "checked" not in radio(body, "reminder", "immediate")
    assert "checked" in radio(body, "gate_passed", "immediate")
    assert body.count("checked") == len(NotificationKind)


def test_page_saves_the_members_own_choices(world):
    viewer = world.a[Role.VIEWER]
    response = client_for(viewer.user).post(
        org_url("notification_preferences"), {**EVERY_KIND_AT_ONCE, "reminder": "digest",
                                               "escalation": "digest"})
    assert response.status_code == 302
    assert response["Location"] == org_url("notification_preferences")
    assert flashed(response) == ["Notification preferences saved."]
    assert prefs_of(viewer.user, world.org_a) == {**EVERY_KIND_AT_ONCE, "reminder": "digest",
                                                  "escalation": "digest"}
    # Nobody else's changed.
    assert prefs_of(world.a[Role.ADMIN].user, world.org_a) == {}


def test_page_refuses_a_bad_choice_on_the_field_and_keeps_the_input(world):
    client = client_for(world.a[Role.OWNER].user)
    response = client.post(org_url("notification_preferences"),
                           {**EVERY_KIND_AT_ONCE, "reminder": "hourly", "gate_passed": "digest"})
    assert response.status_code == 400
    assert field_errors(response, "reminder")
    assert "checked" in radio(page_text(response), "gate_passed", "digest")
    assert prefs_of(world.a[Role.OWNER].user, world.org_a) == {}


def test_page_needs_every_kind(world):
    response = client_for(world.a[Role.OWNER].user).post(org_url("notification_preferences"),
                                                         {"reminder": "digest"})
    assert response.status_code == 400
    assert field_errors(response, "gate_passed")


# --- API ----------------------------------------------------------------------------------


def test_api_get_returns_every_kind_with_its_delivery(world):
    client = api_client_for(world.a[Role.CONTROLLER].user)
    response = client.get(org_url("api_notification_preferences"))
    assert response.status_code == 200
    assert response.json() == EVERY_KIND_AT_ONCE


def test_api_put_changes_the_named_kinds_of_the_caller_only(world):
    client = api_client_for(world.a[Role.CONTROLLER].user)
    response = client.put(org_url("api_notification_preferences"),
                          {"reminder": "digest", "escalation_resolved": "digest"}, format="json")
    assert response.status_code == 200
    expected = {**EVERY_KIND_AT_ONCE, "reminder": "digest", "escalation_resolved": "digest"}
    assert response.json() == expected
    assert client.get(org_url("api_notification_preferences")).json() == expected
    assert api_client_for(world.a[Role.ADMIN].user).get(
        org_url("api_notification_preferences")).json() == EVERY_KIND_AT_ONCE


@pytest.mark.parametrize(("body", "field"), [
    ({"reminder": "weekly"}, "reminder"),
    ({"reminder": None}, "reminder"),
    ({"reminder": "digest", "bogus": "digest"}, "bogus"),
])
def test_api_put_refuses_bad_input_with_a_field_error(world, body, field):
    client = api_client_for(world.a[Role.OWNER].user)
    response = client.put(org_url("api_notification_preferences"), body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert prefs_of(world.a[Role.OWNER].user, world.org_a) == {}


def test_api_put_refuses_a_list(world):
    client = api_client_for(world.a[Role.OWNER].user)
    response = client.put(org_url("api_notification_preferences"), ["reminder"], format="json")
    assert response.status_code == 400

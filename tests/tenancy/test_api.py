"""The tenancy API: field errors as 400, conflicts as 409, ids of other orgs as 404,
and the OpenAPI schema with its Swagger UI served without a CDN."""

import pytest
from django_scopes import scopes_disabled

from cat4.tenancy.models import Invitation, Role
from tests.conftest import ORG_A_MARKER, api_client_for, client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_api(world):
    return api_client_for(world.a[Role.ADMIN].user)


def test_member_list_is_paginated_and_scoped(world):
    response = api_client_for(world.a[Role.VIEWER].user).get("/api/v1/o/acme/members/")
    assert response.status_code == 200
    emails = {m["user"]["email"] for m in response.json()["results"]}
    assert "viewer@acme.test" in emails
    assert "executive@globex.test" not in emails
    assert response.json()["count"] == len(Role.values) + 1  # + the consultant


@pytest.mark.parametrize(("payload", "fields"), [
    ({}, {"email", "role"}),
    ({"email": "bad", "role": "owner"}, {"email"}),
    ({"email": "x@example.test", "role": "emperor"}, {"role"}),
    ({"email": "owner@acme.test", "role": "owner"}, {"email"}),  # already a member
])
def test_invitation_create_field_errors(admin_api, payload, fields):
    response = admin_api.post("/api/v1/o/acme/invitations/", payload, format="json")
    assert response.status_code == 400
    assert set(response.json()) == fields
    with scopes_disabled():
        assert not Invitation.objects.exists()


def test_invitation_create_and_list(admin_api, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_api.post("/api/v1/o/acme/invitations/",
                                  {"email": "api@example.test", "role": "controller"},
                                  format="json")
    assert response.status_code == 201
    assert response.json()["email"] == "api@example.test"
    assert "token" not in response.json() and "token_hash" not in response.json()
    assert len(mailoutbox) == 1
    listed = admin_api.get("/api/v1/o/acme/invitations/").json()["results"]
    assert [i["email"] for i in listed] == ["api@example.test"]


def test_role_patch_validates_and_protects_the_last_admin(world, admin_api):
    admin_id = world.a[Role.ADMIN].membership.pk
    response = admin_api.patch(f"/api/v1/o/acme/members/{admin_id}/", {"role": "boss"},
                               format="json")
    assert response.status_code == 400 and "role" in response.json()
    response = admin_api.patch(f"/api/v1/o/acme/members/{admin_id}/", {"role": "viewer"},
                               format="json")
    assert response.status_code == 409
    assert "at least one admin" in response.json()["role"][0]


def test_ids_of_another_org_are_404(world, admin_api):
    other = world.b_executive.membership.pk
    assert admin_api.get(f"/api/v1/o/acme/members/{other}/").status_code == 404
    assert admin_api.patch(f"/api/v1/o/acme/members/{other}/", {"role": "viewer"},
                           format="json").status_code == 404
    assert admin_api.delete(f"/api/v1/o/acme/members/{other}/").status_code == 404
    world.b_executive.membership.refresh_from_db()
    assert world.b_executive.membership.role == Role.EXECUTIVE


def test_organization_patch_field_errors_and_partial_update(world, admin_api):
    response = admin_api.patch("/api/v1/o/acme/", {"time_zone": "Nowhere/Land",
                                                    "fiscal_year_start_month": 0},
                               format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"time_zone", "fiscal_year_start_month"}
    response = admin_api.patch("/api/v1/o/acme/", {"base_currency": "GBP"}, format="json")
    assert response.status_code == 200
    assert response.json() == {"slug": "acme", "name": ORG_A_MARKER, "base_currency": "GBP",
                               "fiscal_year_start_month": 1, "time_zone": "Europe/Berlin"}


def test_non_json_garbage_is_a_400_not_a_500(admin_api):
    response = admin_api.generic("POST", "/api/v1/o/acme/invitations/", "{not json",
                                 content_type="application/json")
    assert response.status_code == 400


def test_membership_events_record_api_changes(world, admin_api):
    viewer_id = world.a[Role.VIEWER].membership.pk
    admin_api.patch(f"/api/v1/o/acme/members/{viewer_id}/", {"role": "owner"}, format="json")
    events = admin_api.get("/api/v1/o/acme/membership-events/").json()["results"]
    assert events[0]["action"] == "role_changed"
    assert events[0]["actor"]["email"] == "admin@acme.test"
    assert (events[0]["old_role"], events[0]["new_role"]) == ("viewer", "owner")


def test_schema_and_swagger_ui_are_served_locally(world):
    client = client_for(world.a[Role.VIEWER].user)
    schema = client.get("/api/v1/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/o/{org_slug}/members/" in schema.content
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    body = docs.content.decode()
    assert "cdn" not in body.lower()
    assert "<script>" not in body  # the CSP forbids inline scripts

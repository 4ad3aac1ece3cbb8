"""Logging in and out, password reset by email, lockout after failed logins,
and personal API tokens."""

import re

import pytest
from django.urls import reverse

from cat4.tenancy.models import Role
from tests.conftest import client_for
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def login(client, email, password):
    return client.post(reverse("login"), {"username": email, "password": password})


def test_login_by_email_lands_in_the_users_organisation(world, client):
    response = login(client, "OWNER@acme.test", PASSWORD)
    assert response.status_code == 302
    response = client.get(response["Location"], follow=True)
    assert response.redirect_chain[-1][0] == "/o/acme/"
    assert world.org_a.name in response.content.decode()


def test_wrong_password_shows_an_error_and_keeps_the_email(world, client):
    response = login(client, "owner@acme.test", "wrong")
    assert response.status_code == 200
    body = response.content.decode()
    assert "That email and password do not match an account" in body
    assert 'value="owner@acme.test"' in body


def test_logout_needs_post_and_ends_the_session(world):
    client = client_for(world.a[Role.OWNER].user)
    assert client.post(reverse("logout")).status_code == 302
    assert client.get("/o/acme/").status_code == 302


def test_lockout_after_repeated_failures(world, client, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, "owner@acme.test", "wrong")
    response = login(client, "owner@acme.test", PASSWORD)
    assert response.status_code == 429
    assert "Too many failed attempts" in response.content.decode()
    # Another account from the same address is not locked.
    assert login(client, "viewer@acme.test", PASSWORD).status_code == 302


def test_password_reset_by_email(world, client, mailoutbox):
    response = client.post(reverse("password_reset"), {"email": "viewer@acme.test"})
    assert response.status_code == 302
    assert len(mailoutbox) == 1
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", mailoutbox[0].body).group(1)
    response = client.get(link, follow=True)
    form_url = response.redirect_chain[-1][0]
    response = client.post(form_url, {"new_password1": "a-brand-new-passphrase",
                                      "new_password2": "a-brand-new-passphrase"})
    assert response.status_code == 302
    assert login(client, "viewer@acme.test", "a-brand-new-passphrase").status_code == 302


def test_password_reset_does_not_reveal_unknown_addresses(world, client, mailoutbox):
    response = client.post(reverse("password_reset"), {"email": "nobody@nowhere.test"})
    assert response.status_code == 302
    assert mailoutbox == []


def test_api_token_from_password_then_calls_the_api(world, client):
    response = client.post("/api/v1/auth/token/", {"email": "executive@acme.test",
                                                   "password": PASSWORD},
                           content_type="application/json")
    assert response.status_code == 201
    token = response.json()["token"]
    api = client_for(None)
    response = api.get("/api/v1/o/acme/", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 200
    assert response.json()["name"] == world.org_a.name
    assert api.get("/api/v1/o/acme/", HTTP_AUTHORIZATION="Token nonsense").status_code == 401


def test_api_token_request_with_bad_input_is_a_field_error(world, client):
    response = client.post("/api/v1/auth/token/", {"email": "not-an-email"},
                           content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()) == {"email", "password"}
    response = client.post("/api/v1/auth/token/", {"email": "owner@acme.test",
                                                   "password": "wrong"},
                           content_type="application/json")
    assert response.status_code == 400
    assert "non_field_errors" in response.json()


def test_api_token_requests_count_towards_the_lockout(world, client, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/api/v1/auth/token/", {"email": "owner@acme.test", "password": "wrong"},
                    content_type="application/json")
    response = client.post("/api/v1/auth/token/", {"email": "owner@acme.test",
                                                   "password": PASSWORD},
                           content_type="application/json")
    assert response.status_code == 429


def test_profile_creates_shows_once_and_revokes_a_token(world):
    client = client_for(world.a[Role.VIEWER].user)
    response = client.post(reverse("api_token_create_page"), follow=True)
    body = response.content.decode()
    token = re.search(r'<code class="token"[^>]*>([^<]+)</code>', body).group(1)
    assert client_for(None).get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {token}"
                                ).status_code == 200
    # Shown once only.
    assert token not in client.get(reverse("profile")).content.decode()
    from knox.models import AuthToken

    key = AuthToken.objects.get(user=world.a[Role.VIEWER].user).token_key
    client.post(reverse("api_token_revoke_page", kwargs={"token_key": key}))
    assert client_for(None).get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {token}"
                                ).status_code == 401


def test_a_user_cannot_revoke_someone_elses_token(world):
    from knox.models import AuthToken

    from cat4.tenancy import services

    instance, _token = services.api_token_create(user=world.a[Role.ADMIN].user)
    client = client_for(world.a[Role.VIEWER].user)
    client.post(reverse("api_token_revoke_page", kwargs={"token_key": instance.token_key}))
    assert AuthToken.objects.filter(pk=instance.pk).exists()


def test_me_lists_only_the_users_own_memberships(world):
    from tests.conftest import api_client_for

    response = api_client_for(world.consultant).get("/api/v1/me/")
    assert response.status_code == 200
    slugs = sorted(m["organization"]["slug"] for m in response.json()["memberships"])
    assert slugs == ["acme", "globex"]
    response = api_client_for(world.b_executive.user).get("/api/v1/me/")
    assert [m["organization"]["slug"] for m in response.json()["memberships"]] == ["globex"]

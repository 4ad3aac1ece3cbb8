"""The Django admin: staff manage organisations, users and memberships across
tenants, and membership changes made there are recorded like any other."""

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from cat4.tenancy.models import Membership, MembershipEvent, Role, User
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(world):
    user = User.objects.create_superuser(email="ops@platform.test", password="x",
                                         full_name="Platform Operator")
    return client_for(user)


@pytest.mark.parametrize("model", ["user", "organization", "membership", "invitation",
                                   "membershipevent"])
def test_changelists_open_across_tenants(staff, world, model):
    response = staff.get(reverse(f"admin:tenancy_{model}_changelist"))
    assert response.status_code == 200


def test_membership_change_in_admin_is_recorded(staff, world):
    viewer = world.a[Role.VIEWER].membership
    url = reverse("admin:tenancy_membership_change", args=[viewer.pk])
    response = staff.post(url, {"user": viewer.user_id, "organization": world.org_a.pk,
                                "role": "controller"})
    assert response.status_code == 302
    with scopes_disabled():
        event = MembershipEvent.objects.filter(subject_user=viewer.user).latest("id")
    assert (event.action, event.old_role, event.new_role, event.actor.email) == (
        "role_changed", "viewer", "controller", "ops@platform.test")


def test_staff_add_a_user_with_email_login(staff, world):
    response = staff.post(reverse("admin:tenancy_user_add"), {
        "email": "New.Hire@Example.test", "full_name": "New Hire",
        "password1": "a-long-enough-passphrase", "password2": "a-long-enough-passphrase",
        "usable_password": "true"})
    assert response.status_code == 302, response.content[:2000]
    assert User.objects.filter(email__iexact="new.hire@example.test").exists()


def test_tenant_users_cannot_open_the_admin(world):
    response = client_for(world.a[Role.ADMIN].user).get(reverse("admin:index"))
    assert response.status_code == 302  # to the admin login: not staff


def test_event_log_is_read_only_in_admin(staff, world):
    with scopes_disabled():
        event = MembershipEvent.objects.create(organization=world.org_a, action="joined",
                                               subject_email="x@acme.test")
    url = reverse("admin:tenancy_membershipevent_change", args=[event.pk])
    staff.post(url, {"action": "removed", "subject_email": "forged@acme.test"})
    event.refresh_from_db()
    assert event.subject_email == "x@acme.test"
    assert staff.post(reverse("admin:tenancy_membershipevent_delete", args=[event.pk]),
                      {"post": "yes"}).status_code == 403
    with scopes_disabled():
        assert Membership.objects.count() > 0

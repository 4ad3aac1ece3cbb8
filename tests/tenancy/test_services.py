"""Tenancy services: invitations, roles, removals, the last-admin rule, and the
MembershipEvent trail every change leaves."""

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled

from cat4.common.exceptions import ApplicationError, PermissionDeniedError
from cat4.tenancy import services
from cat4.tenancy.models import Invitation, Membership, MembershipEvent, Role
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def events(org):
    with scopes_disabled():
        return list(MembershipEvent.objects.filter(organization=org).order_by("id")
                    .values_list("action", "subject_email", "old_role", "new_role", "actor_id"))


def test_admin_invites_and_the_invitee_receives_a_link(world, mailoutbox,
                                                         django_capture_on_commit_callbacks):
    admin = world.a[Role.ADMIN]
    with django_capture_on_commit_callbacks(execute=True):
        invitation, token = services.invitation_create(membership=admin.membership,
                                                       email="  New.Person@Example.TEST ",
                                                       role=Role.CONTROLLER)
    assert invitation.email == "new.person@example.test"
    assert invitation.token_hash != token  # only a hash is stored
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["new.person@example.test"]
    assert f"/invitations/{token}/" in mailoutbox[0].body
    assert world.org_a.name in mailoutbox[0].subject
    assert events(world.org_a)[-1] == ("invited", "new.person@example.test", "", "controller",
                                       admin.user.pk)


def test_no_email_is_sent_when_the_invitation_rolls_back(world, mailoutbox,
                                                          django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ApplicationError):
        services.invitation_create(membership=world.a[Role.ADMIN].membership,
                                   email=world.a[Role.OWNER].user.email, role=Role.OWNER)
    assert mailoutbox == []


@pytest.mark.parametrize("role", [Role.EXECUTIVE, Role.CONTROLLER, Role.OWNER, Role.VIEWER])
def test_only_admins_invite(world, role):
    with pytest.raises(PermissionDeniedError):
        services.invitation_create(membership=world.a[role].membership, email="x@example.test",
                                   role=Role.VIEWER)


@pytest.mark.parametrize(("email", "role", "field"), [
    ("not-an-email", Role.VIEWER, "email"),
    ("", Role.VIEWER, "email"),
    ("ok@example.test", "superuser", "role"),
    ("owner@acme.test", Role.VIEWER, "email"),  # already a member
])
def test_bad_invitations_are_refused_on_the_field(world, email, role, field):
    with pytest.raises(ApplicationError) as exc:
        services.invitation_create(membership=world.a[Role.ADMIN].membership, email=email,
                                   role=role)
    assert exc.value.field == field
    with scopes_disabled():
        assert not Invitation.objects.filter(email=email).exists()


def test_one_pending_invitation_per_email(world):
    admin = world.a[Role.ADMIN].membership
    services.invitation_create(membership=admin, email="twice@example.test", role=Role.VIEWER)
    with pytest.raises(ApplicationError, match="pending invitation"):
        services.invitation_create(membership=admin, email="TWICE@example.test",
                                   role=Role.OWNER)


def test_an_expired_invitation_can_be_sent_again(world):
    admin = world.a[Role.ADMIN].membership
    first, _ = services.invitation_create(membership=admin, email="late@example.test",
                                          role=Role.VIEWER)
    with scopes_disabled():
        Invitation.objects.filter(pk=first.pk).update(expires_at=timezone.now())
    second, _ = services.invitation_create(membership=admin, email="late@example.test",
                                           role=Role.VIEWER)
    assert second.pk != first.pk


def test_new_user_accepts_and_joins_in_the_invited_role(world):
    _, token = services.invitation_create(membership=world.a[Role.ADMIN].membership,
                                          email="fresh@example.test", role=Role.OWNER)
    membership = services.invitation_accept_new_user(token=token, full_name="Fresh Person",
                                                     password="a-long-enough-passphrase")
    assert membership.organization == world.org_a
    assert membership.role == Role.OWNER
    assert membership.user.check_password("a-long-enough-passphrase")
    assert events(world.org_a)[-1][:4] == ("joined", "fresh@example.test", "", "owner")
    with pytest.raises(ApplicationError, match="invalid, expired or already used"):
        services.invitation_accept(token=token, user=membership.user)


def test_weak_password_is_refused_and_no_user_is_created(world):
    _, token = services.invitation_create(membership=world.a[Role.ADMIN].membership,
                                          email="weak@example.test", role=Role.OWNER)
    with pytest.raises(ApplicationError) as exc:
        services.invitation_accept_new_user(token=token, full_name="Weak", password="123")
    assert exc.value.field == "password"
    assert not services.User.objects.filter(email="weak@example.test").exists()


def test_existing_user_of_another_org_accepts(world):
    outsider = world.b_executive.user
    _, token = services.invitation_create(membership=world.a[Role.ADMIN].membership,
                                          email=outsider.email, role=Role.VIEWER)
    membership = services.invitation_accept(token=token, user=outsider)
    assert membership.organization == world.org_a
    with scopes_disabled():
        assert Membership.objects.filter(user=outsider).count() == 2


def test_invitation_cannot_be_accepted_by_someone_else(world):
    _, token = services.invitation_create(membership=world.a[Role.ADMIN].membership,
                                          email="intended@example.test", role=Role.ADMIN)
    with pytest.raises(ApplicationError, match=r"was sent to intended@example\.test"):
        services.invitation_accept(token=token, user=world.b_executive.user)
    with scopes_disabled():
        assert not Membership.objects.filter(user=world.b_executive.user,
                                             organization=world.org_a).exists()


def test_revoked_and_expired_invitations_do_not_work(world):
    admin = world.a[Role.ADMIN].membership
    revoked, token1 = services.invitation_create(membership=admin, email="r@example.test",
                                                 role=Role.VIEWER)
    services.invitation_revoke(membership=admin, invitation_id=revoked.pk)
    expired, token2 = services.invitation_create(membership=admin, email="e@example.test",
                                                 role=Role.VIEWER)
    with scopes_disabled():
        Invitation.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    for token in (token1, token2):
        with pytest.raises(ApplicationError):
            services.invitation_accept_new_user(token=token, full_name="X",
                                                password="a-long-enough-passphrase")
    assert ("invitation_revoked", "r@example.test") in {e[:2] for e in events(world.org_a)}


def test_revoking_another_orgs_invitation_is_not_found(world):
    b_admin = MembershipFactory(organization=world.org_b, role=Role.ADMIN)
    invitation, _ = services.invitation_create(membership=world.a[Role.ADMIN].membership,
                                               email="a-only@example.test", role=Role.VIEWER)
    with pytest.raises(ApplicationError) as exc:
        services.invitation_revoke(membership=b_admin, invitation_id=invitation.pk)
    assert exc.value.status_code == 404


def test_role_change_is_recorded_with_who_and_when(world):
    admin = world.a[Role.ADMIN]
    viewer = world.a[Role.VIEWER].membership
    before = timezone.now()
    changed = services.member_change_role(membership=admin.membership, member_id=viewer.pk,
                                          role=Role.CONTROLLER)
    assert changed.role == Role.CONTROLLER
    with scopes_disabled():
        event = MembershipEvent.objects.filter(organization=world.org_a).latest("id")
    assert (event.action, event.old_role, event.new_role, event.actor) == (
        "role_changed", "viewer", "controller", admin.user)
    assert event.at >= before


def test_changing_a_member_of_another_org_is_not_found(world):
    with pytest.raises(ApplicationError) as exc:
        services.member_change_role(membership=world.a[Role.ADMIN].membership,
                                    member_id=world.b_executive.membership.pk, role=Role.VIEWER)
    assert exc.value.status_code == 404
    world.b_executive.membership.refresh_from_db()
    assert world.b_executive.membership.role == Role.EXECUTIVE


def test_the_last_admin_cannot_be_demoted_or_removed(world):
    admin = world.a[Role.ADMIN].membership
    with pytest.raises(ApplicationError, match="at least one admin"):
        services.member_change_role(membership=admin, member_id=admin.pk, role=Role.VIEWER)
    with pytest.raises(ApplicationError, match="last admin"):
        services.member_remove(membership=admin, member_id=admin.pk)
    second = MembershipFactory(organization=world.org_a, role=Role.ADMIN,
                               user=UserFactory(email="second-admin@acme.test"))
    services.member_change_role(membership=second, member_id=admin.pk, role=Role.VIEWER)
    admin.refresh_from_db()
    assert admin.role == Role.VIEWER


def test_removal_is_recorded_and_the_member_loses_access(world):
    admin = world.a[Role.ADMIN]
    owner = world.a[Role.OWNER]
    services.member_remove(membership=admin.membership, member_id=owner.membership.pk)
    with scopes_disabled():
        assert not Membership.objects.filter(pk=owner.membership.pk).exists()
    assert events(world.org_a)[-1] == ("removed", owner.user.email, "owner", "", admin.user.pk)


@pytest.mark.parametrize(("field", "value"), [
    ("time_zone", "Mars/Olympus_Mons"),
    ("base_currency", "XXX"),
    ("fiscal_year_start_month", 13),
    ("name", ""),
])
def test_organization_update_refuses_bad_values(world, field, value):
    values = {"name": "Acme", "base_currency": "EUR", "fiscal_year_start_month": 1,
              "time_zone": "Europe/Berlin", field: value}
    with pytest.raises(ApplicationError) as exc:
        services.organization_update(membership=world.a[Role.ADMIN].membership, **values)
    assert exc.value.field == field
    world.org_a.refresh_from_db()
    assert world.org_a.name != "Acme"


def test_organization_update_only_by_admin(world):
    with pytest.raises(PermissionDeniedError):
        services.organization_update(membership=world.a[Role.EXECUTIVE].membership,
                                     name="Hijacked", base_currency="EUR",
                                     fiscal_year_start_month=1, time_zone="UTC")

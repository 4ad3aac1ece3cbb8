"""Lapsing old invitations: a tenancy service run by a periodic task, one
MembershipEvent per lapsed invitation, once, even when two runs meet."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_scopes import scopes_disabled

from cat4.celery import app
from cat4.tenancy import services, tasks
from cat4.tenancy.models import Invitation, MembershipEvent, Role
from tests.conftest import client_for
from tests.factories import InvitationFactory, OrganizationFactory, UserFactory

NOW = timezone.now()
LONG_AGO = NOW - services.INVITATION_LAPSE_AFTER - timedelta(days=1)


def lapse_events():
    with scopes_disabled():
        return sorted(MembershipEvent.objects.filter(action="invitation_lapsed")
                      .values_list("organization__slug", "subject_email", "old_role",
                                   "actor_id", "new_role"))


@pytest.fixture
def long_expired(db):
    """Two unanswered invitations that expired long ago, in two organisations."""
    with scopes_disabled():
        return [InvitationFactory(organization=OrganizationFactory(slug=slug), email=email,
                                  role=role, expires_at=LONG_AGO)
                for slug, email, role in [("north", "n@example.test", Role.OWNER),
                                          ("south", "s@example.test", Role.VIEWER)]]


def test_old_unanswered_invitations_lapse_with_one_event_each(long_expired):
    org = long_expired[0].organization
    with scopes_disabled():
        recent = InvitationFactory(organization=org, expires_at=NOW - timedelta(days=29))
        pending = InvitationFactory(organization=org)
        accepted = InvitationFactory(organization=org, expires_at=LONG_AGO,
                                     accepted_at=LONG_AGO, accepted_by=UserFactory())
        revoked = InvitationFactory(organization=org, expires_at=LONG_AGO,
                                    revoked_at=LONG_AGO)

    assert services.invitation_lapse_expired(now=NOW) == 2

    assert lapse_events() == [("north", "n@example.test", "owner", None, ""),
                              ("south", "s@example.test", "viewer", None, "")]
    with scopes_disabled():
        assert {i.revoked_at for i in Invitation.objects.filter(
            pk__in=[i.pk for i in long_expired])} == {NOW}
        for untouched in (recent, pending, accepted):
            untouched.refresh_from_db()
            assert untouched.revoked_at is None
        revoked.refresh_from_db()
        assert revoked.revoked_at == LONG_AGO


def test_a_second_run_lapses_nothing_and_records_nothing(long_expired):
    services.invitation_lapse_expired(now=NOW)
    assert services.invitation_lapse_expired(now=NOW + timedelta(minutes=5)) == 0
    assert len(lapse_events()) == 2


def test_the_periodic_task_runs_the_service(long_expired):
    assert tasks.lapse_invitations() == {"lapsed_invitations": 2}
    assert tasks.lapse_invitations() == {"lapsed_invitations": 0}
    app.loader.import_default_modules()
    assert "tenancy.lapse_invitations" in {
        entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "tenancy.lapse_invitations" in app.tasks


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_record_each_lapse_once(long_expired):
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            barrier.wait(timeout=10)
            results.append(services.invitation_lapse_expired(now=NOW))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert sorted(results) == [0, 2]
    assert len(lapse_events()) == 2


def test_inviting_again_lapses_the_expired_invitation_first(world):
    admin = world.a[Role.ADMIN]
    first, _ = services.invitation_create(membership=admin.membership, email="late@example.test",
                                          role=Role.VIEWER)
    with scopes_disabled():
        Invitation.objects.filter(pk=first.pk).update(expires_at=timezone.now())
    services.invitation_create(membership=admin.membership, email="late@example.test",
                               role=Role.OWNER)
    with scopes_disabled():
        actions = list(MembershipEvent.objects.filter(subject_email="late@example.test")
                       .order_by("id").values_list("action", "old_role", "new_role"))
    assert actions == [("invited", "", "viewer"), ("invitation_lapsed", "viewer", ""),
                       ("invited", "", "owner")]


def test_the_members_page_says_the_invitation_lapsed(world):
    with scopes_disabled():
        InvitationFactory(organization=world.org_a, email="gone@example.test",
                          expires_at=LONG_AGO)
    services.invitation_lapse_expired(now=NOW)
    body = client_for(world.a[Role.ADMIN].user).get("/o/acme/members/").content.decode()
    assert "The invitation of gone@example.test lapsed" in body

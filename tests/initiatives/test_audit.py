"""The audit trail: every change recorded with who, history rows immutable, and
approval requests emailed as well as put in the inbox."""

import pytest
from django.db import InternalError, ProgrammingError, transaction
from django.urls import reverse
from django_scopes import scopes_disabled

from cat4.tenancy.models import Role
from governance import services as governance_services
from initiatives.models import Initiative
from tests.conftest import client_for
from tests.governance.conftest import add_plan

pytestmark = pytest.mark.django_db


def test_history_rows_cannot_be_updated_or_deleted(world):
    client_for(world.a[Role.OWNER].user).post(
        reverse("initiative_edit", kwargs={"org_slug": "acme",
                                           "initiative_id": world.initiative.pk}),
        {"code": "AC-100", "title": "Renamed", "program": world.initiative.program_id,
         "owner": world.a[Role.OWNER].user.pk, "start_date": "2026-01-01",
         "target_date": "2027-12-31", "version": world.initiative.version})
    events = Initiative.pgh_event_model.objects.filter(pgh_obj_id=world.initiative.pk)
    assert events.filter(title="Renamed").exists()
    latest = events.latest("pgh_id")
    assert latest.pgh_context.metadata["user"] == world.a[Role.OWNER].user.pk
    for attempt in (lambda: events.filter(pk=latest.pk).update(title="Forged"),
                    lambda: events.filter(pk=latest.pk).delete()):
        with pytest.raises((InternalError, ProgrammingError)), transaction.atomic():
            attempt()
    assert events.filter(title="Renamed").exists()


def test_approval_requests_are_emailed(world, mailoutbox, django_capture_on_commit_callbacks):
    add_plan(world.initiative)
    with django_capture_on_commit_callbacks(execute=True):
        governance_services.gate_submit(membership=world.a[Role.OWNER].membership,
                                        initiative_id=world.initiative.pk)
    assert [m.to for m in mailoutbox] == [[world.a[Role.EXECUTIVE].user.email]]
    assert "AC-100" in mailoutbox[0].subject
    assert "/o/acme/reviews/" in mailoutbox[0].body
    with scopes_disabled():
        assert world.a[Role.EXECUTIVE].user.notifications.filter(read_at__isnull=True).count() == 1

"""The review queue: what it lists, and a query count that does not grow with the
number of approvals waiting or decided."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scopes_disabled

from cat4.tenancy.models import Role
from governance.models import Approval, GateSubmission
from initiatives.models import Stage
from tests.conftest import client_for
from tests.factories import InitiativeFactory
from tests.initiatives.support import org_url, page_text

pytestmark = pytest.mark.django_db


def waiting_approvals(world, n: int, *, start: int = 0, decided: bool = False) -> None:
    """n initiatives submitted for the Detailed gate, each with a sponsor approval for the
    executive persona (decided already when ``decided``)."""
    with scopes_disabled():
        for k in range(start, start + n):
            initiative = InitiativeFactory(
                program=world.initiative.program, code=f"RV-{k:03d}",
                owner=world.a[Role.OWNER].user, sponsor=world.a[Role.EXECUTIVE].user,
                controller=world.a[Role.CONTROLLER].user)
            submission = GateSubmission.objects.create(
                organization=world.org_a, initiative=initiative, gate=Stage.DETAILED,
                from_stage=Stage.IDENTIFIED, submitted_by=world.a[Role.OWNER].user,
                comment=f"Please look at {k}",
                status="rejected" if decided else "pending",
                decided_at=timezone.now() if decided else None)
            Approval.objects.create(
                organization=world.org_a, submission=submission, role="sponsor",
                approver=world.a[Role.EXECUTIVE].user,
                decision="rejected" if decided else "pending",
                comment="Rework it" if decided else "",
                decided_at=timezone.now() if decided else None)


def test_my_reviews_lists_what_waits_for_me(world):
    waiting_approvals(world, 2)
    waiting_approvals(world, 1, start=10, decided=True)
    body = page_text(client_for(world.a[Role.EXECUTIVE].user).get(org_url("my_reviews")))
    assert "2 waiting" in body
    assert "RV-000" in body and "RV-001" in body
    assert "Rejected RV-010 for Detailed: “Rework it”" in body
    # Nothing waits for the controller (the Detailed gate needs only the sponsor).
    other = page_text(client_for(world.a[Role.CONTROLLER].user).get(org_url("my_reviews")))
    assert "Nothing is waiting for you." in other


def test_my_reviews_query_count_does_not_grow(world, django_assert_max_num_queries):
    client = client_for(world.a[Role.EXECUTIVE].user)
    url = org_url("my_reviews")
    client.get(url)  # warm the session
    waiting_approvals(world, 1)
    waiting_approvals(world, 1, start=100, decided=True)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    waiting_approvals(world, 29, start=1)
    waiting_approvals(world, 19, start=101, decided=True)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    body = page_text(response)
    assert "30 waiting" in body
    assert body.count('name="decision" value="approved"') == 30
    assert body.count("Rejected RV-1") == 20

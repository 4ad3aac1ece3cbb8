"""Two decisions on the same approval at the same time: exactly one wins, the other
is a conflict, and the stage and the stage-event log follow the winner. A stale
decision form on a page answers with a message, never a 500."""

import threading

import pytest
from django.db import connection
from django_scopes import scopes_disabled

from cat4.tenancy.models import Membership, Role
from governance import services
from governance.models import Approval, DecisionLogEntry, GateSubmission, StageEvent
from initiatives.models import Initiative, Stage
from tests.conftest import client_for
from tests.governance.conftest import add_milestone, add_plan
from tests.initiatives.support import (
    approve_pending,
    drive_to,
    flashed,
    messages_on,
    org_url,
)


def pending(initiative, role) -> Approval:
    with scopes_disabled():
        return Approval.objects.get(submission__initiative=initiative, role=role,
                                    decision="pending")


def decide_at_once(calls: list[dict]) -> list:
    """Run approval_decide for each call in its own thread, released together."""
    barrier = threading.Barrier(len(calls), timeout=10)
    outcomes: list = [None] * len(calls)

    def run(n: int, membership_id: int, kwargs: dict) -> None:
        try:
            with scopes_disabled():
                membership = Membership.objects.select_related("organization", "user").get(
                    pk=membership_id)
            barrier.wait()
            outcomes[n] = services.approval_decide(membership=membership, **kwargs)
        except Exception as exc:  # recorded and asserted by the caller
            outcomes[n] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n, c.pop("membership_id"), c))
               for n, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_approve_and_reject_at_once_exactly_one_wins(world, initiative):
    add_plan(initiative)
    services.gate_submit(membership=world.a[Role.OWNER].membership,
                         initiative_id=initiative.pk)
    approval = pending(initiative, "sponsor")
    sponsor_id = world.a[Role.EXECUTIVE].membership.pk

    outcomes = decide_at_once([
        {"membership_id": sponsor_id, "approval_id": approval.pk, "decision": "approved"},
        {"membership_id": sponsor_id, "approval_id": approval.pk, "decision": "rejected",
         "comment": "Not yet"},
    ])

    won = [o for o in outcomes if isinstance(o, Approval)]
    lost = [o for o in outcomes if not isinstance(o, Approval)]
    assert len(won) == 1, outcomes
    assert len(lost) == 1 and isinstance(lost[0], services.ConflictError), outcomes
    assert lost[0].status_code == 409
    winner = won[0].decision

    approval.refresh_from_db()
    initiative.refresh_from_db()
    with scopes_disabled():
        submission = GateSubmission.objects.get(initiative=initiative)
        events = list(StageEvent.objects.filter(initiative=initiative)
                      .values_list("from_stage", "to_stage"))
        log_entries = DecisionLogEntry.objects.filter(approval=approval).count()
    assert approval.decision == winner
    assert log_entries == 1
    if winner == "approved":
        assert initiative.stage == Stage.DETAILED
        assert submission.status == "approved"
        assert events == [("identified", "detailed")]
    else:
        assert approval.comment == "Not yet"
        assert initiative.stage == Stage.IDENTIFIED
        assert submission.status == "rejected"
        assert events == []


@pytest.mark.django_db(transaction=True)
def test_the_last_two_approvals_at_once_pass_the_gate_once(world, initiative):
    """Sponsor and controller approve the Decided gate at the same moment: both
    succeed, and the initiative passes the gate exactly once."""
    drive_to(world, initiative, Stage.DETAILED)
    add_milestone(initiative)
    services.gate_submit(membership=world.a[Role.OWNER].membership,
                         initiative_id=initiative.pk)
    outcomes = decide_at_once([
        {"membership_id": world.a[Role.EXECUTIVE].membership.pk,
         "approval_id": pending(initiative, "sponsor").pk, "decision": "approved"},
        {"membership_id": world.a[Role.CONTROLLER].membership.pk,
         "approval_id": pending(initiative, "controller").pk, "decision": "approved"},
    ])
    assert all(isinstance(o, Approval) for o in outcomes), outcomes
    with scopes_disabled():
        assert Initiative.objects.get(pk=initiative.pk).stage == Stage.DECIDED
        assert list(StageEvent.objects.filter(initiative=initiative).order_by("id")
                    .values_list("to_stage", flat=True)) == ["detailed", "decided"]


@pytest.mark.django_db
@pytest.mark.parametrize("first", ["approved", "rejected"])
@pytest.mark.parametrize("next_page", ["", "reviews"])
def test_deciding_an_already_decided_approval_on_the_page_shows_a_message(world, initiative,
                                                                          first, next_page):
    add_plan(initiative)
    services.gate_submit(membership=world.a[Role.OWNER].membership,
                         initiative_id=initiative.pk)
    approval = pending(initiative, "sponsor")
    services.approval_decide(membership=world.a[Role.EXECUTIVE].membership,
                             approval_id=approval.pk, decision=first, comment="Decided")
    # The sponsor's other tab still shows the decision form.
    client = client_for(world.a[Role.EXECUTIVE].user)
    data = {"decision": "rejected", "comment": "Too late"}
    if next_page:
        data["next"] = next_page
    response = client.post(org_url("approval_decide", approval_id=approval.pk), data)
    assert response.status_code == 302
    expected = (org_url("my_reviews") if next_page
                else org_url("initiative_detail", initiative_id=initiative.pk) + "#gate")
    assert response["Location"] == expected
    assert flashed(response) == ["This approval was already decided."]
    if next_page:  # the review queue shows it
        page = client.get(expected)
        assert page.status_code == 200
        assert messages_on(page) == ["This approval was already decided."]
    approval.refresh_from_db()
    assert (approval.decision, approval.comment) == (first, "Decided")


@pytest.mark.django_db
def test_the_other_approvers_form_after_a_rejection_is_not_a_500(world, initiative):
    """After the sponsor rejects the Decided gate, the controller's pending approval is
    gone; their stale form answers 404, not a server error."""
    drive_to(world, initiative, Stage.DETAILED)
    add_milestone(initiative)
    services.gate_submit(membership=world.a[Role.OWNER].membership,
                         initiative_id=initiative.pk)
    controller_approval = pending(initiative, "controller")
    services.approval_decide(membership=world.a[Role.EXECUTIVE].membership,
                             approval_id=pending(initiative, "sponsor").pk,
                             decision="rejected", comment="Rework the business case")
    response = client_for(world.a[Role.CONTROLLER].user).post(
        org_url("approval_decide", approval_id=controller_approval.pk),
        {"decision": "approved", "next": "reviews"})
    assert response.status_code == 404
    initiative.refresh_from_db()
    assert initiative.stage == Stage.DETAILED


@pytest.mark.django_db
def test_deciding_on_the_page(world, initiative):
    add_plan(initiative)
    services.gate_submit(membership=world.a[Role.OWNER].membership,
                         initiative_id=initiative.pk)
    client = client_for(world.a[Role.EXECUTIVE].user)
    url = org_url("approval_decide", approval_id=pending(initiative, "sponsor").pk)
    refused = client.post(url, {"decision": "rejected", "next": "reviews"})
    assert "Say why you reject, so the owner can act on it." in messages_on(
        client.get(refused["Location"]))
    client.post(url, {"decision": "approved", "next": "reviews"})
    initiative.refresh_from_db()
    assert initiative.stage == Stage.DETAILED
    approve_pending(initiative)  # nothing left to approve

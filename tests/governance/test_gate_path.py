"""The whole gate path through the services: Identified to Closed."""

import datetime as dt

import pytest
from django_scopes import scopes_disabled

from cat4.common.exceptions import ApplicationError, PermissionDeniedError
from cat4.tenancy.models import Role
from governance import services
from governance.models import Approval, DecisionLogEntry, Notification, StageEvent
from initiatives import services as initiative_services
from initiatives.models import Stage
from tests.governance.conftest import add_milestone, add_plan

pytestmark = pytest.mark.django_db


def pending_approval(initiative, role):
    with scopes_disabled():
        return Approval.objects.get(submission__initiative=initiative, role=role,
                                    decision="pending")


def test_full_path_from_identified_to_closed(world, initiative):
    owner = world.a[Role.OWNER].membership
    sponsor = world.a[Role.EXECUTIVE].membership
    controller = world.a[Role.CONTROLLER].membership

    line = add_plan(initiative)
    services.gate_submit(membership=owner, initiative_id=initiative.pk, comment="ready")
    services.approval_decide(membership=sponsor,
                             approval_id=pending_approval(initiative, "sponsor").pk,
                             decision="approved")
    initiative.refresh_from_db()
    assert initiative.stage == Stage.DETAILED

    add_milestone(initiative, title="Tender issued", due_date=dt.date(2026, 3, 31))
    services.gate_submit(membership=owner, initiative_id=initiative.pk)
    services.approval_decide(membership=sponsor,
                             approval_id=pending_approval(initiative, "sponsor").pk,
                             decision="approved")
    initiative.refresh_from_db()
    assert initiative.stage == Stage.DETAILED  # the controller has not approved yet
    services.approval_decide(membership=controller,
                             approval_id=pending_approval(initiative, "controller").pk,
                             decision="approved", comment="business case checked")
    initiative.refresh_from_db()
    assert initiative.stage == Stage.DECIDED

    with scopes_disabled():
        ms = initiative.milestones.get()
    initiative_services.milestone_update(membership=owner, milestone_id=ms.pk,
                                         done_date=dt.date(2026, 3, 20))
    services.gate_submit(membership=owner, initiative_id=initiative.pk)
    services.approval_decide(membership=sponsor,
                             approval_id=pending_approval(initiative, "sponsor").pk,
                             decision="approved")
    initiative.refresh_from_db()
    assert initiative.stage == Stage.IMPLEMENTED

    initiative_services.monthly_values_set(
        membership=owner, line_id=line.pk, kind="actual",
        values={dt.date(2026, m, 1): "950.00" for m in range(1, 7)})
    with pytest.raises(ApplicationError, match="validated"):
        services.gate_submit(membership=owner, initiative_id=initiative.pk)
    services.value_validate(membership=controller, initiative_id=initiative.pk)
    services.gate_submit(membership=owner, initiative_id=initiative.pk)
    services.approval_decide(membership=controller,
                             approval_id=pending_approval(initiative, "controller").pk,
                             decision="approved")
    initiative.refresh_from_db()
    assert initiative.stage == Stage.CLOSED

    with scopes_disabled():
        moves = list(StageEvent.objects.filter(initiative=initiative).order_by("id")
                     .values_list("from_stage", "to_stage"))
        assert moves == [("identified", "detailed"), ("detailed", "decided"),
                         ("decided", "implemented"), ("implemented", "closed")]
        assert DecisionLogEntry.objects.filter(organization=world.org_a).count() == 5
        assert Notification.objects.filter(recipient=world.a[Role.EXECUTIVE].user,
                                           kind="approval_requested").count() == 3


def test_owner_never_approves_their_own_gate(world, initiative):
    add_plan(initiative)
    with scopes_disabled():
        initiative.sponsor = initiative.owner
        initiative.save()
    with pytest.raises(ApplicationError, match="someone other than the owner"):
        services.gate_submit(membership=world.a[Role.OWNER].membership,
                             initiative_id=initiative.pk)


def test_only_the_named_approver_decides(world, initiative):
    add_plan(initiative)
    services.gate_submit(membership=world.a[Role.OWNER].membership,
                         initiative_id=initiative.pk)
    approval = pending_approval(initiative, "sponsor")
    for role in (Role.ADMIN, Role.OWNER, Role.CONTROLLER, Role.VIEWER):
        with pytest.raises(PermissionDeniedError):
            services.approval_decide(membership=world.a[role].membership,
                                     approval_id=approval.pk, decision="approved")
    initiative.refresh_from_db()
    assert initiative.stage == Stage.IDENTIFIED


def test_rejection_keeps_the_stage_and_the_reason(world, initiative):
    add_plan(initiative)
    services.gate_submit(membership=world.a[Role.OWNER].membership,
                         initiative_id=initiative.pk)
    approval = pending_approval(initiative, "sponsor")
    with pytest.raises(ApplicationError) as exc:
        services.approval_decide(membership=world.a[Role.EXECUTIVE].membership,
                                 approval_id=approval.pk, decision="rejected")
    assert exc.value.field == "comment"
    services.approval_decide(membership=world.a[Role.EXECUTIVE].membership,
                             approval_id=approval.pk, decision="rejected",
                             comment="Quantify the saving per lane first.")
    initiative.refresh_from_db()
    assert initiative.stage == Stage.IDENTIFIED
    approval.refresh_from_db()
    assert approval.comment == "Quantify the saving per lane first."
    # Resubmitting is possible after a rejection.
    services.gate_submit(membership=world.a[Role.OWNER].membership,
                         initiative_id=initiative.pk)


def test_a_decided_approval_cannot_be_decided_again(world, initiative):
    add_plan(initiative)
    services.gate_submit(membership=world.a[Role.OWNER].membership,
                         initiative_id=initiative.pk)
    approval = pending_approval(initiative, "sponsor")
    services.approval_decide(membership=world.a[Role.EXECUTIVE].membership,
                             approval_id=approval.pk, decision="approved")
    with pytest.raises(services.ConflictError):
        services.approval_decide(membership=world.a[Role.EXECUTIVE].membership,
                                 approval_id=approval.pk, decision="rejected", comment="no")


def test_unmet_criteria_say_why(world, initiative):
    with pytest.raises(ApplicationError) as exc:
        services.gate_submit(membership=world.a[Role.OWNER].membership,
                             initiative_id=initiative.pk)
    assert "A first planned value (no planned value entered)" in exc.value.message


def test_hold_resume_and_cancel(world, initiative):
    sponsor = world.a[Role.EXECUTIVE].membership
    with pytest.raises(ApplicationError):
        services.initiative_hold(membership=sponsor, initiative_id=initiative.pk, reason=" ")
    services.initiative_hold(membership=sponsor, initiative_id=initiative.pk,
                             reason="Budget freeze until Q3")
    initiative.refresh_from_db()
    assert (initiative.stage, initiative.resume_stage) == (Stage.ON_HOLD, Stage.IDENTIFIED)
    services.initiative_resume(membership=sponsor, initiative_id=initiative.pk)
    initiative.refresh_from_db()
    assert (initiative.stage, initiative.resume_stage) == (Stage.IDENTIFIED, "")
    with pytest.raises(PermissionDeniedError):
        services.initiative_cancel(membership=world.a[Role.VIEWER].membership,
                                   initiative_id=initiative.pk, reason="x")
    services.initiative_cancel(membership=sponsor, initiative_id=initiative.pk,
                               reason="Merged into AC-002")
    initiative.refresh_from_db()
    assert initiative.stage == Stage.CANCELLED
    with pytest.raises(services.ConflictError):
        services.initiative_resume(membership=sponsor, initiative_id=initiative.pk)


def test_stage_events_cannot_be_changed_or_deleted(world, initiative):
    from django.db import InternalError, ProgrammingError, transaction

    services.initiative_hold(membership=world.a[Role.EXECUTIVE].membership,
                             initiative_id=initiative.pk, reason="Waiting for the board")
    with scopes_disabled():
        event = StageEvent.objects.get(initiative=initiative)
        for attempt in (lambda: StageEvent.objects.filter(pk=event.pk).update(reason="edited"),
                        lambda: StageEvent.objects.filter(pk=event.pk).delete()):
            with pytest.raises((InternalError, ProgrammingError)), transaction.atomic():
                attempt()

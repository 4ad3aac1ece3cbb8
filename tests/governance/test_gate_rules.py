"""Each default entry criterion blocks its gate and says why; pending submissions
and checklist items; the gate panel on the detail page."""

import datetime as dt
import re

import pytest
from django_scopes import scopes_disabled

from cat4.common.exceptions import ApplicationError
from cat4.tenancy.models import Role
from governance import services
from governance.models import GateCriterion, GateSubmission, StageEvent
from initiatives import services as initiative_services
from initiatives.models import Initiative, Stage
from tests.conftest import client_for
from tests.factories import ImpactLineFactory
from tests.governance.conftest import add_milestone, add_plan
from tests.initiatives.support import drive_to, flashed, org_url, page_text

pytestmark = pytest.mark.django_db


def submit(world, initiative, **kwargs):
    return services.gate_submit(membership=world.a[Role.OWNER].membership,
                                initiative_id=initiative.pk, **kwargs)


def refused(world, initiative, **kwargs) -> ApplicationError:
    """Submit, expect a refusal, and check that nothing moved or was recorded."""
    initiative.refresh_from_db()
    stage = initiative.stage
    with scopes_disabled():
        submissions = GateSubmission.objects.count()
        events = StageEvent.objects.count()
    with pytest.raises(ApplicationError) as exc:
        submit(world, initiative, **kwargs)
    initiative.refresh_from_db()
    assert initiative.stage == stage
    with scopes_disabled():
        assert GateSubmission.objects.count() == submissions
        assert StageEvent.objects.count() == events
    return exc.value


def set_fields(initiative, **values):
    with scopes_disabled():
        Initiative.objects.filter(pk=initiative.pk).update(**values)
    initiative.refresh_from_db()


# --- Detailed -----------------------------------------------------------------------------


def test_detailed_needs_a_sponsor(world, initiative):
    add_plan(initiative)
    set_fields(initiative, sponsor=None)
    error = refused(world, initiative)
    assert error.field == "criteria"
    assert "Owner and sponsor named (no sponsor named)" in error.message
    assert "A first planned value" not in error.message  # met criteria are not listed


def test_detailed_needs_a_first_planned_value(world, initiative):
    with scopes_disabled():
        ImpactLineFactory(initiative=initiative)  # a line, but no value on it
    error = refused(world, initiative)
    assert "A first planned value (no planned value entered)" in error.message
    assert "Owner and sponsor" not in error.message


def test_detailed_lists_every_unmet_criterion(world, initiative):
    set_fields(initiative, sponsor=None)
    error = refused(world, initiative)
    assert error.message == ("Not ready for the gate: Owner and sponsor named (no sponsor "
                             "named); A first planned value (no planned value entered).")


def test_detailed_passes_when_met(world, initiative):
    drive_to(world, initiative, Stage.DETAILED)
    with scopes_disabled():
        submission = GateSubmission.objects.get(initiative=initiative)
    assert submission.status == "approved"
    assert {(c["rule"], c["met"]) for c in submission.criteria_snapshot} == {
        ("owner_and_sponsor", True), ("first_planned_value", True)}


# --- Decided ----------------------------------------------------------------------------------


def test_decided_needs_planned_values_on_every_line(world, initiative):
    drive_to(world, initiative, Stage.DETAILED)
    add_milestone(initiative)
    with scopes_disabled():
        ImpactLineFactory(initiative=initiative, description="Unplanned line")
    error = refused(world, initiative)
    assert ("Planned monthly values (business case) (1 impact line(s) without planned "
            "values)") in error.message


def test_decided_needs_a_milestone(world, initiative):
    drive_to(world, initiative, Stage.DETAILED)
    error = refused(world, initiative)
    assert "Milestones planned (no milestone planned)" in error.message
    assert "Planned monthly values" not in error.message


def test_decided_needs_a_controller(world, initiative):
    drive_to(world, initiative, Stage.DETAILED)
    add_milestone(initiative)
    set_fields(initiative, controller=None)
    error = refused(world, initiative)
    assert "Controller named (no controller named)" in error.message


# --- Implemented ----------------------------------------------------------------------------


def test_implemented_needs_every_milestone_done_or_waived(world, initiative):
    drive_to(world, initiative, Stage.DECIDED)
    open_one = add_milestone(initiative, title="Go-live")
    error = refused(world, initiative)
    assert ("Every milestone done or waived with a reason (2 milestone(s) neither done nor "
            "waived)") in error.message
    owner = world.a[Role.OWNER].membership
    with scopes_disabled():
        first = initiative.milestones.exclude(pk=open_one.pk).get()
    initiative_services.milestone_update(membership=owner, milestone_id=first.pk,
                                         done_date=dt.date(2026, 3, 1))
    error = refused(world, initiative)
    assert "(1 milestone(s) neither done nor waived)" in error.message
    # A waived milestone (with its reason) counts as complete.
    initiative_services.milestone_update(membership=owner, milestone_id=open_one.pk,
                                         waived=True, waiver_reason="Descoped by the board")
    submit(world, initiative)


# --- Closed -------------------------------------------------------------------------------------


def test_closed_needs_actuals_covering_the_plan(world, initiative):
    line = drive_to(world, initiative, Stage.IMPLEMENTED)
    error = refused(world, initiative)
    assert ("Actuals cover the plan horizon (6 planned month(s) without an actual, from "
            "Jan 2026)") in error.message
    initiative_services.monthly_values_set(
        membership=world.a[Role.OWNER].membership, line_id=line.pk, kind="actual",
        values={dt.date(2026, m, 1): "900" for m in range(1, 5)})
    error = refused(world, initiative)
    assert "(2 planned month(s) without an actual, from May 2026)" in error.message


def test_closed_needs_the_controllers_validation(world, initiative):
    line = drive_to(world, initiative, Stage.IMPLEMENTED)
    initiative_services.monthly_values_set(
        membership=world.a[Role.OWNER].membership, line_id=line.pk, kind="actual",
        values={dt.date(2026, m, 1): "900" for m in range(1, 7)})
    error = refused(world, initiative)
    assert ("Controller validated the realised value (the controller has not validated the "
            "realised value)") in error.message
    assert "Actuals cover" not in error.message
    services.value_validate(membership=world.a[Role.CONTROLLER].membership,
                            initiative_id=initiative.pk)
    submit(world, initiative)


def test_a_closed_initiative_cannot_be_submitted(world, initiative):
    drive_to(world, initiative, Stage.CLOSED)
    with pytest.raises(ApplicationError) as exc:  # closed: a state conflict, not a role issue
        submit(world, initiative)
    assert exc.value.status_code == 409
    assert "is closed; its record is final" in exc.value.message


def test_an_initiative_on_hold_has_no_next_gate(world, initiative):
    add_plan(initiative)
    services.initiative_hold(membership=world.a[Role.EXECUTIVE].membership,
                             initiative_id=initiative.pk, reason="Budget review")
    error = refused(world, initiative)
    assert isinstance(error, services.ConflictError)
    assert error.status_code == 409
    assert "has no next gate" in error.message


# --- Pending submissions ------------------------------------------------------------------


def test_a_pending_submission_blocks_a_second_one(world, initiative):
    add_plan(initiative)
    submit(world, initiative)
    with pytest.raises(services.ConflictError) as exc:
        services.gate_submit(membership=world.a[Role.ADMIN].membership,
                             initiative_id=initiative.pk)
    assert exc.value.status_code == 409
    assert exc.value.message == "This initiative is already waiting for a gate decision."
    with scopes_disabled():
        assert GateSubmission.objects.filter(initiative=initiative).count() == 1


def test_a_pending_submission_blocks_a_second_one_on_the_page(world, initiative):
    add_plan(initiative)
    submit(world, initiative)
    response = client_for(world.a[Role.OWNER].user).post(
        org_url("gate_submit", initiative_id=initiative.pk), {"comment": "again"})
    assert response.status_code == 302
    assert flashed(response) == ["This initiative is already waiting for a gate decision."]
    with scopes_disabled():
        assert GateSubmission.objects.filter(initiative=initiative).count() == 1


def test_unmet_criteria_on_the_page_become_a_message(world, initiative):
    response = client_for(world.a[Role.OWNER].user).post(
        org_url("gate_submit", initiative_id=initiative.pk), {"comment": ""})
    assert response.status_code == 302
    assert flashed(response) == [
        "Not ready for the gate: A first planned value (no planned value entered)."]


def test_non_editors_cannot_submit(world, initiative):
    add_plan(initiative)
    for role in (Role.VIEWER, Role.EXECUTIVE, Role.CONTROLLER):
        response = client_for(world.a[role].user).post(
            org_url("gate_submit", initiative_id=initiative.pk), {"comment": ""})
        assert response.status_code == 403
    with scopes_disabled():
        assert not GateSubmission.objects.exists()


# --- Checklist criteria -----------------------------------------------------------------------


@pytest.fixture
def checklist(world):
    with scopes_disabled():
        return GateCriterion.objects.create(organization=world.org_a, gate=Stage.DETAILED,
                                            rule="", label="Legal reviewed the contract",
                                            position=5)


def test_a_checklist_item_must_be_confirmed(world, initiative, checklist):
    add_plan(initiative)
    error = refused(world, initiative)
    assert error.message == ("Not ready for the gate: Legal reviewed the contract (to be "
                             "confirmed by the submitter).")
    error = refused(world, initiative, confirmed_checklist=[checklist.pk + 1000])
    assert "Legal reviewed the contract" in error.message
    submission = submit(world, initiative, confirmed_checklist=[str(checklist.pk)])
    snapshot = {c["label"]: (c["met"], c["why"]) for c in submission.criteria_snapshot}
    assert snapshot["Legal reviewed the contract"] == (True, "confirmed by the submitter")


def test_an_inactive_checklist_item_does_not_count(world, initiative, checklist):
    with scopes_disabled():
        GateCriterion.objects.filter(pk=checklist.pk).update(active=False)
    add_plan(initiative)
    submit(world, initiative)


def test_a_checklist_item_of_another_gate_does_not_block(world, initiative):
    with scopes_disabled():
        GateCriterion.objects.create(organization=world.org_a, gate=Stage.DECIDED, rule="",
                                     label="Board minutes filed")
    add_plan(initiative)
    submit(world, initiative)


def test_checklist_confirmed_through_the_page(world, initiative, checklist):
    add_plan(initiative)
    client = client_for(world.a[Role.OWNER].user)
    url = org_url("gate_submit", initiative_id=initiative.pk)
    response = client.post(url, {"comment": "Please review"})
    assert flashed(response) == ["Not ready for the gate: Legal reviewed the contract (to be "
                                 "confirmed by the submitter)."]
    client = client_for(world.a[Role.OWNER].user)  # a fresh message store
    response = client.post(url, {"comment": "Please review", "confirmed": [str(checklist.pk)]})
    assert flashed(response) == [
        "Submitted for the Detailed gate. The approvers have been notified."]
    with scopes_disabled():
        submission = GateSubmission.objects.get(initiative=initiative)
    assert (submission.status, submission.comment) == ("pending", "Please review")


# --- The gate panel ---------------------------------------------------------------------------


def criteria_items(response) -> list[str]:
    body = page_text(response)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", li)).strip()
            for li in re.findall(r'<li class="(?:met|unmet|check)">(.*?)</li>', body, re.S)]


def test_gate_panel_lists_each_criterion_with_why(world, initiative, checklist):
    response = client_for(world.a[Role.OWNER].user).get(
        org_url("initiative_detail", initiative_id=initiative.pk))
    assert response.status_code == 200
    assert "Next gate: Detailed" in page_text(response)
    assert criteria_items(response) == [
        "✓ Owner and sponsor named Met: owner and sponsor are named",
        "✗ A first planned value Not met: no planned value entered",
        "☐ Legal reviewed the contract Checklist: to be confirmed by the submitter",
    ]
    body = page_text(response)
    assert f'name="confirmed" value="{checklist.pk}"' in body
    assert "Some criteria are not met yet" in body


def test_gate_panel_shows_unmet_sponsor(world, initiative):
    set_fields(initiative, sponsor=None)
    response = client_for(world.a[Role.VIEWER].user).get(
        org_url("initiative_detail", initiative_id=initiative.pk))
    items = criteria_items(response)
    assert "✗ Owner and sponsor named Not met: no sponsor named" in items
    # A viewer sees the criteria but gets no submit form.
    assert "Submit for Detailed" not in page_text(response)

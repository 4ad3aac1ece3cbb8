"""The governance API (docs/api.md): the gate panel and submission, the review queue and
decisions on approvals, hold / resume / cancel / validate-value, and the decision log.
Every refusal asserts its status, its body and that nothing was saved."""

import datetime as dt

import pytest
from django_scopes import scopes_disabled

from cat4.tenancy.models import Membership, Role
from governance import services as gov
from governance.models import (
    Approval,
    DecisionLogEntry,
    GateCriterion,
    GateSubmission,
    StageEvent,
)
from initiatives.models import Initiative, Stage
from tests.conftest import api_client_for
from tests.factories import InitiativeFactory, ProgramFactory
from tests.governance.conftest import add_milestone, add_plan
from tests.initiatives.support import drive_to

pytestmark = pytest.mark.django_db

BASE = "/api/v1/o/acme"


def api(world, role):
    return api_client_for(world.a[role].user)


def url(initiative, action: str) -> str:
    return f"{BASE}/initiatives/{initiative.pk}/{action}/"


def state(initiative) -> dict:
    """What a refused request must leave as it was."""
    with scopes_disabled():
        return {
            "initiative": Initiative.objects.filter(pk=initiative.pk).values().get(),
            "submissions": list(GateSubmission.objects.filter(initiative=initiative)
                                .order_by("pk").values()),
            "approvals": list(Approval.objects.filter(submission__initiative=initiative)
                              .order_by("pk").values()),
            "events": StageEvent.objects.filter(initiative=initiative).count(),
            "decisions": DecisionLogEntry.objects.count(),
        }


def pending_approval(initiative, role: str) -> Approval:
    with scopes_disabled():
        return Approval.objects.get(submission__initiative=initiative, role=role,
                                    decision="pending")


def decide_url(approval) -> str:
    return f"{BASE}/approvals/{approval.pk}/decision/"


@pytest.fixture
def foreign(world):
    """An org B initiative owned by the consultant (a member of both organisations) and
    sponsored by org B's executive, waiting at its first gate."""
    with scopes_disabled():
        initiative = InitiativeFactory(
            program=ProgramFactory(organization=world.org_b,
                                   portfolio__organization=world.org_b),
            code="GX-001", owner=world.consultant, sponsor=world.b_executive.user)
        add_plan(initiative)
        consultant = Membership.objects.select_related("organization", "user").get(
            organization=world.org_b, user=world.consultant)
    gov.gate_submit(membership=consultant, initiative_id=initiative.pk)
    return initiative


# --- 5. Gates and approvals ------------------------------------------------------------


def test_gate_panel_lists_the_criteria_with_met_and_why(world):
    response = api(world, Role.VIEWER).get(url(world.initiative, "gate"))
    assert response.status_code == 200
    body = response.json()
    assert body["next_gate"] == Stage.DETAILED
    assert body["pending"] is None and body["events"] == []
    assert [(c["rule"], c["met"], c["why"]) for c in body["criteria"]] == [
        ("owner_and_sponsor", True, "owner and sponsor are named"),
        ("first_planned_value", False, "no planned value entered"),
    ]
    assert all(isinstance(c["criterion_id"], int) and c["label"] for c in body["criteria"])


def test_gate_submit_with_unmet_criteria_is_400_with_the_reasons(world):
    before = state(world.initiative)
    response = api(world, Role.OWNER).post(url(world.initiative, "gate"), {"comment": "go"},
                                           format="json")
    assert response.status_code == 400
    assert response.json() == {"criteria": [
        "Not ready for the gate: A first planned value (no planned value entered)."]}
    assert state(world.initiative) == before


def test_an_unconfirmed_checklist_item_blocks_the_gate_until_confirmed(world):
    add_plan(world.initiative)
    with scopes_disabled():
        item = GateCriterion.objects.create(organization=world.org_a, gate=Stage.DETAILED,
                                            label="Works council informed", position=9)
    client = api(world, Role.OWNER)
    before = state(world.initiative)
    response = client.post(url(world.initiative, "gate"), {}, format="json")
    assert response.status_code == 400
    assert "Works council informed (to be confirmed by the submitter)" in (
        response.json()["criteria"][0])
    assert state(world.initiative) == before
    response = client.post(url(world.initiative, "gate"),
                           {"confirmed_checklist": [item.pk]}, format="json")
    assert response.status_code == 201


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EXECUTIVE, Role.CONTROLLER])
def test_gate_submit_by_someone_who_does_not_edit_the_initiative_is_403(world, role):
    add_plan(world.initiative)
    before = state(world.initiative)
    response = api(world, role).post(url(world.initiative, "gate"), {}, format="json")
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Only the owner or an admin can change this initiative."}
    assert state(world.initiative) == before


def test_gate_of_another_orgs_initiative_is_404(world, foreign):
    client = api(world, Role.ADMIN)
    assert client.get(url(foreign, "gate")).status_code == 404
    before = state(foreign)
    response = client.post(url(foreign, "gate"), {}, format="json")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    assert state(foreign) == before


def test_gate_submit_when_ready_then_a_second_submit_is_409(world):
    add_plan(world.initiative)
    client = api(world, Role.OWNER)
    response = client.post(url(world.initiative, "gate"), {"comment": "Plan entered"},
                           format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["gate"], body["from_stage"], body["status"], body["comment"]) == (
        "detailed", "identified", "pending", "Plan entered")
    assert body["submitted_by"]["email"] == "owner@acme.test"
    assert [(a["role"], a["approver"]["email"], a["decision"]) for a in body["approvals"]] == [
        ("sponsor", "executive@acme.test", "pending")]
    assert all(c["met"] for c in body["criteria_snapshot"])

    before = state(world.initiative)
    again = client.post(url(world.initiative, "gate"), {}, format="json")
    assert again.status_code == 409
    assert again.json() == {"detail": "This initiative is already waiting for a gate decision."}
    assert state(world.initiative) == before
    panel = client.get(url(world.initiative, "gate")).json()
    assert panel["pending"]["id"] == body["id"]


def test_the_approver_finds_the_approval_in_reviews_and_decides_it(world):
    add_plan(world.initiative)
    submitted = api(world, Role.OWNER).post(url(world.initiative, "gate"), {}, format="json")
    assert submitted.status_code == 201
    approval = pending_approval(world.initiative, "sponsor")
    sponsor = api(world, Role.EXECUTIVE)

    reviews = sponsor.get(f"{BASE}/reviews/")
    assert reviews.status_code == 200
    assert [(r["id"], r["role"], r["initiative_id"], r["initiative_code"], r["gate"])
            for r in reviews.json()["results"]] == [
        (approval.pk, "sponsor", world.initiative.pk, "AC-100", "detailed")]
    assert api(world, Role.OWNER).get(f"{BASE}/reviews/").json()["results"] == []
    viewer = api(world, Role.VIEWER).get(f"{BASE}/reviews/")
    assert viewer.status_code == 403

    before = state(world.initiative)
    for role in (Role.OWNER, Role.CONTROLLER, Role.ADMIN):
        response = api(world, role).post(decide_url(approval), {"decision": "approved"},
                                         format="json")
        assert response.status_code == 403, role
        assert response.json() == {"detail": "Only the named approver decides this, and "
                                             "never the initiative's owner."}
    response = api(world, Role.VIEWER).post(decide_url(approval), {"decision": "approved"},
                                            format="json")
    assert response.status_code == 403
    response = sponsor.post(decide_url(approval), {"decision": "rejected"}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "comment": ["Say why you reject, so the owner can act on it."]}
    response = sponsor.post(decide_url(approval), {"decision": "maybe"}, format="json")
    assert response.status_code == 400 and list(response.json()) == ["decision"]
    assert state(world.initiative) == before

    response = sponsor.post(decide_url(approval), {"decision": "approved", "comment": "Go"},
                            format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["role"], body["decision"], body["comment"]) == (
        approval.pk, "sponsor", "approved", "Go")
    assert body["approver"]["email"] == "executive@acme.test" and body["decided_at"]

    after = state(world.initiative)
    for decision in ({"decision": "approved"}, {"decision": "rejected", "comment": "No"}):
        twice = sponsor.post(decide_url(approval), decision, format="json")
        assert twice.status_code == 409
        assert twice.json() == {"detail": "This approval was already decided."}
    assert state(world.initiative) == after

    detail = api(world, Role.VIEWER).get(f"{BASE}/initiatives/{world.initiative.pk}/")
    assert detail.json()["stage"] == Stage.DETAILED
    assert sponsor.get(f"{BASE}/reviews/").json()["results"] == []


def test_the_stage_changes_only_after_the_last_approval(world):
    drive_to(world, world.initiative, Stage.DETAILED)
    add_milestone(world.initiative, title="Tender issued", due_date=dt.date(2026, 3, 31))
    response = api(world, Role.OWNER).post(url(world.initiative, "gate"), {}, format="json")
    assert response.status_code == 201
    assert sorted(a["role"] for a in response.json()["approvals"]) == ["controller", "sponsor"]
    viewer = api(world, Role.VIEWER)
    detail_url = f"{BASE}/initiatives/{world.initiative.pk}/"

    response = api(world, Role.EXECUTIVE).post(
        decide_url(pending_approval(world.initiative, "sponsor")), {"decision": "approved"},
        format="json")
    assert response.status_code == 200
    assert viewer.get(detail_url).json()["stage"] == Stage.DETAILED

    response = api(world, Role.CONTROLLER).post(
        decide_url(pending_approval(world.initiative, "controller")),
        {"decision": "approved", "comment": "Business case checked"}, format="json")
    assert response.status_code == 200
    detail = viewer.get(detail_url)
    assert detail.json()["stage"] == Stage.DECIDED
    assert detail.json()["version"] == 1  # a stage change is not an edit of the details
    panel = viewer.get(url(world.initiative, "gate")).json()
    assert panel["next_gate"] == Stage.IMPLEMENTED and panel["pending"] is None
    assert (panel["events"][0]["from_stage"], panel["events"][0]["to_stage"]) == (
        "detailed", "decided")


def test_a_rejection_keeps_the_stage_and_allows_a_new_submission(world):
    add_plan(world.initiative)
    client = api(world, Role.OWNER)
    client.post(url(world.initiative, "gate"), {}, format="json")
    response = api(world, Role.EXECUTIVE).post(
        decide_url(pending_approval(world.initiative, "sponsor")),
        {"decision": "rejected", "comment": "Plan too thin"}, format="json")
    assert response.status_code == 200
    assert response.json()["decision"] == "rejected"
    assert client.get(f"{BASE}/initiatives/{world.initiative.pk}/").json()["stage"] == (
        Stage.IDENTIFIED)
    assert client.post(url(world.initiative, "gate"), {}, format="json").status_code == 201


def test_an_approval_of_another_org_is_404(world, foreign):
    with scopes_disabled():
        approval = Approval.objects.get(submission__initiative=foreign)
    before = state(foreign)
    # The consultant is a member of both organisations, but the approval is not org A's.
    for user in (world.a[Role.EXECUTIVE].user, world.consultant):
        response = api_client_for(user).post(decide_url(approval), {"decision": "approved"},
                                             format="json")
        assert response.status_code == 404
        assert response.json() == {"detail": "Not found."}
    assert state(foreign) == before


# --- 6. Hold, resume, cancel, validate value -------------------------------------------


@pytest.mark.parametrize("action", ["hold", "cancel"])
def test_hold_and_cancel_need_a_reason(world, action):
    client = api(world, Role.EXECUTIVE)
    before = state(world.initiative)
    for payload in ({}, {"reason": "  "}):
        response = client.post(url(world.initiative, action), payload, format="json")
        assert response.status_code == 400
        assert list(response.json()) == ["reason"]
    assert state(world.initiative) == before


@pytest.mark.parametrize("action", ["hold", "resume", "cancel"])
@pytest.mark.parametrize("role", [Role.OWNER, Role.CONTROLLER, Role.VIEWER])
def test_only_the_sponsor_or_an_admin_holds_resumes_or_cancels(world, action, role):
    if action == "resume":
        api(world, Role.EXECUTIVE).post(url(world.initiative, "hold"), {"reason": "Budget"},
                                        format="json")
    before = state(world.initiative)
    response = api(world, role).post(url(world.initiative, action), {"reason": "Mine"},
                                     format="json")
    assert response.status_code == 403
    assert response.json()["detail"].startswith("Only the sponsor or an admin")
    assert state(world.initiative) == before


def test_hold_resume_cancel_and_their_conflicts(world):
    sponsor = api(world, Role.EXECUTIVE)
    before = state(world.initiative)
    response = sponsor.post(url(world.initiative, "resume"), format="json")
    assert response.status_code == 409
    assert response.json() == {"detail": "Only an initiative on hold can resume."}
    assert state(world.initiative) == before

    response = sponsor.post(url(world.initiative, "hold"), {"reason": "Budget freeze"},
                            format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["stage"], body["resume_stage"], body["hold_reason"]) == (
        "on_hold", "identified", "Budget freeze")
    before = state(world.initiative)
    response = sponsor.post(url(world.initiative, "hold"), {"reason": "Again"}, format="json")
    assert response.status_code == 409
    assert response.json() == {"detail": "An initiative that is on hold cannot do that."}
    assert state(world.initiative) == before

    response = sponsor.post(url(world.initiative, "resume"), format="json")
    assert response.status_code == 200
    assert (response.json()["stage"], response.json()["hold_reason"]) == ("identified", "")

    response = api(world, Role.ADMIN).post(url(world.initiative, "cancel"),
                                           {"reason": "Strategy changed"}, format="json")
    assert response.status_code == 200
    assert (response.json()["stage"], response.json()["cancel_reason"]) == (
        "cancelled", "Strategy changed")
    before = state(world.initiative)
    for action in ("cancel", "hold"):
        response = sponsor.post(url(world.initiative, action), {"reason": "x"}, format="json")
        assert response.status_code == 409, action
    assert state(world.initiative) == before


def test_hold_withdraws_a_pending_submission(world):
    add_plan(world.initiative)
    api(world, Role.OWNER).post(url(world.initiative, "gate"), {}, format="json")
    response = api(world, Role.EXECUTIVE).post(url(world.initiative, "hold"),
                                               {"reason": "Budget"}, format="json")
    assert response.status_code == 200
    with scopes_disabled():
        assert list(GateSubmission.objects.filter(initiative=world.initiative)
                    .values_list("status", flat=True)) == ["withdrawn"]
    assert api(world, Role.EXECUTIVE).get(f"{BASE}/reviews/").json()["results"] == []


def test_validate_value_by_the_controller_once_implemented(world):
    controller = api(world, Role.CONTROLLER)
    before = state(world.initiative)
    response = controller.post(url(world.initiative, "validate-value"), format="json")
    assert response.status_code == 409
    assert response.json() == {
        "detail": "Value is validated once the initiative is implemented."}
    assert state(world.initiative) == before

    drive_to(world, world.initiative, Stage.IMPLEMENTED)
    before = state(world.initiative)
    for role in (Role.OWNER, Role.ADMIN, Role.EXECUTIVE, Role.VIEWER):
        response = api(world, role).post(url(world.initiative, "validate-value"),
                                         format="json")
        assert response.status_code == 403, role
        assert response.json()["detail"].startswith("Only the initiative's controller")
    assert state(world.initiative) == before

    response = controller.post(url(world.initiative, "validate-value"), format="json")
    assert response.status_code == 200
    assert response.json()["value_validated_at"] is not None
    assert response.json()["stage"] == Stage.IMPLEMENTED


def test_steering_actions_on_another_orgs_initiative_are_404(world, foreign):
    before = state(foreign)
    for action in ("hold", "resume", "cancel", "validate-value"):
        response = api(world, Role.ADMIN).post(url(foreign, action), {"reason": "x"},
                                               format="json")
        assert response.status_code == 404, action
    assert state(foreign) == before


# --- 8. The decision log ---------------------------------------------------------------


@pytest.fixture
def supplier(world):
    with scopes_disabled():
        return InitiativeFactory(program=world.initiative.program, code="AC-200",
                                 owner=world.a[Role.OWNER].user)


def decision(**overrides) -> dict:
    return {"date": "2026-03-01", "forum": "Steering committee",
            "decision": "Tender both lanes together", "options_considered": "Split; joint",
            **overrides}


def decision_count() -> int:
    with scopes_disabled():
        return DecisionLogEntry.objects.count()


def test_an_executive_records_a_decision_against_initiatives(world, supplier):
    response = api(world, Role.EXECUTIVE).post(
        f"{BASE}/decisions/", decision(initiatives=[supplier.pk, world.initiative.pk]),
        format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["date"], body["forum"], body["decision"], body["options_considered"]) == (
        "2026-03-01", "Steering committee", "Tender both lanes together", "Split; joint")
    assert sorted(body["initiatives"]) == ["AC-100", "AC-200"]
    listed = api(world, Role.VIEWER).get(f"{BASE}/decisions/").json()["results"]
    assert [(d["id"], sorted(d["initiatives"])) for d in listed] == [
        (body["id"], ["AC-100", "AC-200"])]


@pytest.mark.parametrize("role", [Role.OWNER, Role.CONTROLLER, Role.VIEWER])
def test_only_admins_and_executives_record_decisions(world, role):
    response = api(world, role).post(f"{BASE}/decisions/",
                                     decision(initiatives=[world.initiative.pk]),
                                     format="json")
    assert response.status_code == 403
    assert response.json() == {"detail": "Your role does not allow this."}
    assert decision_count() == 0


def test_decision_with_initiatives_of_another_org_is_400(world, foreign):
    before = decision_count()
    for ids in ([foreign.pk], [world.initiative.pk, foreign.pk], [987654321]):
        response = api(world, Role.EXECUTIVE).post(f"{BASE}/decisions/",
                                                   decision(initiatives=ids), format="json")
        assert response.status_code == 400, ids
        assert response.json() == {"initiatives": ["Choose initiatives of this organisation."]}
    assert decision_count() == before


@pytest.mark.parametrize(("payload", "fields"), [
    ({}, {"date", "forum", "decision"}),
    (decision(date="2026-02-30"), {"date"}),
    (decision(forum=" "), {"forum"}),
    (decision(initiatives="AC-100"), {"initiatives"}),
])
def test_decision_field_errors(world, payload, fields):
    response = api(world, Role.ADMIN).post(f"{BASE}/decisions/", payload, format="json")
    assert response.status_code == 400
    assert set(response.json()) == fields
    assert decision_count() == 0

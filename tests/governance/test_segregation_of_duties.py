"""Segregation of duties: an owner never approves their own initiative, the
controller who validates the realised value is not its owner, and a viewer
never decides."""

import pytest
from django_scopes import scopes_disabled

from cat4.common.exceptions import ApplicationError, PermissionDeniedError
from cat4.tenancy.models import Membership, Role
from governance import services
from governance.models import Approval, GateSubmission
from initiatives import services as initiative_services
from initiatives.models import Initiative, Stage
from tests.conftest import client_for
from tests.factories import MembershipFactory, UserFactory
from tests.governance.conftest import add_milestone, add_plan
from tests.initiatives.support import drive_to, flashed, org_url

pytestmark = pytest.mark.django_db


def set_fields(initiative, **values):
    with scopes_disabled():
        Initiative.objects.filter(pk=initiative.pk).update(**values)
    initiative.refresh_from_db()


def submissions(initiative) -> int:
    with scopes_disabled():
        return GateSubmission.objects.filter(initiative=initiative).count()


def pending(initiative, role) -> Approval:
    with scopes_disabled():
        return Approval.objects.get(submission__initiative=initiative, role=role,
                                    decision="pending")


# --- The owner never approves ------------------------------------------------------------


def test_sponsor_who_is_the_owner_blocks_the_submission(world, initiative):
    add_plan(initiative)
    set_fields(initiative, sponsor=initiative.owner)
    with pytest.raises(ApplicationError) as exc:
        services.gate_submit(membership=world.a[Role.OWNER].membership,
                             initiative_id=initiative.pk)
    assert exc.value.field == "sponsor"
    assert "someone other than the owner" in exc.value.message
    assert submissions(initiative) == 0


def test_controller_who_is_the_owner_blocks_the_decided_submission(world, initiative):
    drive_to(world, initiative, Stage.DETAILED)
    add_milestone(initiative)
    set_fields(initiative, controller=initiative.owner)
    with pytest.raises(ApplicationError) as exc:
        services.gate_submit(membership=world.a[Role.OWNER].membership,
                             initiative_id=initiative.pk)
    assert exc.value.field == "controller"
    assert "The controller must be someone other than the owner" in exc.value.message
    assert submissions(initiative) == 1  # only the Detailed one
    initiative.refresh_from_db()
    assert initiative.stage == Stage.DETAILED


def test_owner_as_approver_is_refused_on_the_page_too(world, initiative):
    add_plan(initiative)
    # The owner names themselves sponsor through the edit service (allowed there)...
    initiative_services.initiative_update(membership=world.a[Role.OWNER].membership,
                                          initiative_id=initiative.pk, version=1,
                                          sponsor=world.a[Role.OWNER].user)
    # ...but the gate refuses.
    response = client_for(world.a[Role.OWNER].user).post(
        org_url("gate_submit", initiative_id=initiative.pk), {"comment": ""})
    assert response.status_code == 302
    assert flashed(response) == ["The sponsor must be someone other than the owner: an owner "
                                 "never approves their own initiative."]
    assert submissions(initiative) == 0


def test_an_approver_who_became_owner_cannot_decide(world, initiative):
    add_plan(initiative)
    services.gate_submit(membership=world.a[Role.OWNER].membership,
                         initiative_id=initiative.pk)
    approval = pending(initiative, "sponsor")
    # After submission, an admin hands the initiative to its sponsor.
    initiative_services.initiative_update(membership=world.a[Role.ADMIN].membership,
                                          initiative_id=initiative.pk, version=1,
                                          owner=world.a[Role.EXECUTIVE].user)
    with pytest.raises(PermissionDeniedError):
        services.approval_decide(membership=world.a[Role.EXECUTIVE].membership,
                                 approval_id=approval.pk, decision="approved")
    initiative.refresh_from_db()
    assert initiative.stage == Stage.IDENTIFIED
    approval.refresh_from_db()
    assert approval.decision == "pending"


# --- Value validation ----------------------------------------------------------------------


def test_the_named_controller_validates(world, initiative):
    drive_to(world, initiative, Stage.IMPLEMENTED)
    services.value_validate(membership=world.a[Role.CONTROLLER].membership,
                            initiative_id=initiative.pk)
    initiative.refresh_from_db()
    assert initiative.value_validated_at is not None
    assert initiative.value_validated_by_id == world.a[Role.CONTROLLER].user.pk


def test_validation_waits_for_the_implemented_stage(world, initiative):
    drive_to(world, initiative, Stage.DECIDED)
    with pytest.raises(services.ConflictError):
        services.value_validate(membership=world.a[Role.CONTROLLER].membership,
                                initiative_id=initiative.pk)
    initiative.refresh_from_db()
    assert initiative.value_validated_at is None


def test_the_owner_never_validates_even_with_the_controller_role(world, initiative):
    drive_to(world, initiative, Stage.IMPLEMENTED)
    controller = world.a[Role.CONTROLLER]
    # The controller persona now owns the initiative and is named its controller too.
    set_fields(initiative, owner=controller.user, controller=controller.user)
    with pytest.raises(PermissionDeniedError):
        services.value_validate(membership=controller.membership, initiative_id=initiative.pk)
    response = client_for(controller.user).post(
        org_url("value_validate", initiative_id=initiative.pk))
    assert response.status_code == 403
    initiative.refresh_from_db()
    assert initiative.value_validated_at is None


@pytest.mark.parametrize("who", [Role.ADMIN, Role.OWNER, Role.EXECUTIVE, Role.VIEWER,
                                 "other controller"])
def test_nobody_else_validates(world, initiative, who):
    drive_to(world, initiative, Stage.IMPLEMENTED)
    if who == "other controller":
        with scopes_disabled():
            membership = MembershipFactory(organization=world.org_a, role=Role.CONTROLLER,
                                           user=UserFactory(email="controller2@acme.test"))
    else:
        membership = world.a[who].membership
    with pytest.raises(PermissionDeniedError):
        services.value_validate(membership=membership, initiative_id=initiative.pk)
    initiative.refresh_from_db()
    assert initiative.value_validated_at is None


def test_a_named_controller_without_the_controller_role_does_not_validate(world, initiative):
    drive_to(world, initiative, Stage.IMPLEMENTED)
    set_fields(initiative, controller=world.a[Role.EXECUTIVE].user)
    with pytest.raises(PermissionDeniedError):
        services.value_validate(membership=world.a[Role.EXECUTIVE].membership,
                                initiative_id=initiative.pk)


def test_validation_through_the_page(world, initiative):
    drive_to(world, initiative, Stage.IMPLEMENTED)
    response = client_for(world.a[Role.CONTROLLER].user).post(
        org_url("value_validate", initiative_id=initiative.pk))
    assert response.status_code == 302
    assert flashed(response) == ["Realised value validated."]
    initiative.refresh_from_db()
    assert initiative.value_validated_by_id == world.a[Role.CONTROLLER].user.pk


# --- Viewers never decide --------------------------------------------------------------------


def test_a_sponsor_demoted_to_viewer_after_submission_never_decides(world, initiative):
    add_plan(initiative)
    sponsor = world.a[Role.EXECUTIVE]
    services.gate_submit(membership=world.a[Role.OWNER].membership,
                         initiative_id=initiative.pk)
    approval = pending(initiative, "sponsor")
    assert approval.approver_id == sponsor.user.pk
    with scopes_disabled():
        Membership.objects.filter(pk=sponsor.membership.pk).update(role=Role.VIEWER)
    sponsor.membership.refresh_from_db()
    with pytest.raises(PermissionDeniedError):
        services.approval_decide(membership=sponsor.membership, approval_id=approval.pk,
                                 decision="approved")
    response = client_for(sponsor.user).post(
        org_url("approval_decide", approval_id=approval.pk), {"decision": "approved"})
    assert response.status_code == 403
    approval.refresh_from_db()
    assert approval.decision == "pending"
    initiative.refresh_from_db()
    assert initiative.stage == Stage.IDENTIFIED


def test_a_viewer_cannot_be_made_an_approver(world, initiative):
    add_plan(initiative)
    set_fields(initiative, sponsor=world.a[Role.VIEWER].user)
    with pytest.raises(ApplicationError) as exc:
        services.gate_submit(membership=world.a[Role.OWNER].membership,
                             initiative_id=initiative.pk)
    assert exc.value.field == "sponsor"


def test_a_viewer_has_no_review_queue(world):
    assert client_for(world.a[Role.VIEWER].user).get(org_url("my_reviews")).status_code == 403

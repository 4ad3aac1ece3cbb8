"""Stage gates: submit, approve or reject, hold, resume, cancel, validate value.

Every transition runs in one transaction with the initiative row locked first
(then its submission, then the approval: always in that order), re-checks state
and permission inside the lock, writes an immutable StageEvent and enqueues the
notifications on commit. Segregation of duties is enforced here: an owner never
approves a gate of their own initiative, and the controller who validates the
realised value is not its owner.
"""

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_fsm import TransitionNotAllowed

from cat4.common.exceptions import (
    ApplicationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
)
from cat4.common.resolvers import object_in_org
from cat4.tenancy.models import Membership, Organization, Role
from cat4.tenancy.scoping import acting_in_org
from cat4.tenancy.selectors import member_by_user
from initiatives import permissions as initiative_permissions
from initiatives.models import Initiative, Stage, next_stage

from .. import criteria
from ..models import (
    Approval,
    ApproverRole,
    Decision,
    DecisionLogEntry,
    DecisionLogInitiative,
    GateApprover,
    GateSubmission,
    StageEvent,
    SubmissionStatus,
)
from ..notifications import notify
from ..permissions import can_decide


def lock_initiative(organization: Organization, initiative_id) -> Initiative:
    """The initiative row, locked: the first lock of every governance write."""
    initiative = (Initiative.objects.select_for_update(of=("self",))
                  .select_related("owner", "sponsor", "controller")
                  .filter(organization=organization, pk=initiative_id).first())
    if initiative is None:
        raise NotFoundError("No such initiative.")
    return initiative


def initiative_url(initiative: Initiative) -> str:
    return reverse("initiative_detail", kwargs={"org_slug": initiative.organization.slug,
                                                "initiative_id": initiative.pk})


def _transition(initiative: Initiative, move, *, actor, reason: str = "",
                submission: GateSubmission | None = None,
                move_kwargs: dict | None = None) -> StageEvent:
    """Run one FSM transition on the locked row, save it, and log the StageEvent."""
    from_stage = initiative.stage
    try:
        move(**(move_kwargs or {}))
    except TransitionNotAllowed as exc:
        raise ConflictError(f"An initiative that is {Stage(from_stage).label.lower()} "
                            "cannot do that.") from exc
    initiative.save()
    return StageEvent.objects.create(organization=initiative.organization,
                                     initiative=initiative, from_stage=from_stage,
                                     to_stage=initiative.stage, actor=actor, reason=reason,
                                     submission=submission)


def _approver_for(initiative: Initiative, role: str):
    return initiative.sponsor if role == ApproverRole.SPONSOR else initiative.controller


@acting_in_org
@transaction.atomic
def gate_submit(*, membership: Membership, initiative_id, comment: str = "",
                confirmed_checklist=()) -> GateSubmission:
    """Submit an initiative for its next gate. Creates one approval per approver role."""
    org = membership.organization
    initiative = lock_initiative(org, initiative_id)
    initiative_permissions.require_edit(membership=membership, initiative=initiative)
    gate = next_stage(initiative.stage)
    if gate is None:
        raise ConflictError(f"An initiative that is {Stage(initiative.stage).label.lower()} "
                            "has no next gate.")
    if GateSubmission.objects.filter(initiative=initiative,
                                     status=SubmissionStatus.PENDING).exists():
        raise ConflictError("This initiative is already waiting for a gate decision.")
    results = criteria.evaluate(initiative, gate,
                                confirmed_checklist={int(i) for i in confirmed_checklist})
    unmet = [r for r in results if not r.met]
    if unmet:
        raise ApplicationError("Not ready for the gate: " + "; ".join(
            f"{r.label} ({r.why})" for r in unmet) + ".", field="criteria")
    roles = list(GateApprover.objects.filter(organization=org, gate=gate)
                 .values_list("role", flat=True))
    if not roles:
        raise ApplicationError("No approver is configured for this gate; ask an admin.")
    approvers = {}
    for role in roles:
        user = _approver_for(initiative, role)
        if user is None:
            raise ApplicationError(f"Name a {role} before submitting: the "
                                   f"{Stage(gate).label} gate needs their approval.",
                                   field=role)
        if user.pk == initiative.owner_id:
            raise ApplicationError(
                f"The {role} must be someone other than the owner: an owner never approves "
                "their own initiative.", field=role)
        member = member_by_user(organization=org, user=user)
        if member is None:
            raise ApplicationError(f"The named {role} is no longer a member of the "
                                   "organisation.", field=role)
        if member.role == Role.VIEWER or (role == ApproverRole.CONTROLLER
                                          and member.role != Role.CONTROLLER):
            raise ApplicationError(f"The named {role} ({user}) cannot approve with the role "
                                   f"{member.role}; name someone else.", field=role)
        approvers[role] = user
    submission = GateSubmission.objects.create(
        organization=org, initiative=initiative, gate=gate, from_stage=initiative.stage,
        submitted_by=membership.user, comment=(comment or "").strip(),
        criteria_snapshot=[r.as_dict() for r in results])
    for role, user in approvers.items():
        Approval.objects.create(organization=org, submission=submission, role=role,
                                approver=user)
    notify(organization=org, recipients=approvers.values(), kind="approval_requested",
            title=f"Approval requested: {initiative.code} to {Stage(gate).label}",
            body=f"{membership.user} submitted {initiative} for the {Stage(gate).label} gate.",
            url=reverse("my_reviews", kwargs={"org_slug": org.slug}))
    return submission


@acting_in_org
@transaction.atomic
def approval_decide(*, membership: Membership, approval_id, decision: str,
                    comment: str = "") -> Approval:
    """Approve or reject one approval. The last approval moves the initiative through
    the gate; a rejection ends the submission and the initiative stays where it is."""
    org = membership.organization
    found = object_in_org(Approval.objects.select_related("submission"), organization=org,
                          ref=approval_id)
    if found is None:
        raise NotFoundError("No such approval.")
    initiative = lock_initiative(org, found.submission.initiative_id)
    submission = GateSubmission.objects.select_for_update().get(pk=found.submission_id)
    approval = Approval.objects.select_for_update().get(pk=approval_id)
    if not can_decide(membership=membership, approval=approval, initiative=initiative):
        raise PermissionDeniedError("Only the named approver decides this, and never the "
                                    "initiative's owner.")
    if decision not in (Decision.APPROVED, Decision.REJECTED):
        raise ApplicationError("Approve or reject.", field="decision")
    comment = (comment or "").strip()
    if decision == Decision.REJECTED and not comment:
        raise ApplicationError("Say why you reject, so the owner can act on it.",
                               field="comment")
    if approval.decision != Decision.PENDING or submission.status != SubmissionStatus.PENDING:
        raise ConflictError("This approval was already decided.")
    if initiative.stage != submission.from_stage:
        raise ConflictError("The initiative changed stage since it was submitted.")

    now = timezone.now()
    approval.decision = decision
    approval.comment = comment
    approval.decided_at = now
    approval.save(update_fields=["decision", "comment", "decided_at"])
    gate_label = Stage(submission.gate).label
    entry = DecisionLogEntry.objects.create(
        organization=org, date=timezone.localdate(), forum=f"{gate_label} gate",
        decision=f"{approval.get_role_display()} {decision} {initiative.code} for the "
                 f"{gate_label} gate" + (f": {comment}" if comment else "."),
        approval=approval, recorded_by=membership.user)
    DecisionLogInitiative.objects.create(organization=org, entry=entry, initiative=initiative)

    url = initiative_url(initiative)
    if decision == Decision.REJECTED:
        submission.status = SubmissionStatus.REJECTED
        submission.decided_at = now
        submission.save(update_fields=["status", "decided_at"])
        Approval.objects.filter(submission=submission, decision=Decision.PENDING).delete()
        notify(organization=org, recipients=[submission.submitted_by, initiative.owner],
                kind="gate_rejected", title=f"{initiative.code}: {gate_label} gate rejected",
                body=f"{membership.user}: {comment}", url=url)
    elif not submission.approvals.filter(decision=Decision.PENDING).exists():
        submission.status = SubmissionStatus.APPROVED
        submission.decided_at = now
        submission.save(update_fields=["status", "decided_at"])
        _transition(initiative, initiative.pass_gate, actor=membership.user,
                    submission=submission)
        notify(organization=org, recipients=[submission.submitted_by, initiative.owner,
                                              initiative.sponsor],
                kind="gate_passed", title=f"{initiative.code} passed the {gate_label} gate",
                url=url)
    else:
        notify(organization=org, recipients=[submission.submitted_by],
                kind="gate_approved_partly",
                title=f"{initiative.code}: {approval.get_role_display()} approved",
                body="Waiting for the other approvals.", url=url)
    return approval


def _withdraw_pending(initiative: Initiative) -> None:
    pending = GateSubmission.objects.filter(initiative=initiative,
                                            status=SubmissionStatus.PENDING)
    Approval.objects.filter(submission__in=pending, decision=Decision.PENDING).delete()
    pending.update(status=SubmissionStatus.WITHDRAWN, decided_at=timezone.now())


@acting_in_org
@transaction.atomic
def initiative_hold(*, membership: Membership, initiative_id, reason: str) -> Initiative:
    initiative = lock_initiative(membership.organization, initiative_id)
    if not initiative_permissions.can_hold_or_cancel(membership=membership,
                                                     initiative=initiative):
        raise PermissionDeniedError("Only the sponsor or an admin puts an initiative on hold.")
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("Say why the initiative is put on hold.", field="reason")
    _withdraw_pending(initiative)
    _transition(initiative, initiative.hold, actor=membership.user, reason=reason,
                move_kwargs={"reason": reason})
    return initiative


@acting_in_org
@transaction.atomic
def initiative_resume(*, membership: Membership, initiative_id) -> Initiative:
    initiative = lock_initiative(membership.organization, initiative_id)
    if not initiative_permissions.can_hold_or_cancel(membership=membership,
                                                     initiative=initiative):
        raise PermissionDeniedError("Only the sponsor or an admin resumes an initiative.")
    if initiative.stage != Stage.ON_HOLD:
        raise ConflictError("Only an initiative on hold can resume.")
    _transition(initiative, initiative.resume, actor=membership.user,
                reason=f"resumed after hold: {initiative.hold_reason}")
    return initiative


@acting_in_org
@transaction.atomic
def initiative_cancel(*, membership: Membership, initiative_id, reason: str) -> Initiative:
    initiative = lock_initiative(membership.organization, initiative_id)
    if not initiative_permissions.can_hold_or_cancel(membership=membership,
                                                     initiative=initiative):
        raise PermissionDeniedError("Only the sponsor or an admin cancels an initiative.")
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("Say why the initiative is cancelled.", field="reason")
    if initiative.stage in (Stage.CLOSED, Stage.CANCELLED):
        raise ConflictError(f"An initiative that is {Stage(initiative.stage).label.lower()} "
                            "cannot be cancelled.")
    _withdraw_pending(initiative)
    _transition(initiative, initiative.cancel, actor=membership.user, reason=reason,
                move_kwargs={"reason": reason})
    return initiative


@acting_in_org
@transaction.atomic
def value_validate(*, membership: Membership, initiative_id) -> Initiative:
    """The controller confirms the realised value (the actuals) before closure."""
    initiative = lock_initiative(membership.organization, initiative_id)
    if not initiative_permissions.can_validate_value(membership=membership,
                                                     initiative=initiative):
        raise PermissionDeniedError("Only the initiative's controller validates its value, "
                                    "and never its owner.")
    if initiative.stage != Stage.IMPLEMENTED:
        raise ConflictError("Value is validated once the initiative is implemented.")
    Initiative.objects.filter(pk=initiative.pk).update(value_validated_at=timezone.now(),
                                                       value_validated_by=membership.user)
    initiative.refresh_from_db()
    return initiative


"""Stage gates: submit, approve or reject, hold, resume, cancel, validate value.

Every transition runs in one transaction with the initiative row locked first
(then its submission, then the approval: always in that order), re-checks state
and permission inside the lock, writes an immutable StageEvent and enqueues the
notifications on commit. Segregation of duties is enforced here: an owner never
approves a gate of their own initiative, and the controller who validates the
realised value is not its owner.
"""

from decimal import Decimal

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_fsm import TransitionNotAllowed

from cat4.common.exceptions import ApplicationError, NotFoundError, PermissionDeniedError
from cat4.tenancy.models import Membership, Organization, Role
from cat4.tenancy.scoping import acting_in_org
from initiatives import permissions as initiative_permissions
from initiatives import services as initiative_services
from initiatives.models import Initiative, Stage, next_stage

from . import criteria
from .models import (
    GATES,
    Approval,
    ApproverRole,
    Decision,
    DecisionLogEntry,
    DecisionLogInitiative,
    Evidence,
    GateApprover,
    GateCriterion,
    GateSubmission,
    Notification,
    Rebaseline,
    Rule,
    StageEvent,
    SubmissionStatus,
)
from .notifications import notify

DEFAULT_CRITERIA = {
    Stage.DETAILED: [Rule.OWNER_AND_SPONSOR, Rule.FIRST_PLANNED_VALUE],
    Stage.DECIDED: [Rule.PLANNED_VALUES, Rule.MILESTONES, Rule.CONTROLLER_NAMED],
    Stage.IMPLEMENTED: [Rule.MILESTONES_COMPLETE],
    Stage.CLOSED: [Rule.ACTUALS_COVER_PLAN, Rule.VALUE_VALIDATED],
}
DEFAULT_APPROVERS = {
    Stage.DETAILED: [ApproverRole.SPONSOR],
    Stage.DECIDED: [ApproverRole.SPONSOR, ApproverRole.CONTROLLER],
    Stage.IMPLEMENTED: [ApproverRole.SPONSOR],
    Stage.CLOSED: [ApproverRole.CONTROLLER],
}


class ConflictError(ApplicationError):
    status_code = 409


def ensure_gate_defaults(organization: Organization) -> None:
    """Give an organisation the default criteria and approvers if it has none.

    Runs when an organisation is created (governance/signals.py); migration 0005 gave
    the organisations that existed before their defaults."""
    if GateCriterion.objects.filter(organization=organization).exists():
        return
    for gate, rules in DEFAULT_CRITERIA.items():
        for position, rule in enumerate(rules):
            GateCriterion.objects.create(organization=organization, gate=gate, rule=rule,
                                         label=Rule(rule).label, position=position)
    for gate, roles in DEFAULT_APPROVERS.items():
        for role in roles:
            GateApprover.objects.get_or_create(organization=organization, gate=gate, role=role)


def _lock(organization: Organization, initiative_id) -> Initiative:
    initiative = (Initiative.objects.select_for_update(of=("self",))
                  .select_related("owner", "sponsor", "controller")
                  .filter(organization=organization, pk=initiative_id).first())
    if initiative is None:
        raise NotFoundError("No such initiative.")
    return initiative


def _initiative_url(initiative: Initiative) -> str:
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
    initiative = _lock(org, initiative_id)
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
        member_role = (Membership.objects.filter(organization=org, user=user)
                       .values_list("role", flat=True).first())
        if member_role is None:
            raise ApplicationError(f"The named {role} is no longer a member of the "
                                   "organisation.", field=role)
        if member_role == Role.VIEWER or (role == ApproverRole.CONTROLLER
                                          and member_role != Role.CONTROLLER):
            raise ApplicationError(f"The named {role} ({user}) cannot approve with the role "
                                   f"{member_role}; name someone else.", field=role)
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


def can_decide(*, membership: Membership | None, approval: Approval,
               initiative: Initiative) -> bool:
    return (membership is not None and approval.approver_id == membership.user_id
            and initiative.owner_id != membership.user_id
            and membership.role != Role.VIEWER)


@acting_in_org
@transaction.atomic
def approval_decide(*, membership: Membership, approval_id, decision: str,
                    comment: str = "") -> Approval:
    """Approve or reject one approval. The last approval moves the initiative through
    the gate; a rejection ends the submission and the initiative stays where it is."""
    org = membership.organization
    found = Approval.objects.filter(organization=org, pk=approval_id).select_related(
        "submission").first()
    if found is None:
        raise NotFoundError("No such approval.")
    initiative = _lock(org, found.submission.initiative_id)
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

    url = _initiative_url(initiative)
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


@acting_in_org
@transaction.atomic
def submission_withdraw(*, membership: Membership, submission_id) -> GateSubmission:
    org = membership.organization
    found = GateSubmission.objects.filter(organization=org, pk=submission_id).first()
    if found is None:
        raise NotFoundError("No such submission.")
    initiative = _lock(org, found.initiative_id)
    submission = GateSubmission.objects.select_for_update().get(pk=found.pk)
    initiative_permissions.require_edit(membership=membership, initiative=initiative)
    if submission.status != SubmissionStatus.PENDING:
        raise ConflictError("Only a pending submission can be withdrawn.")
    submission.status = SubmissionStatus.WITHDRAWN
    submission.decided_at = timezone.now()
    submission.save(update_fields=["status", "decided_at"])
    Approval.objects.filter(submission=submission, decision=Decision.PENDING).delete()
    return submission


def _withdraw_pending(initiative: Initiative) -> None:
    pending = GateSubmission.objects.filter(initiative=initiative,
                                            status=SubmissionStatus.PENDING)
    Approval.objects.filter(submission__in=pending, decision=Decision.PENDING).delete()
    pending.update(status=SubmissionStatus.WITHDRAWN, decided_at=timezone.now())


@acting_in_org
@transaction.atomic
def initiative_hold(*, membership: Membership, initiative_id, reason: str) -> Initiative:
    initiative = _lock(membership.organization, initiative_id)
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
    initiative = _lock(membership.organization, initiative_id)
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
    initiative = _lock(membership.organization, initiative_id)
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
    initiative = _lock(membership.organization, initiative_id)
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


@acting_in_org
def notifications_mark_read(*, membership: Membership) -> int:
    """Mark all of the member's notifications in this organisation as read."""
    return Notification.objects.filter(
        organization=membership.organization, recipient=membership.user,
        read_at__isnull=True).update(read_at=timezone.now())


# --- Gate configuration (admins) -----------------------------------------------------


def _require_gate_admin(membership: Membership) -> None:
    from .permissions import can_configure_gates

    if not can_configure_gates(membership=membership):
        raise PermissionDeniedError("Only admins configure the gates.")


def _gate(gate: str) -> str:
    if gate not in {g.value for g in GATES}:
        raise ApplicationError("Choose a gate.", field="gate")
    return gate


@acting_in_org
@transaction.atomic
def gate_checklist_add(*, membership: Membership, gate: str, label: str) -> GateCriterion:
    """Add a free checklist item the submitter confirms at ``gate``."""
    _require_gate_admin(membership)
    label = (label or "").strip()
    if not label:
        raise ApplicationError("Write the checklist item, e.g. “Works council informed”.",
                               field="label")
    org = membership.organization
    position = GateCriterion.objects.filter(organization=org, gate=_gate(gate)).count()
    return GateCriterion.objects.create(organization=org, gate=gate, label=label,
                                        position=position)


@acting_in_org
@transaction.atomic
def gate_criterion_set_active(*, membership: Membership, criterion_id, active: bool
                              ) -> GateCriterion:
    _require_gate_admin(membership)
    criterion = (GateCriterion.objects.select_for_update()
                 .filter(organization=membership.organization, pk=criterion_id).first())
    if criterion is None:
        raise NotFoundError("No such criterion.")
    criterion.active = bool(active)
    criterion.save(update_fields=["active"])
    return criterion


@acting_in_org
@transaction.atomic
def gate_approvers_set(*, membership: Membership, gate: str, roles) -> list[str]:
    """Who approves ``gate``: the initiative's sponsor, its controller, or both."""
    _require_gate_admin(membership)
    org = membership.organization
    roles = sorted(set(roles))
    if not roles:
        raise ApplicationError("A gate needs at least one approver.", field="roles")
    if any(r not in ApproverRole.values for r in roles):
        raise ApplicationError("Choose sponsor and/or controller.", field="roles")
    GateApprover.objects.filter(organization=org, gate=_gate(gate)).exclude(
        role__in=roles).delete()
    for role in roles:
        GateApprover.objects.get_or_create(organization=org, gate=gate, role=role)
    return roles


@acting_in_org
@transaction.atomic
def decision_log_add(*, membership: Membership, date, forum: str, decision: str,
                     options_considered: str = "", initiatives=()) -> DecisionLogEntry:
    """Record a forum's decision (e.g. the steering committee's) against initiatives."""
    from .permissions import can_record_decisions

    if not can_record_decisions(membership=membership):
        raise PermissionDeniedError("Only admins and executives record decisions.")
    forum, decision = (forum or "").strip(), (decision or "").strip()
    if not forum:
        raise ApplicationError("Name the forum, e.g. “Steering committee”.", field="forum")
    if not decision:
        raise ApplicationError("Write the decision.", field="decision")
    org = membership.organization
    ids = [getattr(i, "pk", i) for i in initiatives]
    found = list(Initiative.objects.filter(organization=org, pk__in=ids))
    if len(found) != len(set(ids)):
        raise ApplicationError("Choose initiatives of this organisation.", field="initiatives")
    entry = DecisionLogEntry.objects.create(
        organization=org, date=date, forum=forum, decision=decision,
        options_considered=(options_considered or "").strip(), recorded_by=membership.user)
    for initiative in found:
        DecisionLogInitiative.objects.create(organization=org, entry=entry,
                                             initiative=initiative)
    return entry


# --- Evidence --------------------------------------------------------------------------


def can_attach_evidence(*, membership: Membership | None, initiative: Initiative) -> bool:
    """Editors, and the initiative's sponsor and controller (sign-off sheets)."""
    if membership is None or membership.role == Role.VIEWER:
        return False
    return (initiative_permissions.can_edit_initiative(membership=membership,
                                                       initiative=initiative)
            or membership.user_id in {initiative.sponsor_id, initiative.controller_id})


@acting_in_org
@transaction.atomic
def evidence_upload(*, membership: Membership, initiative_id, upload, description: str = ""
                    ) -> Evidence:
    """Store a document for the initiative; it joins the pending gate submission, if any."""
    from django.conf import settings as django_settings

    from .evidence import ALLOWED, recognise

    initiative = _lock(membership.organization, initiative_id)
    if not can_attach_evidence(membership=membership, initiative=initiative):
        raise PermissionDeniedError("Only the owner, sponsor, controller or an admin "
                                    "attaches evidence.")
    if upload is None:
        raise ApplicationError("Choose a file.", field="file")
    limit = django_settings.EVIDENCE_MAX_BYTES
    if upload.size > limit:
        raise ApplicationError(f"The file is {upload.size / 1048576:.1f} MB; the limit is "
                               f"{limit // 1048576} MB.", field="file")
    if upload.size == 0:
        raise ApplicationError("The file is empty.", field="file")
    name = (upload.name or "").replace("\\", "/").rsplit("/", 1)[-1][:200]
    upload.seek(0)
    kind = recognise(name, upload.read(2048))
    upload.seek(0)
    if kind is None:
        raise ApplicationError(f"{name} is not one of the accepted document types "
                               f"({ALLOWED}), or its content does not match its name.",
                               field="file")
    pending = GateSubmission.objects.filter(initiative=initiative,
                                            status=SubmissionStatus.PENDING).first()
    evidence = Evidence(organization=initiative.organization, initiative=initiative,
                        submission=pending, file_name=name, content_type=kind.content_type,
                        size=upload.size, description=(description or "").strip()[:200],
                        uploaded_by=membership.user)
    evidence.file.save(name, upload, save=False)
    try:
        evidence.save()
    except Exception:
        evidence.file.storage.delete(evidence.file.name)  # no row, no orphaned file
        raise
    return evidence


@acting_in_org
@transaction.atomic
def evidence_delete(*, membership: Membership, evidence_id) -> None:
    evidence = (Evidence.objects.select_related("submission")
                .filter(organization=membership.organization, pk=evidence_id).first())
    if evidence is None:
        raise NotFoundError("No such document.")
    if not (membership.role == Role.ADMIN or evidence.uploaded_by_id == membership.user_id):
        raise PermissionDeniedError("Only whoever uploaded it, or an admin, removes a document.")
    if evidence.submission and evidence.submission.status != SubmissionStatus.PENDING:
        raise ConflictError("This document backs a gate decision and stays on record.")
    stored = evidence.file.name
    storage = evidence.file.storage
    evidence.delete()
    transaction.on_commit(lambda: storage.delete(stored))


# --- Re-baselining a frozen plan -------------------------------------------------------


def _parse_rebaseline(initiative: Initiative, values) -> dict[str, dict[str, str | None]]:
    """{line id: {month date: raw}} -> the JSON stored on the request, every cell checked."""
    from initiatives.models import ImpactLine

    lines = {line.pk: line for line in ImpactLine.objects.filter(initiative=initiative)}
    stored: dict[str, dict[str, str | None]] = {}
    for line_id, cells in values.items():
        line = lines.get(int(line_id)) if str(line_id).isdigit() else None
        if line is None:
            raise ApplicationError("Choose impact lines of this initiative.", field="values")
        parsed = initiative_services.parse_values(initiative=initiative, values=cells)
        stored[str(line.pk)] = {f"{m:%Y-%m}": (None if a is None else str(a))
                                for m, a in sorted(parsed.items())}
    if not any(stored.values()):
        raise ApplicationError("Change at least one planned month.", field="values")
    return stored


@acting_in_org
@transaction.atomic
def rebaseline_request(*, membership: Membership, initiative_id, reason: str,
                       values) -> Rebaseline:
    """Ask the controller to replace planned values frozen since the Decided gate."""
    org = membership.organization
    initiative = _lock(org, initiative_id)
    initiative_permissions.require_edit(membership=membership, initiative=initiative)
    editable, _why = initiative_permissions.value_kind_editable(initiative=initiative,
                                                                kind="planned")
    if editable:
        raise ConflictError("The plan is not frozen yet: edit the planned values directly.")
    if initiative_permissions.effective_stage(initiative) in (Stage.CLOSED, Stage.CANCELLED):
        raise ConflictError("The values of a closed or cancelled initiative are final.")
    if initiative.controller is None:
        raise ApplicationError("Name a controller first: the controller decides re-baselines.",
                               field="controller")
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("Say why the plan must change.", field="reason")
    if Rebaseline.objects.filter(initiative=initiative, status=Decision.PENDING).exists():
        raise ConflictError("A re-baseline of this initiative is already waiting for the "
                            "controller.")
    rebaseline = Rebaseline.objects.create(
        organization=org, initiative=initiative, reason=reason,
        values=_parse_rebaseline(initiative, values), requested_by=membership.user)
    notify(organization=org, recipients=[initiative.controller], kind="rebaseline_requested",
            title=f"Re-baseline requested: {initiative.code}", body=reason,
            url=reverse("my_reviews", kwargs={"org_slug": org.slug}))
    return rebaseline


def can_decide_rebaseline(*, membership: Membership | None, initiative: Initiative) -> bool:
    return (membership is not None and membership.role == Role.CONTROLLER
            and initiative.controller_id == membership.user_id
            and initiative.owner_id != membership.user_id)


@acting_in_org
@transaction.atomic
def rebaseline_decide(*, membership: Membership, rebaseline_id, decision: str,
                      comment: str = "") -> Rebaseline:
    """The initiative's controller approves (the plan changes) or rejects a re-baseline."""
    from datetime import date as date_type

    from initiatives.models import ImpactLine

    org = membership.organization
    found = Rebaseline.objects.filter(organization=org, pk=rebaseline_id).first()
    if found is None:
        raise NotFoundError("No such re-baseline.")
    initiative = _lock(org, found.initiative_id)
    rebaseline = Rebaseline.objects.select_for_update().get(pk=found.pk)
    if not can_decide_rebaseline(membership=membership, initiative=initiative):
        raise PermissionDeniedError("Only the initiative's controller decides a re-baseline.")
    if decision not in (Decision.APPROVED, Decision.REJECTED):
        raise ApplicationError("Approve or reject.", field="decision")
    comment = (comment or "").strip()
    if decision == Decision.REJECTED and not comment:
        raise ApplicationError("Say why you reject, so the owner can act on it.",
                               field="comment")
    if rebaseline.status != Decision.PENDING:
        raise ConflictError("This re-baseline was already decided.")
    if decision == Decision.APPROVED:
        lines = {str(line.pk): line for line in ImpactLine.objects.filter(initiative=initiative)}
        for line_id, cells in rebaseline.values.items():
            if line_id not in lines:
                continue  # the line was removed since; nothing to re-plan
            parsed = {date_type.fromisoformat(f"{month}-01"):
                      (None if amount is None else Decimal(amount))
                      for month, amount in cells.items()}
            initiative_services.write_values(line=lines[line_id], kind="planned",
                                             parsed=parsed)
    rebaseline.status = decision
    rebaseline.decided_by = membership.user
    rebaseline.decided_at = timezone.now()
    rebaseline.comment = comment
    rebaseline.save(update_fields=["status", "decided_by", "decided_at", "comment"])
    entry = DecisionLogEntry.objects.create(
        organization=org, date=timezone.localdate(), forum="Re-baseline",
        decision=f"Controller {decision} the re-baseline of {initiative.code}: "
                 f"{rebaseline.reason}" + (f" ({comment})" if comment else ""),
        recorded_by=membership.user)
    DecisionLogInitiative.objects.create(organization=org, entry=entry, initiative=initiative)
    notify(organization=org, recipients=[rebaseline.requested_by, initiative.owner],
            kind=f"rebaseline_{decision}",
            title=f"{initiative.code}: re-baseline {decision}", body=comment,
            url=_initiative_url(initiative))
    return rebaseline

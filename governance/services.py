"""Stage gates: submit, approve or reject, hold, resume, cancel, validate value.

Every transition runs in one transaction with the initiative row locked first
(then its submission, then the approval: always in that order), re-checks state
and permission inside the lock, writes an immutable StageEvent and enqueues the
notifications on commit. Segregation of duties is enforced here: an owner never
approves a gate of their own initiative, and the controller who validates the
realised value is not its owner.
"""

from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
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
from .conditions import PARAMETERS, with_unit
from .models import (
    GATES,
    Approval,
    ApproverRole,
    Condition,
    Decision,
    DecisionLogEntry,
    DecisionLogInitiative,
    Delivery,
    Escalation,
    EscalationNotice,
    EscalationRule,
    EscalationState,
    Evidence,
    GateApprover,
    GateCriterion,
    GateSubmission,
    Notification,
    NotificationKind,
    NotificationPreference,
    Rebaseline,
    Rule,
    StageEvent,
    SubmissionStatus,
)
from .notifications import notify
from .permissions import can_act_on_escalation, can_manage_escalation_rules

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


# --- Escalations -------------------------------------------------------------------------


def _require_rule_admin(membership: Membership) -> None:

    if not can_manage_escalation_rules(membership=membership):
        raise PermissionDeniedError("Only admins configure escalation rules.")


def _clean_threshold(condition: str, threshold) -> Decimal | None:
    """The rule's N, checked against what the condition's parameter allows."""
    parameter = PARAMETERS[condition]
    if parameter is None:
        return None  # the condition has no N (financial RAG red): ignored
    span = (f"{with_unit(parameter.minimum, parameter.unit)} to "
            f"{with_unit(parameter.maximum, parameter.unit)}")
    if threshold is None or (isinstance(threshold, str) and not threshold.strip()):
        raise ApplicationError(f"{parameter.label} is needed for this condition: give N "
                               f"from {span}.", field="threshold")
    if isinstance(threshold, bool):
        raise ApplicationError(f"{parameter.label} must be a number from {span}.",
                               field="threshold")
    try:
        value = Decimal(str(threshold).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ApplicationError(f"{parameter.label} must be a number from {span}.",
                               field="threshold") from exc
    if not value.is_finite() or not parameter.minimum <= value <= parameter.maximum:
        raise ApplicationError(f"{parameter.label} must be from {span}.", field="threshold")
    if parameter.whole and value != value.to_integral_value():
        raise ApplicationError(f"{parameter.label} must be a whole number ({span}).",
                               field="threshold")
    if value != value.quantize(Decimal("0.01")):
        raise ApplicationError(f"{parameter.label} takes at most two decimals ({span}).",
                               field="threshold")
    return value.quantize(Decimal("0.01"))


def _whole_in_range(value, *, field: str, low: int, high: int, message: str) -> int:
    if isinstance(value, bool):
        raise ApplicationError(message, field=field)
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError) as exc:
        raise ApplicationError(message, field=field) from exc
    if not low <= number <= high:
        raise ApplicationError(message, field=field)
    return number


def _clean_rule(*, organization: Organization, values: dict, rule_id=None) -> dict:

    name = " ".join(str(values.get("name") or "").split())
    if not name:
        raise ApplicationError("Give the rule a name, e.g. “Stale initiatives”.", field="name")
    if len(name) > 120:
        raise ApplicationError("A rule's name has at most 120 characters.", field="name")
    clash = EscalationRule.objects.filter(organization=organization, name__iexact=name)
    if rule_id is not None:
        clash = clash.exclude(pk=rule_id)
    if clash.exists():
        raise ApplicationError(f"A rule named “{name}” already exists; choose another name.",
                               field="name")
    condition = values.get("condition")
    if condition not in Condition.values:
        raise ApplicationError("Choose one of the conditions: "
                               + ", ".join(Condition.values) + ".", field="condition")
    return {
        "name": name,
        "condition": condition,
        "threshold": _clean_threshold(condition, values.get("threshold")),
        "promote_after_days": _whole_in_range(
            values.get("promote_after_days"), field="promote_after_days", low=1, high=365,
            message="Promote after a whole number of days from 1 to 365."),
        "top_level": _whole_in_range(
            values.get("top_level"), field="top_level", low=1, high=3,
            message="The top level is 1 (owner), 2 (sponsor) or 3 (steering group)."),
        "active": bool(values.get("active")),
    }


def _save_rule(rule, cleaned: dict):
    """Save, turning a concurrent duplicate name into a field error, not a 500."""
    for key, value in cleaned.items():
        setattr(rule, key, value)
    try:
        with transaction.atomic():
            rule.save()
    except IntegrityError as exc:
        raise ApplicationError(f"A rule named “{rule.name}” already exists; choose another "
                               "name.", field="name") from exc
    return rule


RULE_FIELDS = ("name", "condition", "threshold", "promote_after_days", "top_level", "active")


@acting_in_org
@transaction.atomic
def escalation_rule_create(*, membership: Membership, name: str, condition: str,
                           threshold=None, promote_after_days=5, top_level=3,
                           active: bool = True):
    """A rule that raises an escalation when its condition holds (admins)."""
    _require_rule_admin(membership)
    org = membership.organization
    cleaned = _clean_rule(organization=org, values={
        "name": name, "condition": condition, "threshold": threshold,
        "promote_after_days": promote_after_days, "top_level": top_level, "active": active})
    return _save_rule(EscalationRule(organization=org), cleaned)


@acting_in_org
@transaction.atomic
def escalation_rule_update(*, membership: Membership, rule_id, **changes):
    """Change a rule, or switch it off or on (``active=False``). The condition of a rule
    that has raised escalations stays: their explanations refer to it."""
    _require_rule_admin(membership)
    unknown = sorted(set(changes) - set(RULE_FIELDS))
    if unknown:
        raise ApplicationError(f"A rule has no field {unknown[0]}.", field=unknown[0])
    org = membership.organization
    rule = (EscalationRule.objects.select_for_update()
            .filter(organization=org, pk=_as_id(rule_id)).first())
    if rule is None:
        raise NotFoundError("No such escalation rule.")
    if ("condition" in changes and changes["condition"] != rule.condition
            and rule.escalations.exists()):
        raise ConflictError("This rule has raised escalations, so its condition stays; "
                            "switch it off and create a new rule instead.")
    values = {key: getattr(rule, key) for key in RULE_FIELDS}
    if changes.get("condition", rule.condition) != rule.condition and "threshold" not in changes:
        values["threshold"] = None  # the old N means something else under a new condition
    values.update(changes)
    return _save_rule(rule, _clean_rule(organization=org, values=values, rule_id=rule.pk))


def _as_id(value) -> int:
    """An id from outside: a positive whole number, or no such object (404)."""
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return 0
    return number if 0 < number < 2**63 else 0


def _lock_escalation(membership: Membership, escalation_id):

    escalation = (Escalation.objects.select_for_update(of=("self",))
                  .select_related("rule", "initiative", "kpi")
                  .filter(organization=membership.organization, pk=_as_id(escalation_id))
                  .first())
    if escalation is None:
        raise NotFoundError("No such escalation.")
    if not can_act_on_escalation(membership=membership, escalation=escalation):
        raise PermissionDeniedError("Only admins, executives, whoever was notified of it, and "
                                    "the owner or sponsor of what it is about act on an "
                                    "escalation.")
    return escalation


def _comment(comment, *, what: str) -> str:
    comment = (comment or "").strip()
    if not comment:
        raise ApplicationError(f"Write a comment: {what}", field="comment")
    return comment


def escalation_url(*, organization: Organization, escalation_id) -> str:
    return reverse("escalation_detail", kwargs={"org_slug": organization.slug,
                                                "escalation_id": escalation_id})


@acting_in_org
@transaction.atomic
def escalation_acknowledge(*, membership: Membership, escalation_id, comment: str):
    """Someone takes the escalation on: it stays on record, unresolved, at its level."""
    escalation = _lock_escalation(membership, escalation_id)
    if escalation.state != EscalationState.OPEN:
        raise ConflictError(f"This escalation is already {escalation.get_state_display().lower()}"
                            "; only an open escalation can be acknowledged.")
    escalation.acknowledge_comment = _comment(comment, what="what is being done about it?")
    escalation.state = EscalationState.ACKNOWLEDGED
    escalation.acknowledged_at = timezone.now()
    escalation.acknowledged_by = membership.user
    escalation.save(update_fields=["state", "acknowledged_at", "acknowledged_by",
                                   "acknowledge_comment"])
    return escalation


@acting_in_org
@transaction.atomic
def escalation_resolve(*, membership: Membership, escalation_id, comment: str):
    """Close an open or acknowledged escalation; everyone notified of it hears so."""
    escalation = _lock_escalation(membership, escalation_id)
    if escalation.state == EscalationState.RESOLVED:
        raise ConflictError("This escalation is already resolved.")
    escalation.resolution_comment = _comment(comment, what="how was it resolved?")
    escalation.state = EscalationState.RESOLVED
    escalation.resolved_at = timezone.now()
    escalation.resolved_by = membership.user
    escalation.save(update_fields=["state", "resolved_at", "resolved_by",
                                   "resolution_comment"])
    org = membership.organization
    notices = (EscalationNotice.objects.filter(organization=org, escalation=escalation)
               .exclude(recipient_id=membership.user_id).select_related("recipient"))
    notify(organization=org, recipients=[notice.recipient for notice in notices],
           kind=NotificationKind.ESCALATION_RESOLVED,
           title=f"Resolved: {escalation.rule.name}: {escalation.subject_label}",
           body=f"{membership.user} resolved it: {escalation.resolution_comment}",
           url=escalation_url(organization=org, escalation_id=escalation.pk))
    return escalation


# --- Notification preferences -------------------------------------------------------------


@acting_in_org
@transaction.atomic
def notification_preferences_set(*, membership: Membership, preferences) -> dict[str, str]:
    """Set how the member gets the email of each kind in ``preferences`` ({kind:
    "immediate" | "digest"}); kinds left out keep theirs. The inbox always gets every
    notification. A member sets only their own preferences (``membership`` is theirs).
    Returns every kind with its delivery."""
    from .selectors import notification_preferences_of

    if not isinstance(preferences, dict):
        raise ApplicationError("Give a delivery per notification kind, e.g. "
                               '{"reminder": "digest"}.', field="preferences")
    choices = " or ".join(f'"{d.value}" ({d.label.lower()})' for d in Delivery)
    for kind, delivery in preferences.items():
        if kind not in NotificationKind.values:
            raise ApplicationError(f"Unknown notification kind; the kinds are "
                                   f"{', '.join(NotificationKind.values)}.", field=str(kind))
        if not isinstance(delivery, str) or delivery not in Delivery.values:
            raise ApplicationError(f"Choose {choices}.", field=kind)
    org = membership.organization
    NotificationPreference.objects.bulk_create(
        [NotificationPreference(organization=org, user=membership.user, kind=kind,
                                delivery=delivery) for kind, delivery in preferences.items()],
        update_conflicts=True, unique_fields=["organization", "user", "kind"],
        update_fields=["delivery"])
    return notification_preferences_of(organization=org, user=membership.user)

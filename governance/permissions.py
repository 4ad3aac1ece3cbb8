"""Governance predicates: who reviews, configures gates, records decisions, decides an
approval or a re-baseline, attaches or removes evidence, and acts on escalations. One
function per rule; services, views, the API and templates (through the context) call
these."""

from cat4.tenancy.models import Membership, Role
from initiatives import permissions as initiative_permissions
from initiatives.models import Initiative

from .models import Approval, EscalationNotice, Evidence


def can_view_reviews(*, membership: Membership | None) -> bool:
    # Anyone who can be named sponsor or controller has a review queue.
    return membership is not None and membership.role != Role.VIEWER


def can_configure_gates(*, membership: Membership | None) -> bool:
    return membership is not None and membership.role == Role.ADMIN


def can_view_decisions(*, membership: Membership | None) -> bool:
    return membership is not None


def can_record_decisions(*, membership: Membership | None) -> bool:
    return membership is not None and membership.role in {Role.ADMIN, Role.EXECUTIVE}


def can_decide(*, membership: Membership | None, approval: Approval,
               initiative: Initiative) -> bool:
    """The named approver, never the initiative's owner, never a viewer."""
    return (membership is not None and approval.approver_id == membership.user_id
            and initiative.owner_id != membership.user_id
            and membership.role != Role.VIEWER)


def can_decide_rebaseline(*, membership: Membership | None, initiative: Initiative) -> bool:
    """The initiative's controller decides its re-baselines: the rule that says who
    validates its value (``initiatives.permissions.can_validate_value``)."""
    return initiative_permissions.can_validate_value(membership=membership,
                                                     initiative=initiative)


# --- Evidence --------------------------------------------------------------------------


def can_attach_evidence(*, membership: Membership | None, initiative: Initiative) -> bool:
    """Editors, and the initiative's sponsor and controller (sign-off sheets)."""
    if membership is None or membership.role == Role.VIEWER:
        return False
    return (initiative_permissions.can_edit_initiative(membership=membership,
                                                       initiative=initiative)
            or membership.user_id in {initiative.sponsor_id, initiative.controller_id})


def can_remove_evidence(*, membership: Membership | None, evidence: Evidence) -> bool:
    """Whoever uploaded it, or an admin (a document behind a decided gate stays: the
    service refuses that with a conflict)."""
    return membership is not None and (membership.role == Role.ADMIN
                                       or evidence.uploaded_by_id == membership.user_id)


# --- Escalations -----------------------------------------------------------------------


def can_view_escalations(*, membership: Membership | None) -> bool:
    return membership is not None and membership.role != Role.VIEWER


def can_manage_escalation_rules(*, membership: Membership | None) -> bool:
    return membership is not None and membership.role == Role.ADMIN


def can_act_on_escalation(*, membership: Membership | None, escalation) -> bool:
    """Acknowledge or resolve: admins, executives, whoever was notified of it, the
    subject initiative's owner or sponsor, the subject KPI's owner. Never viewers."""
    if membership is None or membership.role == Role.VIEWER:
        return False
    if escalation.organization_id != membership.organization_id:
        return False
    if membership.role in {Role.ADMIN, Role.EXECUTIVE}:
        return True
    user_id = membership.user_id
    if escalation.initiative_id is not None:
        initiative = escalation.initiative
        if user_id in {initiative.owner_id, initiative.sponsor_id}:
            return True
    if escalation.kpi_id is not None and escalation.kpi.owner_id == user_id:
        return True
    prefetched = getattr(escalation, "_prefetched_objects_cache", {}).get("notices")
    if prefetched is not None:
        return any(notice.recipient_id == user_id for notice in prefetched)
    return EscalationNotice.objects.filter(organization_id=escalation.organization_id,
                                           escalation_id=escalation.pk,
                                           recipient_id=user_id).exists()

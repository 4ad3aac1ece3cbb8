"""Governance predicates. Deciding an approval is per object (the named approver,
never the owner): see services.can_decide."""

from cat4.tenancy.models import Membership, Role

from .models import EscalationNotice


def can_view_reviews(*, membership: Membership | None) -> bool:
    # Anyone who can be named sponsor or controller has a review queue.
    return membership is not None and membership.role != Role.VIEWER


def can_configure_gates(*, membership: Membership | None) -> bool:
    return membership is not None and membership.role == Role.ADMIN


def can_view_decisions(*, membership: Membership | None) -> bool:
    return membership is not None


def can_record_decisions(*, membership: Membership | None) -> bool:
    return membership is not None and membership.role in {Role.ADMIN, Role.EXECUTIVE}


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

"""Governance predicates. Deciding an approval is per object (the named approver,
never the owner): see services.can_decide."""

from cat4.tenancy.models import Membership, Role


def can_view_reviews(*, membership: Membership | None) -> bool:
    # Anyone who can be named sponsor or controller has a review queue.
    return membership is not None and membership.role != Role.VIEWER


def can_configure_gates(*, membership: Membership | None) -> bool:
    return membership is not None and membership.role == Role.ADMIN


def can_view_decisions(*, membership: Membership | None) -> bool:
    return membership is not None


def can_record_decisions(*, membership: Membership | None) -> bool:
    return membership is not None and membership.role in {Role.ADMIN, Role.EXECUTIVE}

"""Reporting predicates. One function per rule; services, views, API and templates all
call these."""

from cat4.tenancy.models import Membership, Role
from initiatives.permissions import can_view_initiatives


def can_export(*, membership: Membership | None) -> bool:
    """Whoever may read the initiative list may export it."""
    return can_view_initiatives(membership=membership)


def can_import(*, membership: Membership | None) -> bool:
    """Admins (the transformation office) only. Executives see everything but do not
    create initiatives (initiatives.permissions.can_create_initiative), which is what
    an import does; owners create only initiatives of their own, one at a time."""
    return membership is not None and membership.role == Role.ADMIN


def can_use_board_packs(*, membership: Membership | None) -> bool:
    """Executives and admins request, follow and download board packs."""
    return membership is not None and membership.role in {Role.ADMIN, Role.EXECUTIVE}

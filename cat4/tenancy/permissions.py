"""Role predicates: one function per rule, used by services, views, API and templates.

Org-wide capabilities come from ``Membership.role``. Per-object grants (an
initiative's owner, delegates, named approvers) use django-guardian and are
added by the apps that own those objects.
"""

from .models import Membership, Role

READ_ALL_ROLES = frozenset({Role.ADMIN, Role.EXECUTIVE, Role.CONTROLLER})


def is_member(membership: Membership | None) -> bool:
    return membership is not None


def can_view_organization(*, membership: Membership | None) -> bool:
    return is_member(membership)


def can_view_members(*, membership: Membership | None) -> bool:
    # Everyone in an organisation may see who else is in it: owners pick
    # sponsors and controllers from this list.
    return is_member(membership)


def can_manage_members(*, membership: Membership | None) -> bool:
    return membership is not None and membership.role == Role.ADMIN


def can_configure_organization(*, membership: Membership | None) -> bool:
    return membership is not None and membership.role == Role.ADMIN

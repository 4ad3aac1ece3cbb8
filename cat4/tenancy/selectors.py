"""Reads of tenancy data. Everything here is already scoped to an organisation,
except the lookups that resolve *which* organisations a user belongs to."""

from django.db.models import QuerySet
from django.utils import timezone
from django_scopes import scopes_disabled

from .models import Invitation, Membership, MembershipEvent, Organization, User


def memberships_of_user(*, user: User) -> list[Membership]:
    """All of a user's memberships, for the org switcher and the landing page.

    Crosses tenants on purpose (it lists the user's own rows only).
    """
    if not user.is_authenticated:
        return []
    with scopes_disabled():
        return list(
            Membership.objects.filter(user=user)
            .select_related("organization")
            .order_by("organization__name")
        )


def membership_for(*, user: User, organization: Organization) -> Membership | None:
    if not user.is_authenticated or not user.is_active:
        return None
    with scopes_disabled():
        return (
            Membership.objects.filter(user=user, organization=organization)
            .select_related("organization", "user")
            .first()
        )


def organization_by_slug(slug: str) -> Organization | None:
    return Organization.objects.filter(slug=slug).first()


def member_list(*, organization: Organization) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(organization=organization)
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )


def member_get(*, organization: Organization, membership_id) -> Membership | None:
    return member_list(organization=organization).filter(pk=membership_id).first()


def member_by_user(*, organization: Organization, user) -> Membership | None:
    """The membership in ``organization`` of ``user`` (a User, or a user id from a
    form or a request body), with its user; None when they are not a member."""
    return (Membership.objects.filter(organization=organization,
                                      user_id=getattr(user, "pk", user))
            .select_related("user").first())


def member_users(organization: Organization) -> QuerySet[User]:
    """The organisation's members as users, by name: the choices of a member field."""
    return User.objects.filter(memberships__organization=organization).order_by("full_name")


def pending_invitation_list(*, organization: Organization) -> QuerySet[Invitation]:
    return (
        Invitation.objects.filter(
            organization=organization,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .select_related("invited_by")
        .order_by("-created_at")
    )


def invitation_exists(*, organization: Organization, invitation_id) -> bool:
    return Invitation.objects.filter(organization=organization, pk=invitation_id).exists()


def membership_event_list(*, organization: Organization) -> QuerySet[MembershipEvent]:
    return (
        MembershipEvent.objects.filter(organization=organization)
        .select_related("actor")
        .order_by("-at", "-id")
    )

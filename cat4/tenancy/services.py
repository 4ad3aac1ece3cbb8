"""Every write to tenancy data. Keyword-only, permission-checked, one transaction,
and every membership change leaves a MembershipEvent (who, when, what)."""

import hashlib
import logging
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled
from knox.models import AuthToken

from cat4.common.exceptions import ApplicationError, NotFoundError, PermissionDeniedError

from . import permissions
from .models import Invitation, Membership, MembershipEvent, Organization, Role, User
from .scoping import acting_in_org

logger = logging.getLogger(__name__)

# An expired invitation stays as it is this long before the lapse job closes it.
INVITATION_LAPSE_AFTER = timedelta(days=30)


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _require(allowed: bool, message: str = "Your role does not allow this.") -> None:
    if not allowed:
        raise PermissionDeniedError(message)


def _record(*, organization, action, actor, subject_email, subject_user=None, old_role="",
            new_role="") -> MembershipEvent:
    return MembershipEvent.objects.create(
        organization=organization, action=action, actor=actor, subject_email=subject_email,
        subject_user=subject_user, old_role=old_role, new_role=new_role,
    )


def _validate_role(role: str) -> None:
    if role not in Role.values:
        raise ApplicationError(f"“{role}” is not a role. Choose one of: "
                               f"{', '.join(Role.values)}.", field="role")


# --- Organisations -----------------------------------------------------------


@acting_in_org
@transaction.atomic
def organization_update(*, membership: Membership, name: str, base_currency: str,
                        fiscal_year_start_month: int, time_zone: str) -> Organization:
    _require(permissions.can_configure_organization(membership=membership),
             "Only admins can change the organisation's settings.")
    org = Organization.objects.select_for_update().get(pk=membership.organization_id)
    org.name = name
    org.base_currency = base_currency
    org.fiscal_year_start_month = fiscal_year_start_month
    org.time_zone = time_zone
    try:
        org.full_clean()
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise ApplicationError(messages[0], field=field) from exc
    org.save()
    return org


# --- Invitations -------------------------------------------------------------


def _send_invitation_email(*, invitation_id: int, token: str) -> None:
    with scopes_disabled():
        invitation = Invitation.objects.select_related("organization", "invited_by").get(
            pk=invitation_id)
    url = settings.SITE_URL + reverse("invitation_accept", kwargs={"token": token})
    context = {"invitation": invitation, "url": url}
    send_mail(
        subject=f"You are invited to {invitation.organization.name} on cat4",
        message=render_to_string("tenancy/email/invitation.txt", context),
        from_email=None,
        recipient_list=[invitation.email],
    )


@acting_in_org
@transaction.atomic
def invitation_create(*, membership: Membership, email: str, role: str) -> tuple[Invitation, str]:
    """Invite ``email`` to the acting member's organisation. Returns the row and the token."""
    _require(permissions.can_manage_members(membership=membership),
             "Only admins can invite members.")
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ApplicationError("Enter a valid email address.", field="email") from exc
    _validate_role(role)
    org = membership.organization
    if Membership.objects.filter(organization=org, user__email__iexact=email).exists():
        raise ApplicationError(f"{email} is already a member of {org.name}.", field="email")

    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        organization=org, email=email, role=role, token_hash=_hash_token(token),
        invited_by=membership.user,
        expires_at=timezone.now() + timedelta(days=settings.INVITATION_TTL_DAYS),
    )
    # Expired invitations still hold the "one pending per email" slot; release it.
    now = timezone.now()
    _lapse(Invitation.objects.filter(organization=org, email__iexact=email, expires_at__lte=now),
           now=now)
    try:
        with transaction.atomic():
            invitation.save()
    except IntegrityError as exc:
        raise ApplicationError(
            f"{email} already has a pending invitation. Revoke it to send a new one.",
            field="email") from exc
    _record(organization=org, action=MembershipEvent.Action.INVITED, actor=membership.user,
            subject_email=email, new_role=role)
    transaction.on_commit(
        lambda: _send_invitation_email(invitation_id=invitation.pk, token=token), robust=True)
    return invitation, token


@acting_in_org
@transaction.atomic
def invitation_revoke(*, membership: Membership, invitation_id) -> Invitation:
    _require(permissions.can_manage_members(membership=membership),
             "Only admins can revoke invitations.")
    invitation = (Invitation.objects.select_for_update()
                  .filter(organization=membership.organization, pk=invitation_id).first())
    if invitation is None:
        raise NotFoundError("No such invitation.")
    if not invitation.is_pending:
        raise ApplicationError("This invitation is no longer pending.", status_code=409)
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    _record(organization=invitation.organization,
            action=MembershipEvent.Action.INVITATION_REVOKED, actor=membership.user,
            subject_email=invitation.email, old_role=invitation.role)
    return invitation


def _lapse(invitations: QuerySet[Invitation], *, now: datetime) -> int:
    """Close those of ``invitations`` still open (neither accepted nor revoked), with one
    INVITATION_LAPSED event each.

    The rows are locked and re-checked first, so of two runs at once only one closes
    and records a given invitation.
    """
    lapsed = list(invitations.filter(accepted_at__isnull=True, revoked_at__isnull=True)
                  .select_for_update().order_by("pk"))
    if not lapsed:
        return 0
    Invitation.objects.filter(pk__in=[i.pk for i in lapsed]).update(revoked_at=now)
    MembershipEvent.objects.bulk_create(
        MembershipEvent(organization_id=i.organization_id,
                        action=MembershipEvent.Action.INVITATION_LAPSED, actor=None,
                        subject_email=i.email, old_role=i.role, at=now)
        for i in lapsed)
    return len(lapsed)


@transaction.atomic
def invitation_lapse_expired(*, now: datetime | None = None) -> int:
    """Close the unanswered invitations of every organisation that expired more than
    ``INVITATION_LAPSE_AFTER`` ago (a platform job). Returns how many lapsed."""
    now = now or timezone.now()
    with scopes_disabled():  # cross-tenant on purpose: platform clean-up
        return _lapse(Invitation.objects.filter(expires_at__lt=now - INVITATION_LAPSE_AFTER),
                      now=now)


def invitation_by_token(token: str) -> Invitation | None:
    """Resolve an emailed token (outside any org: the org comes from the invitation)."""
    with scopes_disabled():
        return (Invitation.objects.select_related("organization", "invited_by")
                .filter(token_hash=_hash_token(token)).first())


@transaction.atomic
def invitation_accept(*, token: str, user: User) -> Membership:
    """``user`` joins the invitation's organisation in the invited role."""
    with scopes_disabled():
        invitation = (Invitation.objects.select_for_update(of=("self",))
                      .select_related("organization")
                      .filter(token_hash=_hash_token(token)).first())
        if invitation is None or not invitation.is_pending:
            raise ApplicationError("This invitation link is invalid, expired or already used.")
        if invitation.email.lower() != user.email.lower():
            raise ApplicationError(
                f"This invitation was sent to {invitation.email}. "
                "Log in as that user to accept it.")
        membership, created = Membership.objects.get_or_create(
            organization=invitation.organization, user=user,
            defaults={"role": invitation.role})
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        if created:
            _record(organization=invitation.organization, action=MembershipEvent.Action.JOINED,
                    actor=user, subject_email=user.email, subject_user=user,
                    new_role=invitation.role)
    return membership


@transaction.atomic
def invitation_accept_new_user(*, token: str, full_name: str, password: str) -> Membership:
    """Create the account the invitation was sent to, then accept it."""
    invitation = invitation_by_token(token)
    if invitation is None or not invitation.is_pending:
        raise ApplicationError("This invitation link is invalid, expired or already used.")
    if User.objects.filter(email__iexact=invitation.email).exists():
        raise ApplicationError("An account with this email already exists. Log in to accept.")
    full_name = (full_name or "").strip()
    if not full_name:
        raise ApplicationError("Enter your name.", field="full_name")
    user = User(email=invitation.email, full_name=full_name)
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise ApplicationError(" ".join(exc.messages), field="password") from exc
    user.set_password(password)
    user.save()
    return invitation_accept(token=token, user=user)


# --- Members -----------------------------------------------------------------


def _lock_admins(organization: Organization) -> list[Membership]:
    """Lock the org's admin memberships (in id order) so two concurrent demotions
    cannot both pass the last-admin check."""
    return list(Membership.objects.select_for_update()
                .filter(organization=organization, role=Role.ADMIN).order_by("pk"))


@acting_in_org
@transaction.atomic
def member_change_role(*, membership: Membership, member_id, role: str) -> Membership:
    _require(permissions.can_manage_members(membership=membership),
             "Only admins can change roles.")
    _validate_role(role)
    org = membership.organization
    admins = _lock_admins(org)
    target = (Membership.objects.select_for_update().select_related("user")
              .filter(organization=org, pk=member_id).first())
    if target is None:
        raise NotFoundError("No such member.")
    if target.role == role:
        return target
    if target.role == Role.ADMIN and len(admins) == 1:
        raise ApplicationError("An organisation needs at least one admin. Make someone else "
                               "admin first.", field="role", status_code=409)
    old_role = target.role
    target.role = role
    target.save(update_fields=["role", "updated_at"])
    _record(organization=org, action=MembershipEvent.Action.ROLE_CHANGED, actor=membership.user,
            subject_email=target.user.email, subject_user=target.user, old_role=old_role,
            new_role=role)
    return target


@acting_in_org
@transaction.atomic
def member_remove(*, membership: Membership, member_id) -> None:
    _require(permissions.can_manage_members(membership=membership),
             "Only admins can remove members.")
    org = membership.organization
    admins = _lock_admins(org)
    target = (Membership.objects.select_for_update().select_related("user")
              .filter(organization=org, pk=member_id).first())
    if target is None:
        raise NotFoundError("No such member.")
    if target.role == Role.ADMIN and len(admins) == 1:
        raise ApplicationError("The last admin cannot be removed. Make someone else admin first.",
                               status_code=409)
    _record(organization=org, action=MembershipEvent.Action.REMOVED, actor=membership.user,
            subject_email=target.user.email, subject_user=target.user, old_role=target.role)
    target.delete()


# --- Own account -------------------------------------------------------------


def user_update_profile(*, user: User, full_name: str) -> User:
    full_name = (full_name or "").strip()
    if not full_name:
        raise ApplicationError("Enter your name.", field="full_name")
    user.full_name = full_name
    user.save(update_fields=["full_name"])
    return user


def api_token_create(*, user: User):
    """A personal API token; only its digest is stored, the key is returned once."""
    return AuthToken.objects.create(user=user, expiry=None)


def api_token_revoke(*, user: User, token_key: str) -> int:
    deleted, _ = AuthToken.objects.filter(user=user, token_key=token_key).delete()
    return deleted

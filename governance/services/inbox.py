"""The member's own inbox: marking notifications read, and how each kind of
notification reaches them by email."""

from django.db import transaction
from django.utils import timezone

from cat4.common.exceptions import ApplicationError
from cat4.tenancy.models import Membership
from cat4.tenancy.scoping import acting_in_org

from ..models import Delivery, Notification, NotificationKind, NotificationPreference
from ..selectors import notification_preferences_of


@acting_in_org
def notifications_mark_read(*, membership: Membership) -> int:
    """Mark all of the member's notifications in this organisation as read."""
    return Notification.objects.filter(
        organization=membership.organization, recipient=membership.user,
        read_at__isnull=True).update(read_at=timezone.now())


@acting_in_org
@transaction.atomic
def notification_preferences_set(*, membership: Membership, preferences) -> dict[str, str]:
    """Set how the member gets the email of each kind in ``preferences`` ({kind:
    "immediate" | "digest"}); kinds left out keep theirs. The inbox always gets every
    notification. A member sets only their own preferences (``membership`` is theirs).
    Returns every kind with its delivery."""
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

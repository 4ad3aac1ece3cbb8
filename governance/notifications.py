"""Notifications: an inbox entry for every recipient, and its email either at once
(after the transaction commits) or in the recipient's daily digest, as their
preference for that kind says. Every notification links to what it is about."""

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import transaction
from django.utils import timezone
from django_scopes import scope

from cat4.tenancy.models import Organization, User

from .models import Delivery, Notification, NotificationPreference


def delivery_for(*, organization: Organization, user_ids, kind: str) -> dict[int, str]:
    """Each user's chosen delivery for ``kind`` in this organisation (default: at once)."""
    chosen = dict(NotificationPreference.objects.filter(
        organization=organization, user_id__in=list(user_ids), kind=kind)
        .values_list("user_id", "delivery"))
    return {uid: chosen.get(uid, Delivery.IMMEDIATE) for uid in user_ids}


def notify(*, organization: Organization, recipients, kind: str, title: str, url: str,
           body: str = "") -> list[Notification]:
    """Write one inbox entry per distinct recipient (``None`` entries are skipped) and
    email the ones who want it at once when the surrounding transaction commits."""
    users = {}
    for user in recipients:
        if user is not None:
            users.setdefault(user.pk, user)
    if not users:
        return []
    deliveries = delivery_for(organization=organization, user_ids=users, kind=kind)
    created = Notification.objects.bulk_create([
        Notification(organization=organization, recipient=user, kind=kind, title=title[:200],
                     body=body, url=url, delivery=deliveries[uid])
        for uid, user in users.items()])
    immediate = [n.pk for n in created if n.delivery == Delivery.IMMEDIATE]
    if immediate:
        transaction.on_commit(
            lambda: send_immediate(organization=organization, notification_ids=immediate),
            robust=True)
    return created


def _absolute(url: str) -> str:
    return f"{settings.SITE_URL}{url}"


def send_immediate(*, organization: Organization, notification_ids) -> int:
    """Email these notifications, each once: a row is claimed (``emailed_at`` set)
    in the same transaction that sends it, so a second call sends nothing."""
    with scope(organization=organization), transaction.atomic():
        rows = list(Notification.objects.select_for_update(skip_locked=True)
                    .filter(organization=organization, pk__in=list(notification_ids),
                            emailed_at__isnull=True,
                            delivery=Delivery.IMMEDIATE)
                    .select_related("recipient"))
        rows = [n for n in rows if n.recipient.is_active]
        send_mass_mail([(n.title, f"{n.body}\n\n{_absolute(n.url)}".strip(), None,
                         [n.recipient.email]) for n in rows])
        Notification.objects.filter(pk__in=[n.pk for n in rows]).update(
            emailed_at=timezone.now())
    return len(rows)


def send_digests(*, organization: Organization) -> int:
    """Send each member of ``organization`` one email with their waiting digest
    notifications, and mark them sent. Idempotent: sent rows are not picked again,
    and rows another run holds are skipped. Returns how many emails went out."""
    with transaction.atomic():
        rows = list(Notification.objects.select_for_update(skip_locked=True, of=("self",))
                    .filter(organization=organization, delivery=Delivery.DIGEST,
                            emailed_at__isnull=True)
                    .select_related("recipient").order_by("recipient_id", "created_at", "id"))
        by_user: dict[int, list[Notification]] = {}
        for n in rows:
            by_user.setdefault(n.recipient_id, []).append(n)
        messages = []
        for items in by_user.values():
            user: User = items[0].recipient
            if not user.is_active:
                continue
            lines = [f"- {n.title}\n  {_absolute(n.url)}" for n in items]
            messages.append((f"cat4 daily digest for {organization.name}: {len(items)} "
                             f"notification{'s' if len(items) != 1 else ''}",
                             "\n\n".join(lines), None, [user.email]))
        send_mass_mail(messages)
        Notification.objects.filter(pk__in=[n.pk for n in rows]).update(
            emailed_at=timezone.now())
    return len(messages)

"""Reminders that an update is due: an initiative's status update, a KPI's reading.

Once a day, for every initiative in an active stage (identified, detailed, decided,
implemented) and every KPI, the owner gets an inbox notification (and its email at once
or in the digest, as their preference for reminders says):

- ``before``: ``REMINDER_DAYS_BEFORE`` days before the due date (or on a later day
  before it, when that day's run was missed);
- ``due``: on the due date, or the day after it when that day's run was missed.

A reminder is never sent for a due date that passed more than a day ago: after a
downtime, owners do not get a flood of stale reminders (overdue updates are the
escalation rules' business, not the reminders').

Each reminder is claimed as a ``Reminder`` row (unique subject, due date and kind) in
the same transaction as its notification, so running the job twice, or two at once,
sends it once. The job holds a PostgreSQL advisory lock per organisation, takes
organisations one by one, and reads subjects in bounded keyset chunks.
"""

from dataclasses import dataclass
from datetime import date

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from cat4.common.locks import try_org_job_lock
from cat4.tenancy.models import Membership, Organization
from initiatives import selectors as initiative_selectors
from initiatives.models import Initiative
from kpis import calculations as kcalc
from kpis.models import Kpi

from .conditions import day_text, kpi_reading_due
from .escalations import local_today
from .models import NotificationKind, Reminder, ReminderKind, SubjectType
from .notifications import notify

JOB = "governance.send_reminders"
REMINDER_DAYS_BEFORE = 3
CHUNK = 500


def reminder_kind(*, due: date, today: date) -> str | None:
    """Which reminder, if any, belongs to ``today`` for an update due on ``due``."""
    days_left = (due - today).days
    if 0 < days_left <= REMINDER_DAYS_BEFORE:
        return ReminderKind.BEFORE
    if -1 <= days_left <= 0:  # on the day, or the day after a missed run; never later
        return ReminderKind.DUE
    return None


@dataclass(frozen=True)
class DueReminder:
    subject_type: str
    subject_id: int
    due: date
    kind: str
    recipient: object  # User
    title: str
    body: str
    url: str


def organisations() -> list[int]:
    """The organisations with something that may be due: an active initiative or a KPI."""
    with scopes_disabled():  # which organisations have work: across tenants on purpose
        ids = set(Initiative.objects.filter(stage__in=initiative_selectors.ACTIVE_STAGES)
                  .values_list("organization_id", flat=True).distinct())
        ids |= set(Kpi.objects.values_list("organization_id", flat=True).distinct())
    return sorted(ids)


def _when(kind: str, due: date, today: date) -> str:
    if kind == ReminderKind.BEFORE:
        days = (due - today).days
        return f"It is due in {days} day{'s' if days != 1 else ''}, on {day_text(due)}."
    return f"It is due {'today' if due == today else f'since {day_text(due)}'}."


def _initiative_reminders(org: Organization, *, today: date, after_id: int, chunk: int
                          ) -> tuple[list[DueReminder], int | None]:
    rows = list(initiative_selectors.with_latest_update(
        Initiative.objects.filter(organization=org, pk__gt=after_id,
                                  stage__in=initiative_selectors.ACTIVE_STAGES))
        .select_related("owner").order_by("pk")[:chunk])
    found = []
    for initiative in rows:
        fresh = initiative_selectors.freshness_of(initiative, today=today)
        kind = reminder_kind(due=fresh.due, today=today)
        if kind is None:
            continue
        url = reverse("initiative_detail", kwargs={"org_slug": org.slug,
                                                   "initiative_id": initiative.pk})
        last = (f"the last one was posted on {day_text(fresh.last_update)}" if fresh.last_update
                else "none has been posted yet")
        found.append(DueReminder(
            SubjectType.INITIATIVE, initiative.pk, fresh.due, kind, initiative.owner,
            f"{initiative.code}: status update due on {day_text(fresh.due)}",
            f"{_when(kind, fresh.due, today)} {initiative.title} is updated "
            f"{fresh.cadence_label.lower()}; {last}. Past the due date its status "
            "shows as stale and never green.",
            url))
    return found, (rows[-1].pk if len(rows) == chunk else None)


def _kpi_reminders(org: Organization, *, today: date, after_id: int, chunk: int
                   ) -> tuple[list[DueReminder], int | None]:
    rows = list(Kpi.objects.filter(organization=org, pk__gt=after_id)
                .annotate(latest_period=Max("readings__period"))
                .select_related("owner").order_by("pk")[:chunk])
    found = []
    for kpi in rows:
        missing = (kcalc.next_period(kpi.latest_period, kpi.frequency) if kpi.latest_period
                   else kcalc.period_start(kpi.baseline_date, kpi.frequency))
        if missing > kpi.target_date:
            continue  # no readings are expected after the target date
        due = kpi_reading_due(latest_period=kpi.latest_period, baseline_date=kpi.baseline_date,
                              frequency=kpi.frequency)
        kind = reminder_kind(due=due, today=today)
        if kind is None:
            continue
        period = kcalc.period_label(missing, kpi.frequency)
        found.append(DueReminder(
            SubjectType.KPI, kpi.pk, due, kind, kpi.owner,
            f"{kpi.name}: reading for {period} due on {day_text(due)}",
            f"{_when(kind, due, today)} Enter the {kpi.get_frequency_display().lower()} "
            f"reading of {kpi.name} for {period}.",
            reverse("kpi_detail", kwargs={"org_slug": org.slug, "kpi_id": kpi.pk})))
    return found, (rows[-1].pk if len(rows) == chunk else None)


def _send(org: Organization, reminder: DueReminder) -> bool:
    """Claim the reminder and notify in one transaction; False if it was sent before
    (or another run holds the claim and commits it)."""
    try:
        with transaction.atomic():
            Reminder.objects.create(
                organization=org, subject_type=reminder.subject_type,
                subject_id=reminder.subject_id, due_date=reminder.due, kind=reminder.kind,
                recipient=reminder.recipient, sent_at=timezone.now())
            notify(organization=org, recipients=[reminder.recipient],
                   kind=NotificationKind.REMINDER, title=reminder.title, body=reminder.body,
                   url=reminder.url)
    except IntegrityError:
        return False
    return True


def send_for_org(organization_id: int, *, today: date | None = None, chunk: int = CHUNK
                 ) -> dict:
    """Send the reminders of one organisation that belong to ``today`` (by default the
    organisation's own date): ``before`` up to REMINDER_DAYS_BEFORE days ahead of a due
    date, ``due`` on it. Never for a due date that passed more than a day ago, so a run
    after a downtime sends no flood. Idempotent: each reminder is claimed once."""
    with try_org_job_lock(JOB, organization_id) as acquired:
        if not acquired:
            return {"organization": organization_id, "skipped": "another run holds the lock"}
        org = Organization.objects.get(pk=organization_id)
        today = today or local_today(org)
        sent = already = 0
        with scope(organization=org):
            members = set(Membership.objects.filter(organization=org)
                          .values_list("user_id", flat=True))
            for find in (_initiative_reminders, _kpi_reminders):
                after_id: int | None = 0
                while after_id is not None:
                    found, after_id = find(org, today=today, after_id=after_id, chunk=chunk)
                    for reminder in found:
                        if reminder.recipient.pk not in members:
                            continue  # a former member gets nothing of this organisation
                        if _send(org, reminder):
                            sent += 1
                        else:
                            already += 1
    return {"organization": organization_id, "today": today.isoformat(), "sent": sent,
            "already_sent": already}

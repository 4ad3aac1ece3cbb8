"""The escalation jobs through real Celery workers on the real Redis: the same
result on a second run, one effect when two workers run the job at once, no
duplicate escalation or notification, promotion after the configured days (time
controlled by the task's ``now`` argument) and auto-resolution."""

import datetime as dt
import time

import pytest
from django.conf import settings
from django.utils import timezone
from django_scopes import scopes_disabled
from kombu import Connection

from cat4.celery import app
from cat4.tenancy.models import Role
from governance import escalations, tasks
from governance.models import (
    Condition,
    Escalation,
    EscalationNotice,
    EscalationRule,
    EscalationState,
    Notification,
    NotificationKind,
)
from tests.factories import MilestoneFactory
from tests.workers import start_worker, wait_for

pytestmark = pytest.mark.slow

NOW = timezone.now()


def _queue_length() -> int:
    with Connection(settings.CELERY_BROKER_URL) as conn:
        return conn.default_channel.client.llen("celery")


def wait_idle(worker, timeout: float = 60) -> None:
    """Until the queue is empty and no worker has a task in hand (twice in a row)."""
    quiet = 0

    def idle() -> bool:
        nonlocal quiet
        inspect = app.control.inspect(timeout=0.5)
        busy = [t for tasks_ in (inspect.active() or {}).values() for t in tasks_]
        busy += [t for tasks_ in (inspect.reserved() or {}).values() for t in tasks_]
        quiet = quiet + 1 if not busy and _queue_length() == 0 else 0
        return quiet >= 2

    wait_for(worker, idle, what="finish its tasks", timeout=timeout)


@pytest.fixture
def overdue(world):
    with scopes_disabled():
        EscalationRule.objects.filter(organization=world.org_a).delete()
        EscalationRule.objects.create(organization=world.org_a, name="Late milestones",
                                      condition=Condition.MILESTONE_OVERDUE, threshold=14,
                                      promote_after_days=3)
        today = escalations.local_today(world.org_a, NOW)
        return MilestoneFactory(initiative=world.initiative, title="Carrier shortlist",
                                due_date=today - dt.timedelta(days=20))


def state(world):
    with scopes_disabled():
        return (list(Escalation.objects.filter(organization=world.org_a)
                     .values_list("level", "state", "resolved_by")),
                sorted(EscalationNotice.objects.filter(organization=world.org_a)
                       .values_list("level", "recipient__email")),
                sorted(Notification.objects.filter(organization=world.org_a)
                       .values_list("kind", "recipient__email")))


def test_a_real_worker_raises_promotes_and_resolves_each_once(world, worker, overdue):
    tasks.evaluate_escalations.delay()  # the hourly entry: fans out one task per org
    wait_for(worker, lambda: state(world)[0], what="raise the escalation")
    wait_idle(worker)
    first = state(world)
    assert first == ([(1, "open", None)], [(1, "owner@acme.test")],
                     [(NotificationKind.ESCALATION, "owner@acme.test")])

    tasks.evaluate_escalations_for_org.delay(world.org_a.pk, NOW.isoformat())
    wait_idle(worker)
    assert state(world) == first  # the second run: the same rows, nobody told again

    later = (NOW + dt.timedelta(days=3, hours=1)).isoformat()  # the first run used the real clock
    tasks.evaluate_escalations_for_org.delay(world.org_a.pk, later)
    tasks.evaluate_escalations_for_org.delay(world.org_a.pk, later)
    wait_idle(worker)
    escalation_rows, notice_rows, inbox = state(world)
    assert escalation_rows == [(2, "open", None)]
    assert notice_rows == [(1, "owner@acme.test"), (2, "executive@acme.test"),
                           (2, "owner@acme.test")]
    assert sorted(inbox) == sorted([(NotificationKind.ESCALATION, "owner@acme.test")] * 2
                                   + [(NotificationKind.ESCALATION, "executive@acme.test")])

    with scopes_disabled():
        overdue.done_date = escalations.local_today(world.org_a, NOW)
        overdue.save()
    tasks.evaluate_escalations_for_org.delay(world.org_a.pk, later)
    tasks.evaluate_escalations_for_org.delay(world.org_a.pk, later)
    wait_idle(worker)
    escalation_rows, _notices, inbox = state(world)
    assert escalation_rows == [(2, EscalationState.RESOLVED, None)]  # by itself
    resolved = sorted(e for k, e in inbox if k == NotificationKind.ESCALATION_RESOLVED)
    assert resolved == ["executive@acme.test", "owner@acme.test"]


def test_two_workers_at_once_have_one_effect(world, worker, overdue):
    with start_worker("second") as second:
        for _ in range(4):
            tasks.evaluate_escalations_for_org.delay(world.org_a.pk, NOW.isoformat())
        wait_for(worker, lambda: state(world)[0], what="raise the escalation")
        time.sleep(0.5)
        wait_idle(second)
    assert state(world) == ([(1, "open", None)], [(1, "owner@acme.test")],
                            [(NotificationKind.ESCALATION, "owner@acme.test")])
    with scopes_disabled():
        assert world.a[Role.OWNER].user.notifications.count() == 1

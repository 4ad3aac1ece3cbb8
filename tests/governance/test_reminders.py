"""Reminders that a status update or a KPI reading is due: three days before and on
the due date, once each (the Reminder row is claimed with the notification), never
for a due date more than a day past; and the daily digest for those who chose it."""

import datetime as dt
import threading

import pytest
from django.db import connection, connections
from django.utils import timezone
from django_scopes import scopes_disabled

from cat4.celery import app
from cat4.common.locks import _keys as lock_keys
from cat4.tenancy.models import Role
from governance import reminders, services, tasks
from governance.models import Delivery, Notification, Reminder
from initiatives.models import Initiative, StatusUpdate
from kpis.models import Kpi, KpiReading
from tests.factories import InitiativeFactory

pytestmark = pytest.mark.django_db

CREATED = dt.date(2026, 11, 1)
DUE = dt.date(2026, 12, 1)  # monthly cadence: 30 days after creation


def created_on(initiative, day: dt.date) -> None:
    with scopes_disabled():
        Initiative.objects.filter(pk=initiative.pk).update(
            created_at=dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC))
        initiative.refresh_from_db()


def reminders_of(user, **filters):
    with scopes_disabled():
        return list(Notification.objects.filter(recipient=user, kind="reminder", **filters)
                    .order_by("id"))


def run(world, today: dt.date) -> dict:
    return reminders.send_for_org(world.org_a.pk, today=today)


@pytest.fixture
def owner(world):
    return world.a[Role.OWNER].user


@pytest.fixture
def due_initiative(world):
    created_on(world.initiative, CREATED)
    return world.initiative


def make_kpi(world, *, latest_period=None, **extra) -> Kpi:
    with scopes_disabled():
        if world.initiative.created_at.date() != CREATED:  # keep it out of the KPI's tests
            Initiative.objects.filter(pk=world.initiative.pk).update(stage="on_hold")
        kpi = Kpi.objects.create(organization=world.org_a, unit="%",
                                 direction="higher", baseline="80",
                                 baseline_date=dt.date(2026, 1, 1), target="90",
                                 owner=world.a[Role.OWNER].user,
                                 **{"name": "On-time delivery",
                                    "target_date": dt.date(2027, 12, 31),
                                    "frequency": "monthly", **extra})
        if latest_period:
            KpiReading.objects.create(organization=world.org_a, kpi=kpi, period=latest_period,
                                      value="82", entered_by=world.a[Role.OWNER].user)
    return kpi


# --- When -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("days_left", "kind"), [
    (5, None), (4, None), (3, "before"), (2, "before"), (1, "before"), (0, "due"), (-1, "due"),
    (-2, None), (-30, None)])
def test_reminder_kind_by_days_left(days_left, kind):
    assert reminders.reminder_kind(due=DUE, today=DUE - dt.timedelta(days=days_left)) == kind


def test_initiative_owner_is_reminded_three_days_before_and_on_the_due_date(world, owner,
                                                                            due_initiative):
    assert run(world, DUE - dt.timedelta(days=4))["sent"] == 0
    assert run(world, DUE - dt.timedelta(days=3))["sent"] == 1
    before = reminders_of(owner)
    assert [n.title for n in before] == ["AC-100: status update due on 1 Dec 2026"]
    assert before[0].url == f"/o/acme/initiatives/{due_initiative.pk}/"
    assert "due in 3 days" in before[0].body
    assert run(world, DUE - dt.timedelta(days=2))["sent"] == 0  # "before" went already
    assert run(world, DUE)["sent"] == 1
    assert run(world, DUE + dt.timedelta(days=1))["sent"] == 0
    titles = [n.title for n in reminders_of(owner)]
    assert titles == ["AC-100: status update due on 1 Dec 2026"] * 2
    assert "due today" in reminders_of(owner)[1].body
    with scopes_disabled():
        claims = sorted(Reminder.objects.values_list("subject_type", "subject_id", "due_date",
                                                     "kind", "recipient_id"))
    assert claims == [("initiative", due_initiative.pk, DUE, "before", owner.pk),
                      ("initiative", due_initiative.pk, DUE, "due", owner.pk)]
    # Only the owner hears of it.
    with scopes_disabled():
        assert Notification.objects.exclude(recipient=owner).count() == 0


def test_a_new_status_update_moves_the_due_date(world, owner, due_initiative):
    with scopes_disabled():
        update = StatusUpdate.objects.create(organization=world.org_a, initiative=due_initiative,
                                             author=owner, narrative="Going well",
                                             confidence="high")
        StatusUpdate.objects.filter(pk=update.pk).update(
            created_at=dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC))
    assert run(world, DUE)["sent"] == 0
    assert run(world, dt.date(2026, 12, 20))["sent"] == 1  # 20 Nov + 30 days
    assert reminders_of(owner)[0].title == "AC-100: status update due on 20 Dec 2026"


def test_no_flood_after_downtime(world, owner, due_initiative):
    """A due date more than a day past gets no reminder; one day past still does."""
    assert run(world, DUE + dt.timedelta(days=2))["sent"] == 0
    assert run(world, DUE + dt.timedelta(days=1))["sent"] == 1
    assert "since 1 Dec 2026" in reminders_of(owner)[0].body


@pytest.mark.parametrize("stage", ["on_hold", "closed", "cancelled"])
def test_no_reminder_for_inactive_initiatives(world, owner, due_initiative, stage):
    with scopes_disabled():
        Initiative.objects.filter(pk=due_initiative.pk).update(stage=stage)  # set-up only
    assert run(world, DUE)["sent"] == 0
    assert run(world, DUE - dt.timedelta(days=3))["sent"] == 0
    assert reminders_of(owner) == []


@pytest.mark.parametrize("stage", ["identified", "detailed", "decided", "implemented"])
def test_reminders_in_every_active_stage(world, owner, due_initiative, stage):
    with scopes_disabled():
        Initiative.objects.filter(pk=due_initiative.pk).update(stage=stage)  # set-up only
    assert run(world, DUE)["sent"] == 1


def test_weekly_cadence(world, owner, due_initiative):
    with scopes_disabled():
        Initiative.objects.filter(pk=due_initiative.pk).update(update_cadence_days=7)
    assert run(world, dt.date(2026, 11, 8))["sent"] == 1
    assert reminders_of(owner)[0].title == "AC-100: status update due on 8 Nov 2026"


def test_kpi_owner_is_reminded_of_the_reading(world, owner):
    # The October reading is in: November's is due when November ends (1 Dec).
    kpi = make_kpi(world, latest_period=dt.date(2026, 10, 1))
    assert run(world, dt.date(2026, 11, 27))["sent"] == 0
    assert run(world, dt.date(2026, 11, 28))["sent"] == 1
    assert run(world, DUE)["sent"] == 1
    notes = reminders_of(owner)
    assert [n.title for n in notes] == ["On-time delivery: reading for 2026-11 due on 1 Dec 2026"
                                        ] * 2
    assert notes[0].url == f"/o/acme/kpis/{kpi.pk}/"
    with scopes_disabled():
        assert set(Reminder.objects.values_list("subject_type", "kind")) == {
            ("kpi", "before"), ("kpi", "due")}


def test_kpi_without_readings_is_due_after_its_baseline_period(world, owner):
    make_kpi(world)  # baseline 1 Jan 2026, monthly: January's reading is due 1 Feb
    assert run(world, dt.date(2026, 2, 1))["sent"] == 1
    assert reminders_of(owner)[0].title == (
        "On-time delivery: reading for 2026-01 due on 1 Feb 2026")


def test_no_kpi_reminder_after_the_target_date(world, owner):
    # The Q3 reading is in, the target date is in Q3: no Q4 reading is asked for.
    make_kpi(world, latest_period=dt.date(2026, 7, 1), frequency="quarterly",
             target_date=dt.date(2026, 9, 30))
    run(world, dt.date(2027, 1, 1))
    run(world, dt.date(2026, 12, 30))
    with scopes_disabled():
        assert not Reminder.objects.filter(subject_type="kpi").exists()


def test_subjects_are_read_in_bounded_chunks(world, owner, due_initiative):
    with scopes_disabled():
        for n in range(4):
            other = InitiativeFactory(program=due_initiative.program, code=f"AC-{500 + n}",
                                      owner=owner)
            created_on(other, CREATED)
    for n in range(3):
        make_kpi(world, latest_period=dt.date(2026, 10, 1), name=f"KPI {n}")
    result = reminders.send_for_org(world.org_a.pk, today=DUE, chunk=2)
    assert result["sent"] == 5 + 3
    assert reminders.send_for_org(world.org_a.pk, today=DUE, chunk=2)["sent"] == 0


def test_a_former_member_gets_no_reminder(world, owner, due_initiative):
    with scopes_disabled():
        world.a[Role.OWNER].membership.delete()
    assert run(world, DUE)["sent"] == 0


# --- Once -----------------------------------------------------------------------------------


def test_running_twice_sends_one_notification_and_one_email(
        world, owner, due_initiative, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = run(world, DUE)
    with django_capture_on_commit_callbacks(execute=True):
        second = run(world, DUE)
    assert (first["sent"], second["sent"], second["already_sent"]) == (1, 0, 1)
    assert len(reminders_of(owner)) == 1
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [owner.email]
    assert mailoutbox[0].subject == "AC-100: status update due on 1 Dec 2026"
    assert f"/o/acme/initiatives/{due_initiative.pk}/" in mailoutbox[0].body


def test_the_task_runs_every_organisation(world, owner, due_initiative, mailoutbox,
                                          django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        results = tasks.send_reminders(today=DUE.isoformat())
        tasks.send_reminders(today=DUE.isoformat())
    assert {"organization": world.org_a.pk, "today": DUE.isoformat(), "sent": 1,
            "already_sent": 0} in results
    assert len(reminders_of(owner)) == 1 and len(mailoutbox) == 1


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_send_one_reminder(world, owner):
    created_on(world.initiative, CREATED)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def job():
        try:
            barrier.wait(timeout=10)
            results.append(run(world, DUE))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=job) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert sum(r.get("sent", 0) for r in results) == 1
    assert len(reminders_of(owner)) == 1


# --- Preferences and the digest ----------------------------------------------------------


def test_digest_preference_sends_no_email_now_and_one_digest_later(
        world, owner, due_initiative, mailoutbox, django_capture_on_commit_callbacks):
    services.notification_preferences_set(membership=world.a[Role.OWNER].membership,
                                          preferences={"reminder": "digest"})
    make_kpi(world, latest_period=dt.date(2026, 10, 1))
    with django_capture_on_commit_callbacks(execute=True):
        assert run(world, DUE)["sent"] == 2
    assert mailoutbox == []
    assert {n.delivery for n in reminders_of(owner)} == {Delivery.DIGEST}

    results = tasks.send_digests()
    assert results == [{"organization": world.org_a.pk, "emails": 1}]
    assert len(mailoutbox) == 1
    digest = mailoutbox[0]
    assert digest.to == [owner.email]
    assert "2 notifications" in digest.subject
    assert "AC-100: status update due on 1 Dec 2026" in digest.body
    assert "On-time delivery: reading for 2026-11 due on 1 Dec 2026" in digest.body
    assert all(n.emailed_at for n in reminders_of(owner))

    assert tasks.send_digests() == []
    assert len(mailoutbox) == 1


def test_digest_job_skips_an_organisation_another_run_holds(world, owner, due_initiative):
    services.notification_preferences_set(membership=world.a[Role.OWNER].membership,
                                          preferences={"reminder": "digest"})
    run(world, DUE)
    # Another session holds the lock: this run skips the organisation instead of waiting.
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)",
                           lock_keys(tasks.DIGEST_JOB, world.org_a.pk))
        assert tasks.send_digests_for_org(world.org_a.pk)["skipped"]
        with other.cursor() as cursor:
            # Released here, not by close(): the server ends the old session (and frees
            # its locks) a moment after the client has gone, which made this test flaky.
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)",
                           lock_keys(tasks.DIGEST_JOB, world.org_a.pk))
    finally:
        other.close()
    assert tasks.send_digests_for_org(world.org_a.pk) == {"organization": world.org_a.pk,
                                                           "emails": 1}


# --- Schedule and a real worker -----------------------------------------------------------


def test_both_jobs_are_scheduled_daily():
    entries = {e["task"]: e for e in app.conf.beat_schedule.values()}
    for task, hour in (("governance.send_reminders", {6}), ("governance.send_digests", {7})):
        assert entries[task]["schedule"].hour == hour
        assert entries[task]["options"]["expires"] > 0


@pytest.mark.slow
def test_a_real_worker_sends_reminders(world, worker):
    from tests.workers import wait_for

    created_on(world.initiative, CREATED)
    owner = world.a[Role.OWNER].user

    app.send_task("governance.send_reminders", kwargs={"today": DUE.isoformat()})

    wait_for(worker, lambda: len(reminders_of(owner)) == 1, what="send the reminder")
    with scopes_disabled():
        assert Reminder.objects.filter(subject_id=world.initiative.pk, kind="due").count() == 1
    assert timezone.now() - reminders_of(owner)[0].created_at < dt.timedelta(minutes=5)

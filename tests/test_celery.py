"""Celery on the real Redis: a worker process (the ``worker`` fixture of
tests/conftest.py) consumes the housekeeping task and it does its work on the test
database; the beat schedule is static and every periodic entry expires."""

import time
from datetime import timedelta

import pytest
from celery.schedules import crontab
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.utils import timezone

from cat4.celery import app
from cat4.common.tasks import HEARTBEAT_KEY, housekeeping


def test_celery_is_json_only_with_late_acks():
    conf = app.conf
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_time_limit < conf.broker_transport_options["visibility_timeout"]


def test_beat_schedule_is_static_crontab_and_every_entry_expires():
    app.loader.import_default_modules()  # register every app's tasks, as a worker does
    assert app.conf.beat_schedule, "no periodic tasks"
    for name, entry in app.conf.beat_schedule.items():
        assert isinstance(entry["schedule"], crontab), name
        assert entry["options"]["expires"] > 0, name
        assert entry["task"] in app.tasks, name


@pytest.mark.slow
def test_a_real_worker_runs_housekeeping(worker):
    old = Session.objects.create(session_key="x" * 32, session_data="",
                                 expire_date=timezone.now() - timedelta(days=1))
    live = Session.objects.create(session_key="y" * 32, session_data="",
                                  expire_date=timezone.now() + timedelta(days=1))
    cache.delete(HEARTBEAT_KEY)

    housekeeping.delay()

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            pytest.fail(f"worker exited with {worker.returncode}")
        if cache.get(HEARTBEAT_KEY) and not Session.objects.filter(pk=old.pk).exists():
            break
        time.sleep(0.2)
    else:
        pytest.fail("the worker did not run housekeeping within 60 s")
    assert Session.objects.filter(pk=live.pk).exists()


@pytest.mark.django_db
def test_housekeeping_is_idempotent():
    Session.objects.create(session_key="z" * 32, session_data="",
                           expire_date=timezone.now() - timedelta(days=1))
    first = housekeeping()
    second = housekeeping()
    assert first["expired_sessions"] == 1
    assert second["expired_sessions"] == 0

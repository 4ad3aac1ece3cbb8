"""The one Celery app. Configuration lives in settings (CELERY_*); the beat
schedule is static, in code, so exactly what runs is reviewed like code."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cat4.settings.dev")

app = Celery("cat4")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Every periodic entry expires, so a backlog after an outage does not replay
# a pile of identical runs.
app.conf.beat_schedule = {
    "housekeeping": {
        "task": "cat4.common.tasks.housekeeping",
        "schedule": crontab(minute="*/5"),
        "options": {"expires": 4 * 60},
    },
    "tenancy-lapse-invitations": {
        "task": "tenancy.lapse_invitations",
        "schedule": crontab(minute=12),
        "options": {"expires": 50 * 60},
    },
    "kpis-recompute-dirty": {
        "task": "kpis.recompute_dirty",
        "schedule": crontab(minute="*/3"),
        "options": {"expires": 2 * 60},
    },
    "governance-evaluate-escalations": {
        "task": "governance.evaluate_escalations",
        "schedule": crontab(minute=7),
        "options": {"expires": 50 * 60},
    },
    "kpis-recompute-all": {
        "task": "kpis.recompute_all",
        "schedule": crontab(hour=2, minute=30),
        "options": {"expires": 60 * 60},
    },
    "governance-send-reminders": {
        "task": "governance.send_reminders",
        "schedule": crontab(hour=6, minute=0),
        "options": {"expires": 3 * 60 * 60},
    },
    "governance-send-digests": {
        "task": "governance.send_digests",
        "schedule": crontab(hour=7, minute=0),
        "options": {"expires": 3 * 60 * 60},
    },
    "reporting-refresh-rollups": {
        "task": "reporting.refresh_rollups",
        "schedule": crontab(minute="*/5"),
        "options": {"expires": 4 * 60},
    },
}

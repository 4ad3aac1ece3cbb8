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
    "kpis-recompute-dirty": {
        "task": "kpis.recompute_dirty",
        "schedule": crontab(minute="*/3"),
        "options": {"expires": 2 * 60},
    },
    "kpis-recompute-all": {
        "task": "kpis.recompute_all",
        "schedule": crontab(hour=2, minute=30),
        "options": {"expires": 60 * 60},
    },
}

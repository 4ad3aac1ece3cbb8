"""manage.py run_job runs a periodic job on demand."""

import io

import pytest
from django.core.management import CommandError, call_command

from cat4.celery import app


@pytest.fixture(autouse=True)
def _empty_queue():
    yield
    app.control.purge()


def test_lists_the_beat_jobs():
    out = io.StringIO()
    call_command("run_job", "--list", stdout=out)
    assert "kpis.recompute_dirty" in out.getvalue()
    assert "cat4.common.tasks.housekeeping" in out.getvalue()


@pytest.mark.django_db
def test_runs_a_job_now():
    out = io.StringIO()
    call_command("run_job", "cat4.common.tasks.housekeeping", stdout=out)
    assert "housekeeping done" in out.getvalue()


def test_refuses_an_unknown_job():
    with pytest.raises(CommandError, match="No periodic job"):
        call_command("run_job", "os.system")

"""A real Celery worker process for integration tests: it consumes from the test
Redis and works on the test database (the ``worker`` fixture in tests/conftest.py
starts one; the test must use ``transactional_db`` so the worker sees its rows)."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection


def database_url_of_test_db() -> str:
    s = connection.settings_dict
    auth = quote(s["USER"] or "")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"])
    host = s.get("HOST") or ""
    if host.startswith("/"):
        return f"postgresql://{auth}@/{s['NAME']}?host={quote(host)}"
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgresql://{auth}@{host}{port}/{s['NAME']}"


@contextlib.contextmanager
def start_worker(name: str = "test"):
    env = {**os.environ, "DATABASE_URL": database_url_of_test_db(),
           "DJANGO_SETTINGS_MODULE": "cat4.settings.test"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "cat4", "worker", "--pool", "solo",
         "--loglevel", "WARNING", "--without-mingle", "--without-gossip",
         "--hostname", f"{name}-{os.getpid()}@%h"],
        env=env, cwd=settings.BASE_DIR, start_new_session=True,
    )
    try:
        yield proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def wait_for(worker, done, *, what: str, timeout: float = 60) -> None:
    """Poll ``done()`` until it is true; fail if the worker dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            pytest.fail(f"worker exited with {worker.returncode}")
        if done():
            return
        time.sleep(0.2)
    pytest.fail(f"the worker did not {what} within {timeout:.0f} s")

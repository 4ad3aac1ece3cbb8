"""Test settings: the real PostgreSQL and Redis, but fast hashing and in-memory email."""

import os
from urllib.parse import urlsplit, urlunsplit

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")


def _redis_url_of_worker(url: str, worker: str) -> str:
    """Each pytest-xdist worker (gw0, gw1, ...) gets Redis database 1, 2, ...: tests flush
    the cache between them and start Celery workers, which must not see another test
    process's keys or tasks. The same answer every time, so a Celery worker that a test
    starts (it inherits the environment) lands on its test's database."""
    if not worker.startswith("gw"):
        return url
    db = int(worker[2:]) + 1
    parts = urlsplit(url)
    if parts.scheme == "unix":  # unix:///path/redis.sock?db=N
        query = [p for p in parts.query.split("&") if p and not p.startswith("db=")]
        return f"unix://{parts.path}?{'&'.join([*query, f'db={db}'])}"
    return urlunsplit(parts._replace(path=f"/{db}"))  # redis://host:port/N


if os.environ.get("REDIS_URL"):
    os.environ["REDIS_URL"] = _redis_url_of_worker(os.environ["REDIS_URL"],
                                                   os.environ.get("PYTEST_XDIST_WORKER", ""))

from .base import *  # noqa: E402

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
CACHES["default"]["KEY_PREFIX"] = "cat4-test"
LOGGING["root"]["level"] = "WARNING"
WHITENOISE_USE_FINDERS = True  # serve static/ directly; no collectstatic needed
# Pages, API and jobs run in the organisation's time zone; the factories' organisations
# are in Europe/Berlin. Test code runs in the same zone, so its "today" is theirs at any
# hour (in UTC it would be a day behind between 23:00 and midnight).
TIME_ZONE = "Europe/Berlin"

# Uploaded files of the test run go to a throw-away directory.
import tempfile  # noqa: E402

MEDIA_ROOT = os.environ.get("CAT4_TEST_MEDIA_ROOT") or tempfile.mkdtemp(prefix="cat4-test-media-")
# Inherited by the Celery worker a test starts (tests/workers.py), so both see the same files.
os.environ["CAT4_TEST_MEDIA_ROOT"] = MEDIA_ROOT

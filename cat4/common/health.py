"""/healthz: is the database reachable, is Redis reachable? 503 when one is not."""

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .tasks import HEARTBEAT_KEY


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:  # any failure is reported, never raised
        return f"error: {exc.__class__.__name__}"


def check_redis() -> str:
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2,
                                      socket_timeout=2)
        client.ping()
        return "ok"
    except Exception as exc:  # any failure is reported, never raised
        return f"error: {exc.__class__.__name__}"


@never_cache
@require_GET
def healthz(request):
    checks = {"database": check_database(), "redis": check_redis()}
    healthy = all(value == "ok" for value in checks.values())
    body = {"status": "ok" if healthy else "unavailable", "checks": checks}
    if checks["redis"] == "ok":
        body["housekeeping_last_run"] = cache.get(HEARTBEAT_KEY)
    return JsonResponse(body, status=200 if healthy else 503)

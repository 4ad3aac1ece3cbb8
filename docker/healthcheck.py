"""Docker HEALTHCHECK of the web container: GET /healthz from the local gunicorn.

    python docker/healthcheck.py [HOST:PORT]      (default 127.0.0.1:8000)

Exit status 0 when /healthz answers 200, 1 otherwise: 503 when the database or
Redis is unreachable, or no answer at all.

The request does not pass through the TLS-terminating proxy, so it says what
that proxy says: `X-Forwarded-Proto: https` (otherwise the production settings
answer with a redirect to HTTPS) and a Host from ALLOWED_HOSTS (otherwise
Django answers 400). Standard library only; the image has no curl.
"""

from __future__ import annotations

import http.client
import os
import sys

DEFAULT_ADDRESS = "127.0.0.1:8000"
TIMEOUT_SECONDS = 8


def host_header(allowed_hosts: str) -> str:
    """A Host that Django accepts: the first concrete entry of ALLOWED_HOSTS.

    ".example.com" allows example.com itself; "*" allows anything. With
    ALLOWED_HOSTS unset the settings default includes localhost.
    """
    for entry in allowed_hosts.split(","):
        entry = entry.strip()
        if entry and entry != "*":
            return entry.lstrip(".")
    return "localhost"


def check(address: str = DEFAULT_ADDRESS, allowed_hosts: str | None = None) -> tuple[int, str]:
    """Return (exit status, one line for the Docker health log)."""
    if allowed_hosts is None:
        allowed_hosts = os.environ.get("ALLOWED_HOSTS", "")
    host, _, port = address.rpartition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT_SECONDS)
    try:
        conn.request("GET", "/healthz", headers={
            "Host": host_header(allowed_hosts),
            "X-Forwarded-Proto": "https",
            "Accept": "application/json",
        })
        response = conn.getresponse()
        body = response.read(2000).decode("utf-8", errors="replace")
    except OSError as exc:
        return 1, f"/healthz did not answer: {exc.__class__.__name__}: {exc}"
    finally:
        conn.close()
    return (0 if response.status == 200 else 1), f"/healthz {response.status} {body}"


def main(argv: list[str]) -> int:
    status, line = check(argv[0] if argv else DEFAULT_ADDRESS)
    print(line, flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

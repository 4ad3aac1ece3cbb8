"""PostgreSQL advisory locks, so that two workers running the same job for the same
organisation at once produce one effect: the second one skips."""

import contextlib
import zlib

from django.db import connection


def _keys(job: str, organization_id: int) -> tuple[int, int]:
    return zlib.crc32(job.encode()) & 0x7FFFFFFF, int(organization_id)


@contextlib.contextmanager
def try_org_job_lock(job: str, organization_id: int):
    """Yield True if this process holds the (job, organisation) lock, False if another does.

    A session lock: released on exit, and by PostgreSQL if the worker dies (its
    connection closes), so a crash never leaves the job locked.
    """
    keys = _keys(job, organization_id)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", keys)
        acquired = cursor.fetchone()[0]
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", keys)


def org_job_xact_lock(job: str, organization_id: int) -> None:
    """Wait for the (job, organisation) lock and hold it until the transaction ends.
    The same key as ``try_org_job_lock``: a session that holds that one gets this at once."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", _keys(job, organization_id))

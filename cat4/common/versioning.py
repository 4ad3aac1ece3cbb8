"""Optimistic locking of editable objects.

An editable object has an integer ``version`` column (1 when created) that goes up by
one with every change. Readers get it as an ETag (``"v3"``); a write names the version
it started from (``If-Match`` in the API, a hidden field on pages). The service locks
the row, compares, and refuses with StaleVersionError when someone saved in between,
so of two edits made from the same read one wins and the other writes nothing.
"""

import re
from collections.abc import Callable
from typing import TypeVar

from django.db.models import F, Model, QuerySet

from .exceptions import StaleVersionError

M = TypeVar("M", bound=Model)

ETAG = re.compile(r'(?:W/)?"v(\d+)"')


def etag(obj) -> str:
    """The object's version as an ETag: ``"v3"``."""
    return f'"v{obj.version}"'


def version_of_etag(value: str) -> int:
    """The version an ETag (strong or weak) names; -1 (never current) when it names none."""
    match = ETAG.fullmatch(value.strip())
    return int(match.group(1)) if match else -1


def check_version(obj, *, version: int | None, what: str) -> None:
    """Refuse a write made from a stale read of ``obj`` (a row locked by the caller).

    ``version`` is the one the editor read; None means the caller reads and writes in
    one transaction (the Excel import, demo data), so there is nothing to compare.
    ``what`` names the object in the message: "milestone", "KPI"."""
    if version is not None and version != obj.version:
        raise StaleVersionError(
            f"Someone else changed this {what} since you opened it. Your changes are not "
            "saved yet: review the current values and save again.")


def lock_version(queryset: QuerySet[M], *, pk, version: int | None, what: str) -> M | None:
    """The row ``pk`` of ``queryset``, locked until the transaction ends, after
    ``check_version``; None when there is no such row. Call inside the service's
    transaction, then save the change with ``save_new_version``."""
    obj = queryset.select_for_update(of=("self",)).filter(pk=pk).first()
    if obj is not None:
        check_version(obj, version=version, what=what)
    return obj


def save_new_version(obj: M, save: Callable[[], object] | None = None) -> M:
    """Save ``obj`` (with ``save``, or ``obj.save()``) with its version raised by one in
    the same UPDATE, and read the new version back."""
    obj.version = F("version") + 1
    (save or obj.save)()
    obj.refresh_from_db(fields=["version"])
    return obj


def bump_version(model: type[Model], *, pk) -> None:
    """Raise the version of a row whose own columns did not change but whose parts did
    (an impact line's values, a KPI's planned series)."""
    model.objects.filter(pk=pk).update(version=F("version") + 1)


def posted_version(value: str | None) -> int:
    """The version a page posted in a hidden field; 0 (never current) when it is missing
    or not a number, so a form without it is refused as stale."""
    try:
        return int(value or "")
    except ValueError:
        return 0

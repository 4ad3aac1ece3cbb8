"""What the reads of the audit history share: the moments they compare, the filters as
SQL conditions, and running one raw statement."""

from dataclasses import asdict, is_dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.db import connection
from django.utils import timezone

from cat4.tenancy.models import Organization

FILTER_KEYS = ("portfolio", "program", "business_unit", "owner")


def moment_at(organization: Organization, day: date) -> datetime:
    """Midnight at the start of ``day`` in the organisation's time zone."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(organization.time_zone))


def local_today(organization: Organization) -> date:
    return timezone.localdate(timezone=ZoneInfo(organization.time_zone))


def clean_filters(filters) -> dict[str, int]:
    """Accepts a dict or the dashboard's ``DashboardFilters``; keeps the four structural
    filters with a value, as ints for the SQL (ids already resolved inside the
    organisation by the filter sets of ``reporting.filters`` or by the board pack's
    ``clean_filters``)."""
    if filters is None:
        return {}
    if is_dataclass(filters):
        filters = asdict(filters)
    out = {}
    for key in FILTER_KEYS:
        value = filters.get(key)
        if value not in (None, ""):
            out[key] = int(getattr(value, "pk", value))
    return out


def filter_sql(filters: dict[str, int], alias: str) -> tuple[str, dict]:
    """Conditions on an initiative-shaped row ``alias`` (program_id, business_unit_id,
    owner_id) and its program ``{alias}_pr`` (portfolio_id)."""
    parts, params = [], {}
    column = {"portfolio": f"{alias}_pr.portfolio_id", "program": f"{alias}.program_id",
              "business_unit": f"{alias}.business_unit_id", "owner": f"{alias}.owner_id"}
    for key, value in filters.items():
        parts.append(f"{column[key]} = %(f_{key})s")
        params[f"f_{key}"] = value
    return "".join(f" AND {p}" for p in parts), params


def fetch(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()

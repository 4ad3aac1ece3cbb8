"""Impact lines and their monthly planned, forecast and actual values."""

from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from django.db import transaction

from cat4.common.amounts import parse_amount
from cat4.common.exceptions import ApplicationError, NotFoundError
from cat4.common.months import month_range
from cat4.common.versioning import bump_version, lock_version
from cat4.tenancy.models import Membership
from cat4.tenancy.scoping import acting_in_org

from .. import permissions
from ..models import (
    ImpactCategory,
    ImpactLine,
    Initiative,
    MonthlyValue,
    ValueKind,
)
from .base import (
    _editable_initiative,
    _locked_initiative,
    _require,
    value_settings_for,
)


@acting_in_org
@transaction.atomic
def impact_line_create(*, membership: Membership, initiative_id, category: str,
                       description: str, recurring: bool = True,
                       ebit_relevant: bool = True) -> ImpactLine:
    initiative = _editable_initiative(membership, initiative_id)
    if category not in ImpactCategory.values:
        raise ApplicationError("Choose a category.", field="category")
    description = (description or "").strip()
    if not description:
        raise ApplicationError("Describe the line, e.g. “Freight rate renegotiation”.",
                               field="description")
    return ImpactLine.objects.create(
        organization=initiative.organization, initiative=initiative, category=category,
        description=description, recurring=bool(recurring), ebit_relevant=bool(ebit_relevant))


def _parse_amount(raw, month: date) -> Decimal | None:
    """A cell's amount; None or blank clears the month (None)."""
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return None
    return parse_amount(raw, field=f"values.{month:%Y-%m}")


def parse_values(*, initiative: Initiative, values: Mapping[date, object]
                 ) -> dict[date, Decimal | None]:
    """Check months (first of the month, inside the initiative's range) and amounts;
    None means "clear this month". Raises on the first bad cell, naming it."""
    horizon = set(month_range(initiative.start_date, initiative.target_date))
    parsed: dict[date, Decimal | None] = {}
    for month, raw in values.items():
        if not isinstance(month, date):
            raise ApplicationError("Months are given as dates.", field="values")
        if month.day != 1:
            raise ApplicationError("Months are given as the first day of the month.",
                                   field=f"values.{month:%Y-%m}")
        if month not in horizon:
            raise ApplicationError(
                f"{month:%b %Y} is outside the initiative's range "
                f"({initiative.start_date:%b %Y} to {initiative.target_date:%b %Y}).",
                field=f"values.{month:%Y-%m}")
        parsed[month] = _parse_amount(raw, month)
    return parsed


def write_values(*, line: ImpactLine, kind: str, parsed: Mapping[date, Decimal | None]
                 ) -> list[MonthlyValue]:
    """Write already checked cells, raising the line's version when a cell changes.
    Callers hold the initiative's row lock and have checked permission and stage
    (monthly_values_set, or an approved re-baseline)."""
    stored = dict(MonthlyValue.objects.filter(line=line, kind=kind, month__in=list(parsed))
                  .values_list("month", "amount"))
    if any(stored.get(month) != amount for month, amount in parsed.items()):
        bump_version(ImpactLine, pk=line.pk)
    cleared = [m for m, a in parsed.items() if a is None]
    MonthlyValue.objects.filter(line=line, kind=kind, month__in=cleared).delete()
    written = []
    for month, amount in sorted((m, a) for m, a in parsed.items() if a is not None):
        value, _ = MonthlyValue.objects.update_or_create(
            organization=line.organization, line=line, kind=kind,
            month=month, defaults={"amount": amount})
        written.append(value)
    return written


@acting_in_org
@transaction.atomic
def monthly_values_set(*, membership: Membership, line_id, kind: str,
                       values: Mapping[date, object], version: int | None = None
                       ) -> list[MonthlyValue]:
    """Set (or clear, with None / "") the ``kind`` amounts of a line for some months.

    All or nothing: one bad cell refuses the whole change, naming the cell. ``version``
    is the line's version the editor read: if its values (or the line) changed since,
    nothing is written and StaleVersionError says so.
    """
    org = membership.organization
    line = ImpactLine.objects.filter(organization=org, pk=line_id).first()
    if line is None:
        raise NotFoundError("No such impact line.")
    initiative = _locked_initiative(org, line.initiative_id)
    if kind not in ValueKind.values:
        raise ApplicationError("Choose planned, forecast or actual.", field="kind")
    settings = value_settings_for(org)
    _require(permissions.can_edit_values(membership=membership, initiative=initiative,
                                         kind=kind, actuals_entry=settings.actuals_entry),
             "Your role does not allow entering these values.")
    editable, why = permissions.value_kind_editable(initiative=initiative, kind=kind)
    if not editable:
        raise ApplicationError(why, field="kind", status_code=409)
    lock_version(ImpactLine.objects.filter(organization=org), pk=line.pk, version=version,
                 what="impact line")
    parsed = parse_values(initiative=initiative, values=values)
    written = write_values(line=line, kind=kind, parsed=parsed)
    if kind == ValueKind.ACTUAL and initiative.value_validated_at is not None:
        # New actuals void an earlier validation: the controller validates again.
        Initiative.objects.filter(pk=initiative.pk).update(value_validated_at=None,
                                                           value_validated_by=None)
    return written

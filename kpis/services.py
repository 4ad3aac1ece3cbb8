"""Every write to KPIs. Changes that affect a KPI's variance mark it dirty in the
same transaction, so the frequent recompute job picks it up."""

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from cat4.common.amounts import AmountRules, parse_amount
from cat4.common.exceptions import ApplicationError, NotFoundError, PermissionDeniedError
from cat4.common.exceptions import StaleVersionError as StaleVersionError
from cat4.common.rag import Thresholds
from cat4.common.resolvers import object_in_org
from cat4.common.versioning import bump_version, lock_version, save_new_version
from cat4.tenancy.models import Membership, Organization, Role, User
from cat4.tenancy.scoping import acting_in_org
from cat4.tenancy.selectors import member_by_user
from initiatives.models import Initiative, StrategicObjective
from initiatives.selectors import thresholds_for

from . import permissions
from .calculations import KpiSpec, kpi_rag, period_label, period_start, periods_between, variance
from .models import Direction, Frequency, Kpi, KpiLink, KpiPlanPoint, KpiReading, KpiSnapshot

# KPI values, weights and thresholds: any sign, at most 14 digits and 4 decimal places.
KPI_NUMBER = AmountRules(
    places=4,
    not_text="Give the number as text, e.g. 41.5.",
    not_a_number="“{raw}” is not a number.",
    not_finite="Use at most 14 digits before and 4 after the point.",
    too_large="Use at most 14 digits before and 4 after the point.",
    too_precise="Use at most 4 decimal places.",
)


def mark_dirty(kpi_ids) -> int:
    """Queue KPIs for the recompute job; the oldest dirt keeps its time."""
    return Kpi.objects.filter(pk__in=list(kpi_ids)).update(
        needs_recompute=True, dirty_since=Coalesce(F("dirty_since"), timezone.now()))


def _decimal(raw, *, field: str) -> Decimal:
    return parse_amount(raw, field=field, rules=KPI_NUMBER)


def _member(org: Organization, user, *, field: str) -> User:
    membership = member_by_user(organization=org, user=user)
    if membership is None or membership.role == Role.VIEWER:
        raise ApplicationError("Choose a member of this organisation (not a viewer).",
                               field=field)
    return membership.user


def _clean(org: Organization, values: dict) -> dict:
    cleaned = {}
    if "name" in values:
        name = (values["name"] or "").strip()
        if not name:
            raise ApplicationError("Name the KPI.", field="name")
        cleaned["name"] = name
    if "description" in values:
        cleaned["description"] = values["description"] or ""
    if "unit" in values:
        unit = (values["unit"] or "").strip()
        if not unit:
            raise ApplicationError("Give the unit, e.g. %, days or EUR.", field="unit")
        cleaned["unit"] = unit
    if "direction" in values:
        if values["direction"] not in Direction.values:
            raise ApplicationError("Choose whether higher or lower is better.",
                                   field="direction")
        cleaned["direction"] = values["direction"]
    if "frequency" in values:
        if values["frequency"] not in Frequency.values:
            raise ApplicationError("Choose weekly, monthly or quarterly.", field="frequency")
        cleaned["frequency"] = values["frequency"]
    for field in ("baseline", "target"):
        if field in values:
            cleaned[field] = _decimal(values[field], field=field)
    for field in ("baseline_date", "target_date"):
        if field in values:
            if not isinstance(values[field], date):
                raise ApplicationError("Enter a date.", field=field)
            cleaned[field] = values[field]
    if "owner" in values:
        cleaned["owner"] = _member(org, values["owner"], field="owner")
    for field in ("green_at", "red_below"):
        if field in values:
            raw = values[field]
            if raw in (None, ""):
                cleaned[field] = None
            else:
                share = _decimal(raw, field=field)
                if not Decimal("0") < share <= Decimal("1"):
                    raise ApplicationError("Give a share above 0 and at most 1 (e.g. 0.95).",
                                           field=field)
                cleaned[field] = share
    return cleaned


def _check(kpi: Kpi) -> None:
    if kpi.target_date <= kpi.baseline_date:
        raise ApplicationError("The target date must be after the baseline date.",
                               field="target_date")
    if (kpi.green_at is None) != (kpi.red_below is None):
        raise ApplicationError("Give both thresholds, or neither to use the organisation's.",
                               field="red_below")
    if kpi.green_at is not None and kpi.red_below > kpi.green_at:
        raise ApplicationError("Red must start below where green starts.", field="red_below")


def _save(kpi: Kpi) -> None:
    try:
        with transaction.atomic():
            kpi.save()
    except IntegrityError as exc:
        if "kpis_kpi_unique_name" in str(exc):
            raise ApplicationError(f"A KPI named “{kpi.name}” already exists.",
                                   field="name") from exc
        raise


@acting_in_org
@transaction.atomic
def kpi_create(*, membership: Membership, name: str, unit: str, direction: str, baseline,
               baseline_date: date, target, target_date: date, owner,
               frequency: str = Frequency.MONTHLY, description: str = "", green_at=None,
               red_below=None) -> Kpi:
    if not permissions.can_manage_kpis(membership=membership):
        raise PermissionDeniedError("Only admins and executives define KPIs.")
    org = membership.organization
    kpi = Kpi(organization=org, needs_recompute=True, dirty_since=timezone.now(),
              **_clean(org, {
                  "name": name, "unit": unit, "direction": direction, "baseline": baseline,
                  "baseline_date": baseline_date, "target": target, "target_date": target_date,
                  "owner": owner, "frequency": frequency, "description": description,
                  "green_at": green_at, "red_below": red_below}))
    _check(kpi)
    _save(kpi)
    return kpi


@acting_in_org
@transaction.atomic
def kpi_update(*, membership: Membership, kpi_id, version: int | None = None,
               **changes) -> Kpi:
    """Change a KPI's definition. ``version`` is the one the editor read: if someone
    saved in between (the definition or the plan), nothing is written and
    StaleVersionError says so."""
    if not permissions.can_manage_kpis(membership=membership):
        raise PermissionDeniedError("Only admins and executives change KPI definitions.")
    kpi = lock_version(Kpi.objects.filter(organization=membership.organization), pk=kpi_id,
                       version=version, what="KPI")
    if kpi is None:
        raise NotFoundError("No such KPI.")
    allowed = {"name", "description", "unit", "direction", "baseline", "baseline_date",
               "target", "target_date", "frequency", "owner", "green_at", "red_below"}
    unknown = set(changes) - allowed
    if unknown:
        raise ApplicationError(f"Unknown field(s): {', '.join(sorted(unknown))}.")
    for field, value in _clean(membership.organization, changes).items():
        setattr(kpi, field, value)
    _check(kpi)
    save_new_version(kpi, lambda: _save(kpi))
    mark_dirty([kpi.pk])
    return kpi


@acting_in_org
@transaction.atomic
def kpi_link(*, membership: Membership, kpi_id, initiative=None, objective=None,
             weight="1") -> KpiLink:
    """Link a KPI to an initiative or a strategic objective of the same organisation."""
    if not permissions.can_manage_kpis(membership=membership):
        raise PermissionDeniedError("Only admins and executives link KPIs.")
    org = membership.organization
    kpi = Kpi.objects.filter(organization=org, pk=kpi_id).first()
    if kpi is None:
        raise NotFoundError("No such KPI.")
    if (initiative is None) == (objective is None):
        raise ApplicationError("Link to one initiative or one objective.", field="initiative")
    weight = _decimal(weight, field="weight")
    if weight <= 0:
        raise ApplicationError("The weight must be above 0.", field="weight")
    target = {}
    if initiative is not None:
        found = object_in_org(Initiative, organization=org, ref=initiative)
        if found is None:
            raise ApplicationError("Choose an initiative of this organisation.",
                                   field="initiative")
        target["initiative"] = found
    else:
        found = object_in_org(StrategicObjective, organization=org, ref=objective)
        if found is None:
            raise ApplicationError("Choose an objective of this organisation.",
                                   field="objective")
        target["objective"] = found
    # Linking again changes the weight: a new version of the link.
    link, created = KpiLink.objects.update_or_create(
        organization=org, kpi=kpi, **target, create_defaults={"weight": weight},
        defaults={"weight": weight, "version": F("version") + 1})
    if not created:
        link.refresh_from_db(fields=["version"])
    return link


@acting_in_org
@transaction.atomic
def kpi_unlink(*, membership: Membership, link_id, version: int | None = None) -> KpiLink:
    """Remove one link of a KPI to an initiative or objective (of the membership's
    organisation; any other id is NotFoundError), unless someone changed it since
    ``version`` was read. Returns the removed link."""
    if not permissions.can_manage_kpis(membership=membership):
        raise PermissionDeniedError("Only admins and executives link KPIs.")
    link = lock_version(KpiLink.objects.filter(organization=membership.organization),
                        pk=link_id, version=version, what="link")
    if link is None:
        raise NotFoundError("No such link.")
    link.delete()  # clears its pk only: kpi_id still says which KPI it served
    return link


def plan_periods(kpi: Kpi) -> list[date]:
    """The periods a KPI may have a planned value for: from the period of its baseline
    date to the period of its target date."""
    return periods_between(kpi.baseline_date, kpi.target_date, kpi.frequency)


def _plan_period(kpi: Kpi, period, periods: set[date], existing: set[date]) -> date:
    if not isinstance(period, date):
        raise ApplicationError("Enter the period as a date.", field="points")
    field = f"points.{period:%Y-%m-%d}"
    if period in existing:  # an existing planned value may always be cleared (see below)
        return period
    _check_period_start(kpi, period, field=field)
    if period not in periods:
        first, last = min(periods), max(periods)
        raise ApplicationError(
            f"{period_label(period, kpi.frequency)} is outside the KPI's periods "
            f"({period_label(first, kpi.frequency)} to {period_label(last, kpi.frequency)}, "
            f"from the baseline date to the target date).", field=field)
    return period


@acting_in_org
@transaction.atomic
def kpi_plan_set(*, membership: Membership, kpi_id, points: dict,
                 version: int | None = None) -> list[KpiPlanPoint]:
    """Set (or clear, with None or "") the planned value of some periods of a KPI.

    Each period is the start of a period of the KPI's frequency, from its baseline date
    to its target date (a planned value left outside that range by a changed definition
    may still be cleared). All or nothing: one bad point refuses the whole change,
    naming it (``points.2026-03-01``). Marks the KPI dirty and, when a value changes,
    raises the KPI's version; ``version`` is the one the editor read (StaleVersionError
    when someone saved in between). Returns the KPI's planned points after the change."""
    if not permissions.can_manage_kpis(membership=membership):
        raise PermissionDeniedError("Only admins and executives plan KPIs.")
    kpi = lock_version(Kpi.objects.filter(organization=membership.organization), pk=kpi_id,
                       version=version, what="KPI")
    if kpi is None:
        raise NotFoundError("No such KPI.")
    periods = set(plan_periods(kpi))
    stored = dict(KpiPlanPoint.objects.filter(kpi=kpi).values_list("period", "value"))
    existing = set(stored)
    parsed: dict[date, Decimal | None] = {}
    for period, raw in points.items():
        period = _plan_period(kpi, period, periods, existing)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            parsed[period] = None
            continue
        if period not in periods:
            raise ApplicationError(
                "This period is outside the KPI's periods now; it can only be cleared.",
                field=f"points.{period:%Y-%m-%d}")
        parsed[period] = _decimal(raw, field=f"points.{period:%Y-%m-%d}")
    if any(stored.get(period) != value for period, value in parsed.items()):
        bump_version(Kpi, pk=kpi.pk)
    cleared = [p for p, v in parsed.items() if v is None]
    KpiPlanPoint.objects.filter(kpi=kpi, period__in=cleared).delete()
    for period, value in sorted((p, v) for p, v in parsed.items() if v is not None):
        KpiPlanPoint.objects.update_or_create(organization=kpi.organization, kpi=kpi,
                                              period=period, defaults={"value": value})
    if parsed:
        mark_dirty([kpi.pk])
    return list(KpiPlanPoint.objects.filter(kpi=kpi).order_by("period"))


def _check_period_start(kpi: Kpi, period: date, *, field: str) -> None:
    """A period is named by its first day (Monday, 1st of the month or quarter)."""
    expected = period_start(period, kpi.frequency)
    if expected != period:
        raise ApplicationError(
            f"{kpi.get_frequency_display()} periods start on {expected:%Y-%m-%d}, not "
            f"{period:%Y-%m-%d}.", field=field)


def _check_period(kpi: Kpi, period) -> date:
    if not isinstance(period, date):
        raise ApplicationError("Enter the period as a date.", field="period")
    _check_period_start(kpi, period, field="period")
    if period > timezone.localdate():
        raise ApplicationError("That period has not started yet.", field="period")
    return period


@acting_in_org
@transaction.atomic
def reading_record(*, membership: Membership, kpi_id, period: date, value,
                   comment: str = "") -> KpiReading:
    """Enter (or correct) the reading of one period. A correction keeps the old value
    in the audit history."""
    kpi = Kpi.objects.select_for_update().filter(organization=membership.organization,
                                                 pk=kpi_id).first()
    if kpi is None:
        raise NotFoundError("No such KPI.")
    if not permissions.can_record_reading(membership=membership, kpi=kpi):
        raise PermissionDeniedError("Only the KPI's owner or an admin enters readings.")
    reading, _ = KpiReading.objects.update_or_create(
        organization=kpi.organization, kpi=kpi, period=_check_period(kpi, period),
        defaults={"value": _decimal(value, field="value"),
                  "comment": (comment or "").strip(), "entered_by": membership.user})
    mark_dirty([kpi.pk])
    return reading


@dataclass(frozen=True)
class RowError:
    row: int  # 1 = the header line
    column: str
    message: str


class CsvImportError(ApplicationError):
    """The upload was refused; ``errors`` says which row and column, and why."""

    def __init__(self, errors: list[RowError]):
        super().__init__(f"{len(errors)} problem(s) in the file; nothing was imported.",
                         field="file")
        self.errors = errors


MAX_CSV_ROWS = 5000


@acting_in_org
@transaction.atomic
def readings_import_csv(*, membership: Membership, kpi_id, text: str) -> int:
    """Import ``period,value[,comment]`` rows for one KPI. All or nothing: any bad row
    refuses the file with a row-level report. Returns how many readings were written."""
    kpi = Kpi.objects.filter(organization=membership.organization, pk=kpi_id).first()
    if kpi is None:
        raise NotFoundError("No such KPI.")
    if not permissions.can_record_reading(membership=membership, kpi=kpi):
        raise PermissionDeniedError("Only the KPI's owner or an admin enters readings.")
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if "period" not in header or "value" not in header:
        raise CsvImportError([RowError(1, "header", "The first line must name the columns "
                                                    "period and value (comment is optional).")])
    reader.fieldnames = header
    errors: list[RowError] = []
    rows: dict[date, tuple[Decimal, str]] = {}
    for number, row in enumerate(reader, start=2):
        if number > MAX_CSV_ROWS + 1:
            errors.append(RowError(number, "file", f"At most {MAX_CSV_ROWS} rows."))
            break
        raw_period = (row.get("period") or "").strip()
        try:
            period = _check_period(kpi, date.fromisoformat(raw_period))
        except ValueError:
            errors.append(RowError(number, "period", f"“{raw_period}” is not a date like "
                                                      "2026-03-01."))
            continue
        except ApplicationError as exc:
            errors.append(RowError(number, "period", exc.message))
            continue
        try:
            value = _decimal(row.get("value") or "", field="value")
        except ApplicationError as exc:
            errors.append(RowError(number, "value", exc.message))
            continue
        if period in rows:
            errors.append(RowError(number, "period", f"{period} appears twice in the file."))
            continue
        rows[period] = (value, (row.get("comment") or "").strip())
    if errors:
        raise CsvImportError(errors)
    if not rows:
        raise CsvImportError([RowError(2, "file", "The file has no readings.")])
    for period, (value, comment) in rows.items():
        KpiReading.objects.update_or_create(
            organization=kpi.organization, kpi=kpi, period=period,
            defaults={"value": value, "comment": comment, "entered_by": membership.user})
    mark_dirty([kpi.pk])
    return len(rows)


# --- Recompute (called by the jobs in kpis/tasks.py) --------------------------------

PERFORMANCE_LIMIT = Decimal("99999999.9999")


def _thresholds(kpi: Kpi) -> Thresholds:
    if kpi.green_at is not None:
        return Thresholds(green_at=kpi.green_at, red_below=kpi.red_below)
    return thresholds_for(kpi.organization)


def spec_of(kpi: Kpi) -> KpiSpec:
    return KpiSpec(unit=kpi.unit, direction=kpi.direction, baseline=kpi.baseline,
                   baseline_date=kpi.baseline_date, target=kpi.target,
                   target_date=kpi.target_date, frequency=kpi.frequency,
                   planned={p.period: p.value for p in kpi.plan_points.all()})


@transaction.atomic
def kpi_recompute(*, kpi_id) -> int:
    """Recompute every snapshot of one KPI from its definition and readings, and clear
    its dirty flag. Idempotent: the same inputs give the same rows. Returns how many
    snapshots the KPI has. The KPI row is locked, so a reading entered meanwhile waits
    and marks it dirty again afterwards."""
    kpi = Kpi.objects.select_for_update().select_related("organization").filter(
        pk=kpi_id).first()
    if kpi is None:
        return 0
    spec = spec_of(kpi)
    thresholds = _thresholds(kpi)
    now = timezone.now()
    snapshots = []
    for reading in kpi.readings.all():
        result = variance(spec, reading.period, reading.value)
        rag = kpi_rag(spec, reading.period, reading.value, thresholds=thresholds)
        performance = max(-PERFORMANCE_LIMIT, min(PERFORMANCE_LIMIT, result.performance))
        snapshots.append(KpiSnapshot(
            organization=kpi.organization, kpi=kpi, period=reading.period,
            expected=result.expected, actual=result.actual, variance=result.variance,
            performance=performance, rag=rag.colour, explanation=rag.explanation,
            computed_at=now))
    KpiSnapshot.objects.bulk_create(
        snapshots, update_conflicts=True, unique_fields=["kpi", "period"],
        update_fields=["expected", "actual", "variance", "performance", "rag", "explanation",
                       "computed_at"])
    KpiSnapshot.objects.filter(kpi=kpi).exclude(
        period__in=[s.period for s in snapshots]).delete()
    Kpi.objects.filter(pk=kpi.pk).update(needs_recompute=False, dirty_since=None)
    return len(snapshots)

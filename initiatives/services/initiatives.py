"""Initiatives: create and change their details."""

from datetime import date

from django.db import IntegrityError, transaction

from cat4.common.exceptions import ApplicationError
from cat4.common.versioning import check_version, save_new_version
from cat4.tenancy.models import Membership, Organization, Role
from cat4.tenancy.scoping import acting_in_org

from .. import permissions
from ..models import (
    BusinessUnit,
    Cadence,
    Function,
    Initiative,
    InitiativeObjective,
    Program,
    StrategicObjective,
)
from .base import (
    _in_org,
    _locked_initiative,
    _member,
    _require,
    _role_of,
)

FIELDS = ("code", "title", "description", "program", "owner", "sponsor", "controller",
          "business_unit", "function", "start_date", "target_date", "update_cadence_days")


def _clean_initiative_fields(org: Organization, values: dict) -> dict:
    cleaned = {}
    if "code" in values:
        code = (values["code"] or "").strip()
        if not code:
            raise ApplicationError("Give the initiative a code, e.g. NW-042.", field="code")
        cleaned["code"] = code
    if "title" in values:
        title = (values["title"] or "").strip()
        if not title:
            raise ApplicationError("Give the initiative a title.", field="title")
        cleaned["title"] = title
    if "description" in values:
        cleaned["description"] = values["description"] or ""
    if "program" in values:
        cleaned["program"] = _in_org(Program, org, values["program"], field="program",
                                     required=True)
    for field, required in (("owner", True), ("sponsor", False), ("controller", False)):
        if field in values:
            cleaned[field] = _member(org, values[field], field=field, required=required)
    if cleaned.get("sponsor") is not None and _role_of(org, cleaned["sponsor"]) == Role.VIEWER:
        raise ApplicationError("A viewer cannot sponsor an initiative: sponsors approve gates.",
                               field="sponsor")
    if (cleaned.get("controller") is not None
            and _role_of(org, cleaned["controller"]) != Role.CONTROLLER):
        raise ApplicationError("Choose a member with the controller role.", field="controller")
    if "business_unit" in values:
        cleaned["business_unit"] = _in_org(BusinessUnit, org, values["business_unit"],
                                           field="business_unit", required=False)
    if "function" in values:
        cleaned["function"] = _in_org(Function, org, values["function"], field="function",
                                      required=False)
    for field in ("start_date", "target_date"):
        if field in values:
            if not isinstance(values[field], date):
                raise ApplicationError("Enter a date.", field=field)
            cleaned[field] = values[field]
    if "update_cadence_days" in values:
        cadence = values["update_cadence_days"]
        if isinstance(cadence, bool) or cadence not in Cadence.values:
            choices = ", ".join(f"{c.value} ({c.label.lower()})" for c in Cadence)
            raise ApplicationError(f"Choose an update cadence: {choices}.",
                                   field="update_cadence_days")
        cleaned["update_cadence_days"] = int(cadence)
    return cleaned


def _check_dates(initiative: Initiative) -> None:
    if initiative.target_date < initiative.start_date:
        raise ApplicationError("The target date must not be before the start date.",
                               field="target_date")


def initiative_fields_check(*, organization: Organization, values: dict) -> dict:
    """The field checks initiative_create / initiative_update run, without writing (dry
    runs such as the Excel import). Checks only the fields given; raises ApplicationError
    naming the field, or returns the cleaned values."""
    cleaned = _clean_initiative_fields(organization, values)
    if "start_date" in cleaned and "target_date" in cleaned:
        _check_dates(Initiative(start_date=cleaned["start_date"],
                                target_date=cleaned["target_date"]))
    return cleaned


def _set_objectives(initiative: Initiative, objectives) -> None:
    org = initiative.organization
    wanted = [_in_org(StrategicObjective, org, o, field="objectives", required=True)
              for o in objectives]
    InitiativeObjective.objects.filter(initiative=initiative).exclude(
        objective__in=wanted).delete()
    for objective in wanted:
        InitiativeObjective.objects.get_or_create(organization=org, initiative=initiative,
                                                  objective=objective)


def _save_unique_code(initiative: Initiative) -> None:
    try:
        with transaction.atomic():
            initiative.save()
    except IntegrityError as exc:
        if "initiatives_initiative_unique_code" in str(exc):
            raise ApplicationError(f"The code {initiative.code} is already used in this "
                                   "organisation.", field="code") from exc
        raise


@acting_in_org
@transaction.atomic
def initiative_create(*, membership: Membership, code: str, title: str, program,
                      owner, start_date: date, target_date: date, description: str = "",
                      sponsor=None, controller=None, business_unit=None, function=None,
                      objectives=(), update_cadence_days: int = Cadence.MONTHLY) -> Initiative:
    _require(permissions.can_create_initiative(membership=membership),
             "Only admins and owners create initiatives.")
    org = membership.organization
    values = _clean_initiative_fields(org, {
        "code": code, "title": title, "description": description, "program": program,
        "owner": owner, "sponsor": sponsor, "controller": controller,
        "business_unit": business_unit, "function": function, "start_date": start_date,
        "target_date": target_date, "update_cadence_days": update_cadence_days})
    if membership.role != "admin" and values["owner"].pk != membership.user_id:
        raise ApplicationError("Owners create initiatives that they own themselves.",
                               field="owner")
    initiative = Initiative(organization=org, **values)
    _check_dates(initiative)
    _save_unique_code(initiative)
    _set_objectives(initiative, objectives)
    return initiative


@acting_in_org
@transaction.atomic
def initiative_update(*, membership: Membership, initiative_id, version: int,
                      objectives=None, **changes) -> Initiative:
    """Change an initiative's details. ``version`` is the one the editor read:
    if someone saved in between, nothing is written and StaleVersionError says so."""
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise ApplicationError(f"Unknown field(s): {', '.join(sorted(unknown))}.")
    org = membership.organization
    initiative = _locked_initiative(org, initiative_id)
    permissions.require_edit(membership=membership, initiative=initiative)
    check_version(initiative, version=version, what="initiative")
    values = _clean_initiative_fields(org, changes)
    if ("owner" in values and membership.role != "admin"
            and values["owner"].pk != initiative.owner_id):
        raise ApplicationError("Only an admin can hand an initiative to another owner.",
                               field="owner")
    for field, value in values.items():
        setattr(initiative, field, value)
    _check_dates(initiative)
    save_new_version(initiative, lambda: _save_unique_code(initiative))
    if objectives is not None:
        _set_objectives(initiative, objectives)
    initiative.refresh_from_db()
    return initiative

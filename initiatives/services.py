"""Every write to initiatives and what hangs off them.

Each service takes the acting ``membership``, checks permission, validates
every id against the organisation, runs in one transaction, and raises
ApplicationError (with the field it concerns) when a rule refuses. History is
recorded by the pghistory triggers; stage changes live in governance.
"""

from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import F, ProtectedError

from cat4.common.exceptions import ApplicationError, NotFoundError, PermissionDeniedError
from cat4.tenancy.models import Membership, Organization, Role, User
from cat4.tenancy.scoping import acting_in_org

from . import permissions
from .calculations import month_range
from .models import (
    ActualsEntry,
    BusinessUnit,
    Cadence,
    Confidence,
    Dependency,
    Function,
    ImpactCategory,
    ImpactLine,
    Initiative,
    InitiativeObjective,
    Milestone,
    MonthlyValue,
    Portfolio,
    Program,
    Risk,
    RiskStatus,
    StatusUpdate,
    StrategicObjective,
    ValueKind,
    ValueSettings,
)

MAX_AMOUNT = Decimal("99999999999999.99")


class ConflictError(ApplicationError):
    status_code = 409


class StaleVersionError(ApplicationError):
    """Someone else saved the initiative since this form or request read it."""

    status_code = 412


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDeniedError(message)


def _member(organization: Organization, user_or_id, *, field: str, required: bool) -> User | None:
    """Resolve a person named in a field; they must be a member of the organisation."""
    if user_or_id in (None, ""):
        if required:
            raise ApplicationError("Choose a person.", field=field)
        return None
    user_id = user_or_id.pk if isinstance(user_or_id, User) else user_or_id
    membership = (Membership.objects.filter(organization=organization, user_id=user_id)
                  .select_related("user").first())
    if membership is None:
        raise ApplicationError("Choose a member of this organisation.", field=field)
    return membership.user


def _role_of(organization: Organization, user: User) -> str | None:
    return (Membership.objects.filter(organization=organization, user=user)
            .values_list("role", flat=True).first())


def _in_org(model, organization: Organization, obj_or_id, *, field: str, required: bool):
    if obj_or_id in (None, ""):
        if required:
            raise ApplicationError("This field is required.", field=field)
        return None
    pk = obj_or_id.pk if hasattr(obj_or_id, "pk") else obj_or_id
    obj = model.objects.filter(organization=organization, pk=pk).first()
    if obj is None:
        raise ApplicationError(f"Choose a {model._meta.verbose_name} of this organisation.",
                               field=field)
    return obj


def _locked_initiative(organization: Organization, initiative_id) -> Initiative:
    initiative = (Initiative.objects.select_for_update(of=("self",))
                  .filter(organization=organization, pk=initiative_id).first())
    if initiative is None:
        raise NotFoundError("No such initiative.")
    return initiative


def value_settings_for(organization: Organization) -> ValueSettings:
    """The organisation's value rules, or the defaults (unsaved) if it has none yet."""
    return (ValueSettings.objects.filter(organization=organization).first()
            or ValueSettings(organization=organization))


# --- Initiatives -------------------------------------------------------------

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
    if version != initiative.version:
        raise StaleVersionError(
            "Someone else changed this initiative since you opened it. Your changes are not "
            "saved yet: review the current values and save again.")
    values = _clean_initiative_fields(org, changes)
    if ("owner" in values and membership.role != "admin"
            and values["owner"].pk != initiative.owner_id):
        raise ApplicationError("Only an admin can hand an initiative to another owner.",
                               field="owner")
    for field, value in values.items():
        setattr(initiative, field, value)
    _check_dates(initiative)
    initiative.version = F("version") + 1
    _save_unique_code(initiative)
    if objectives is not None:
        _set_objectives(initiative, objectives)
    initiative.refresh_from_db()
    return initiative


# --- Milestones --------------------------------------------------------------


def _editable_initiative(membership: Membership, initiative_id) -> Initiative:
    initiative = _locked_initiative(membership.organization, initiative_id)
    permissions.require_edit(membership=membership, initiative=initiative)
    return initiative


def _clean_milestone(*, title, due_date, done_date, weight, waived, waiver_reason) -> dict:
    title = (title or "").strip()
    if not title:
        raise ApplicationError("Give the milestone a title.", field="title")
    if not isinstance(due_date, date):
        raise ApplicationError("Enter a due date.", field="due_date")
    if done_date is not None and not isinstance(done_date, date):
        raise ApplicationError("Enter a date.", field="done_date")
    if not isinstance(weight, int) or isinstance(weight, bool) or not 0 <= weight <= 100:
        raise ApplicationError("The weight is a whole number from 0 to 100.", field="weight")
    waiver_reason = (waiver_reason or "").strip()
    if waived and not waiver_reason:
        raise ApplicationError("Say why the milestone is waived.", field="waiver_reason")
    return {"title": title, "due_date": due_date, "done_date": done_date, "weight": weight,
            "waived": bool(waived), "waiver_reason": waiver_reason if waived else ""}


@acting_in_org
@transaction.atomic
def milestone_create(*, membership: Membership, initiative_id, title: str, due_date: date,
                     weight: int = 1, done_date: date | None = None, waived: bool = False,
                     waiver_reason: str = "") -> Milestone:
    initiative = _editable_initiative(membership, initiative_id)
    values = _clean_milestone(title=title, due_date=due_date, done_date=done_date,
                              weight=weight, waived=waived, waiver_reason=waiver_reason)
    return Milestone.objects.create(organization=initiative.organization,
                                    initiative=initiative, **values)


@acting_in_org
@transaction.atomic
def milestone_update(*, membership: Membership, milestone_id, **changes) -> Milestone:
    milestone = (Milestone.objects.filter(organization=membership.organization,
                                          pk=milestone_id).first())
    if milestone is None:
        raise NotFoundError("No such milestone.")
    _editable_initiative(membership, milestone.initiative_id)
    current = {f: getattr(milestone, f) for f in
               ("title", "due_date", "done_date", "weight", "waived", "waiver_reason")}
    unknown = set(changes) - set(current)
    if unknown:
        raise ApplicationError(f"Unknown field(s): {', '.join(sorted(unknown))}.")
    values = _clean_milestone(**{**current, **changes})
    for field, value in values.items():
        setattr(milestone, field, value)
    milestone.save()
    return milestone


@acting_in_org
@transaction.atomic
def milestone_delete(*, membership: Membership, milestone_id) -> None:
    milestone = (Milestone.objects.filter(organization=membership.organization,
                                          pk=milestone_id).first())
    if milestone is None:
        raise NotFoundError("No such milestone.")
    _editable_initiative(membership, milestone.initiative_id)
    milestone.delete()


# --- Impact lines and monthly values ---------------------------------------------


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
    field = f"values.{month:%Y-%m}"
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return None
    if isinstance(raw, (float, int, bool)) and not isinstance(raw, Decimal):
        if isinstance(raw, int) and not isinstance(raw, bool):
            raw = str(raw)  # whole numbers are exact; 42 is as good as "42"
        else:
            raise ApplicationError("Send amounts as decimal strings, e.g. \"12.50\", "
                                   "not as numbers.", field=field)
    if not isinstance(raw, (str, Decimal)):
        raise ApplicationError("Send amounts as decimal strings.", field=field)
    text = str(raw).strip()
    if "," in text:
        # "1,5" is 1.5 in much of Europe and 15 in the US: refuse rather than guess.
        raise ApplicationError("Use a dot for decimals and no thousands separators, "
                               "e.g. 1250.50.", field=field)
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise ApplicationError(f"“{raw}” is not an amount.", field=field) from exc
    if not amount.is_finite():
        raise ApplicationError(f"“{raw}” is not an amount.", field=field)
    if amount < 0:
        raise ApplicationError("Amounts cannot be negative.", field=field)
    if amount > MAX_AMOUNT or amount != amount.quantize(Decimal("0.01")):
        raise ApplicationError("Use at most 14 digits and 2 decimal places.", field=field)
    return amount


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
    """Write already checked cells. Callers hold the initiative's row lock and have
    checked permission and stage (monthly_values_set, or an approved re-baseline)."""
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
                       values: Mapping[date, object]) -> list[MonthlyValue]:
    """Set (or clear, with None / "") the ``kind`` amounts of a line for some months.

    All or nothing: one bad cell refuses the whole change, naming the cell.
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
    parsed = parse_values(initiative=initiative, values=values)
    written = write_values(line=line, kind=kind, parsed=parsed)
    if kind == ValueKind.ACTUAL and initiative.value_validated_at is not None:
        # New actuals void an earlier validation: the controller validates again.
        Initiative.objects.filter(pk=initiative.pk).update(value_validated_at=None,
                                                           value_validated_by=None)
    return written


# --- Status updates ------------------------------------------------------------------


@acting_in_org
@transaction.atomic
def status_update_create(*, membership: Membership, initiative_id, narrative: str,
                         confidence: str, rag_override: str = "",
                         override_reason: str = "") -> StatusUpdate:
    initiative = _editable_initiative(membership, initiative_id)
    narrative = (narrative or "").strip()
    if not narrative:
        raise ApplicationError("Write what happened since the last update.", field="narrative")
    if confidence not in Confidence.values:
        raise ApplicationError("Choose a confidence level.", field="confidence")
    if rag_override not in {"", "green", "amber", "red"}:
        raise ApplicationError("Choose green, amber or red, or no override.",
                               field="rag_override")
    override_reason = (override_reason or "").strip()
    if rag_override and not override_reason:
        raise ApplicationError("Say why you override the calculated status.",
                               field="override_reason")
    return StatusUpdate.objects.create(
        organization=initiative.organization, initiative=initiative, author=membership.user,
        narrative=narrative, confidence=confidence, rag_override=rag_override,
        override_reason=override_reason if rag_override else "")


# --- Organisation configuration (admins) -----------------------------------------


@acting_in_org
@transaction.atomic
def value_settings_update(*, membership: Membership, green_at: Decimal, red_below: Decimal,
                          actuals_entry: str) -> ValueSettings:
    _require(permissions.can_configure_value_settings(membership=membership),
             "Only admins change the value rules.")
    for name, value in (("green_at", green_at), ("red_below", red_below)):
        if not isinstance(value, Decimal) or not Decimal("0") < value <= Decimal("1"):
            raise ApplicationError("Give a percentage above 0 and at most 100.", field=name)
    if red_below > green_at:
        raise ApplicationError("Red must start below where green starts.", field="red_below")
    if actuals_entry not in ActualsEntry.values:
        raise ApplicationError("Choose who enters actuals.", field="actuals_entry")
    settings, _ = ValueSettings.objects.select_for_update().get_or_create(
        organization=membership.organization)
    settings.green_at, settings.red_below = green_at, red_below
    settings.actuals_entry = actuals_entry
    settings.save()
    return settings


LIST_MODELS = {"business_unit": BusinessUnit, "function": Function, "portfolio": Portfolio}


@acting_in_org
@transaction.atomic
def list_item_create(*, membership: Membership, kind: str, name: str, portfolio=None,
                     code: str = ""):
    """Add a business unit, function, portfolio, program or strategic objective."""
    _require(permissions.can_configure_value_settings(membership=membership),
             "Only admins change the organisation's lists.")
    org = membership.organization
    name = (name or "").strip()
    if not name:
        raise ApplicationError("Give it a name.", field="name")
    try:
        with transaction.atomic():
            if kind in LIST_MODELS:
                return LIST_MODELS[kind].objects.create(organization=org, name=name)
            if kind == "program":
                portfolio = _in_org(Portfolio, org, portfolio, field="portfolio", required=True)
                return Program.objects.create(organization=org, portfolio=portfolio, name=name)
            if kind == "objective":
                code = (code or "").strip()
                if not code:
                    raise ApplicationError("Give the objective a short code, e.g. SO4.",
                                           field="code")
                return StrategicObjective.objects.create(organization=org, code=code,
                                                         title=name)
    except IntegrityError as exc:
        raise ApplicationError("That name is already used.", field="name") from exc
    raise ApplicationError("Unknown kind of list.", field="kind")


@acting_in_org
@transaction.atomic
def list_item_delete(*, membership: Membership, kind: str, item_id) -> None:
    _require(permissions.can_configure_value_settings(membership=membership),
             "Only admins change the organisation's lists.")
    model = {**LIST_MODELS, "program": Program, "objective": StrategicObjective}.get(kind)
    if model is None:
        raise NotFoundError("Unknown kind of list.")
    item = model.objects.filter(organization=membership.organization, pk=item_id).first()
    if item is None:
        raise NotFoundError("No such item.")
    try:
        with transaction.atomic():
            item.delete()
    except ProtectedError as exc:
        raise ConflictError(f"“{item}” is still used by initiatives or programs, so it stays."
                            ) from exc


# --- Dependencies and risks ------------------------------------------------------


@acting_in_org
@transaction.atomic
def dependency_add(*, membership: Membership, initiative_id, depends_on, need_by: date,
                   note: str = "") -> Dependency:
    """``initiative`` needs ``depends_on`` (another initiative of the org) by ``need_by``."""
    initiative = _editable_initiative(membership, initiative_id)
    other = _in_org(Initiative, membership.organization, depends_on, field="depends_on",
                    required=True)
    if other.pk == initiative.pk:
        raise ApplicationError("An initiative cannot depend on itself.", field="depends_on")
    if not isinstance(need_by, date):
        raise ApplicationError("Enter the date it is needed by.", field="need_by")
    if Dependency.objects.filter(initiative=initiative, depends_on=other).exists():
        raise ApplicationError(f"{initiative.code} already depends on {other.code}.",
                               field="depends_on")
    if Dependency.objects.filter(initiative=other, depends_on=initiative).exists():
        raise ApplicationError(f"{other.code} already depends on {initiative.code}; a "
                               "dependency both ways would be circular.", field="depends_on")
    return Dependency.objects.create(organization=initiative.organization,
                                     initiative=initiative, depends_on=other, need_by=need_by,
                                     note=(note or "").strip())


@acting_in_org
@transaction.atomic
def dependency_remove(*, membership: Membership, dependency_id) -> None:
    dependency = Dependency.objects.filter(organization=membership.organization,
                                           pk=dependency_id).first()
    if dependency is None:
        raise NotFoundError("No such dependency.")
    _editable_initiative(membership, dependency.initiative_id)
    dependency.delete()


def _clean_risk(org, *, description, probability, impact, owner, mitigation, status) -> dict:
    description = (description or "").strip()
    if not description:
        raise ApplicationError("Describe the risk.", field="description")
    for field, value in (("probability", probability), ("impact", impact)):
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
            raise ApplicationError("Rate it from 1 to 5.", field=field)
    if status not in RiskStatus.values:
        raise ApplicationError("Choose open, mitigated or closed.", field="status")
    return {"description": description, "probability": probability, "impact": impact,
            "owner": _member(org, owner, field="owner", required=True),
            "mitigation": (mitigation or "").strip(), "status": status}


@acting_in_org
@transaction.atomic
def risk_add(*, membership: Membership, initiative_id, description: str, probability: int,
             impact: int, owner, mitigation: str = "", status: str = RiskStatus.OPEN) -> Risk:
    initiative = _editable_initiative(membership, initiative_id)
    values = _clean_risk(membership.organization, description=description,
                         probability=probability, impact=impact, owner=owner,
                         mitigation=mitigation, status=status)
    return Risk.objects.create(organization=initiative.organization, initiative=initiative,
                               **values)


@acting_in_org
@transaction.atomic
def risk_update(*, membership: Membership, risk_id, **changes) -> Risk:
    risk = Risk.objects.filter(organization=membership.organization, pk=risk_id).first()
    if risk is None:
        raise NotFoundError("No such risk.")
    _editable_initiative(membership, risk.initiative_id)
    current = {f: getattr(risk, f) for f in
               ("description", "probability", "impact", "owner", "mitigation", "status")}
    unknown = set(changes) - set(current)
    if unknown:
        raise ApplicationError(f"Unknown field(s): {', '.join(sorted(unknown))}.")
    for field, value in _clean_risk(membership.organization, **{**current, **changes}).items():
        setattr(risk, field, value)
    risk.save()
    return risk

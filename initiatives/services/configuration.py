"""Organisation configuration (admins): value rules and the lists initiatives pick from."""

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from cat4.common.exceptions import ApplicationError, ConflictError, NotFoundError
from cat4.tenancy.models import Membership
from cat4.tenancy.scoping import acting_in_org

from .. import permissions
from ..models import (
    ActualsEntry,
    BusinessUnit,
    Function,
    Portfolio,
    Program,
    StrategicObjective,
    ValueSettings,
)
from .base import (
    _in_org,
    _require,
)


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

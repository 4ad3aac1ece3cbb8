"""Helpers every initiatives service uses: people and ids resolved inside the organisation, the
initiative locked for a change, the organisation's value rules."""



from cat4.common.exceptions import ApplicationError, NotFoundError, PermissionDeniedError
from cat4.common.resolvers import object_in_org
from cat4.common.versioning import lock_version
from cat4.tenancy.models import Membership, Organization, User
from cat4.tenancy.selectors import member_by_user

from .. import permissions
from ..models import (
    Initiative,
    ValueSettings,
)


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDeniedError(message)


def _member(organization: Organization, user_or_id, *, field: str, required: bool) -> User | None:
    """Resolve a person named in a field; they must be a member of the organisation."""
    if user_or_id in (None, ""):
        if required:
            raise ApplicationError("Choose a person.", field=field)
        return None
    membership = member_by_user(organization=organization, user=user_or_id)
    if membership is None:
        raise ApplicationError("Choose a member of this organisation.", field=field)
    return membership.user


def _role_of(organization: Organization, user: User) -> str | None:
    membership = member_by_user(organization=organization, user=user)
    return None if membership is None else membership.role


def _in_org(model, organization: Organization, obj_or_id, *, field: str, required: bool):
    if obj_or_id in (None, ""):
        if required:
            raise ApplicationError("This field is required.", field=field)
        return None
    obj = object_in_org(model, organization=organization, ref=obj_or_id)
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


def _editable_initiative(membership: Membership, initiative_id) -> Initiative:
    initiative = _locked_initiative(membership.organization, initiative_id)
    permissions.require_edit(membership=membership, initiative=initiative)
    return initiative


def _editable_part(model, membership: Membership, pk, version: int | None, *, what: str):
    """A milestone or risk of the member's organisation, locked after its initiative, if
    the member may change that and ``version`` is current (``cat4.common.versioning``)."""
    rows = model.objects.filter(organization=membership.organization)
    row = rows.filter(pk=pk).first()
    if row is not None:
        _editable_initiative(membership, row.initiative_id)
        row = lock_version(rows, pk=pk, version=version, what=what)
    if row is None:
        raise NotFoundError(f"No such {what}.")
    return row

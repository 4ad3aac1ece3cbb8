"""Dependencies between initiatives, and risks."""

from datetime import date

from django.db import transaction

from cat4.common.exceptions import ApplicationError, NotFoundError
from cat4.common.versioning import save_new_version
from cat4.tenancy.models import Membership
from cat4.tenancy.scoping import acting_in_org

from ..models import (
    Dependency,
    Initiative,
    Risk,
    RiskStatus,
)
from .base import (
    _editable_initiative,
    _editable_part,
    _in_org,
    _member,
)


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
def risk_update(*, membership: Membership, risk_id, version: int | None = None,
                **changes) -> Risk:
    """Change a risk. ``version`` is the one the editor read: if someone saved in
    between, nothing is written and StaleVersionError says so."""
    risk = _editable_part(Risk, membership, risk_id, version, what="risk")
    current = {f: getattr(risk, f) for f in
               ("description", "probability", "impact", "owner", "mitigation", "status")}
    unknown = set(changes) - set(current)
    if unknown:
        raise ApplicationError(f"Unknown field(s): {', '.join(sorted(unknown))}.")
    for field, value in _clean_risk(membership.organization, **{**current, **changes}).items():
        setattr(risk, field, value)
    return save_new_version(risk)

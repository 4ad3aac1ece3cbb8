"""Gate configuration: each organisation's default criteria and approvers, and what
admins change (checklist items, criteria switched on or off, approver roles)."""

from django.db import transaction

from cat4.common.exceptions import ApplicationError, NotFoundError, PermissionDeniedError
from cat4.common.versioning import lock_version, save_new_version
from cat4.tenancy.models import Membership, Organization
from cat4.tenancy.scoping import acting_in_org
from initiatives.models import Stage

from ..models import GATES, ApproverRole, GateApprover, GateCriterion, Rule
from ..permissions import can_configure_gates

DEFAULT_CRITERIA = {
    Stage.DETAILED: [Rule.OWNER_AND_SPONSOR, Rule.FIRST_PLANNED_VALUE],
    Stage.DECIDED: [Rule.PLANNED_VALUES, Rule.MILESTONES, Rule.CONTROLLER_NAMED],
    Stage.IMPLEMENTED: [Rule.MILESTONES_COMPLETE],
    Stage.CLOSED: [Rule.ACTUALS_COVER_PLAN, Rule.VALUE_VALIDATED],
}
DEFAULT_APPROVERS = {
    Stage.DETAILED: [ApproverRole.SPONSOR],
    Stage.DECIDED: [ApproverRole.SPONSOR, ApproverRole.CONTROLLER],
    Stage.IMPLEMENTED: [ApproverRole.SPONSOR],
    Stage.CLOSED: [ApproverRole.CONTROLLER],
}


def ensure_gate_defaults(organization: Organization) -> None:
    """Give an organisation the default criteria and approvers if it has none.

    Runs when an organisation is created (governance/signals.py); migration 0005 gave
    the organisations that existed before their defaults."""
    if GateCriterion.objects.filter(organization=organization).exists():
        return
    for gate, rules in DEFAULT_CRITERIA.items():
        for position, rule in enumerate(rules):
            GateCriterion.objects.create(organization=organization, gate=gate, rule=rule,
                                         label=Rule(rule).label, position=position)
    for gate, roles in DEFAULT_APPROVERS.items():
        for role in roles:
            GateApprover.objects.get_or_create(organization=organization, gate=gate, role=role)


def _require_gate_admin(membership: Membership) -> None:
    if not can_configure_gates(membership=membership):
        raise PermissionDeniedError("Only admins configure the gates.")


def _gate(gate: str) -> str:
    if gate not in {g.value for g in GATES}:
        raise ApplicationError("Choose a gate.", field="gate")
    return gate


@acting_in_org
@transaction.atomic
def gate_checklist_add(*, membership: Membership, gate: str, label: str) -> GateCriterion:
    """Add a free checklist item the submitter confirms at ``gate``."""
    _require_gate_admin(membership)
    label = (label or "").strip()
    if not label:
        raise ApplicationError("Write the checklist item, e.g. “Works council informed”.",
                               field="label")
    org = membership.organization
    position = GateCriterion.objects.filter(organization=org, gate=_gate(gate)).count()
    return GateCriterion.objects.create(organization=org, gate=gate, label=label,
                                        position=position)


@acting_in_org
@transaction.atomic
def gate_criterion_set_active(*, membership: Membership, criterion_id, active: bool,
                              version: int | None = None) -> GateCriterion:
    """Switch a criterion on or off. ``version`` is the one the editor read
    (StaleVersionError when someone saved since)."""
    _require_gate_admin(membership)
    criterion = lock_version(GateCriterion.objects.filter(organization=membership.organization),
                             pk=criterion_id, version=version, what="criterion")
    if criterion is None:
        raise NotFoundError("No such criterion.")
    criterion.active = bool(active)
    return save_new_version(
        criterion, lambda: criterion.save(update_fields=["active", "version"]))


@acting_in_org
@transaction.atomic
def gate_approvers_set(*, membership: Membership, gate: str, roles) -> list[str]:
    """Who approves ``gate``: the initiative's sponsor, its controller, or both."""
    _require_gate_admin(membership)
    org = membership.organization
    roles = sorted(set(roles))
    if not roles:
        raise ApplicationError("A gate needs at least one approver.", field="roles")
    if any(r not in ApproverRole.values for r in roles):
        raise ApplicationError("Choose sponsor and/or controller.", field="roles")
    GateApprover.objects.filter(organization=org, gate=_gate(gate)).exclude(
        role__in=roles).delete()
    for role in roles:
        GateApprover.objects.get_or_create(organization=org, gate=gate, role=role)
    return roles

"""Who may do what to an initiative. One predicate per rule; services, views,
API and templates all call these."""

from cat4.common.exceptions import ApplicationError, PermissionDeniedError
from cat4.tenancy.models import Membership, Role

from .models import ActualsEntry, Initiative, Stage, ValueKind, stage_reached


def can_view_initiatives(*, membership: Membership | None) -> bool:
    # Every member reads the organisation's initiatives (viewers included).
    return membership is not None


def can_create_initiative(*, membership: Membership | None) -> bool:
    return membership is not None and membership.role in {Role.ADMIN, Role.OWNER}


def is_owner(*, membership: Membership | None, initiative: Initiative) -> bool:
    return membership is not None and initiative.owner_id == membership.user_id


def is_editor(*, membership: Membership | None, initiative: Initiative) -> bool:
    """Admins, and the initiative's owner: the people who keep it current."""
    if membership is None or membership.role == Role.VIEWER:
        return False
    return membership.role == Role.ADMIN or is_owner(membership=membership,
                                                     initiative=initiative)


def is_final(initiative: Initiative) -> bool:
    return initiative.stage in {Stage.CLOSED, Stage.CANCELLED}


def can_edit_initiative(*, membership: Membership | None, initiative: Initiative) -> bool:
    """An editor, while the initiative is neither closed nor cancelled."""
    return is_editor(membership=membership, initiative=initiative) and not is_final(initiative)


def require_edit(*, membership: Membership | None, initiative: Initiative) -> None:
    """Refuse with the right reason: 403 for who you are, 409 for the initiative's state."""
    if not is_editor(membership=membership, initiative=initiative):
        raise PermissionDeniedError("Only the owner or an admin can change this initiative.")
    if is_final(initiative):
        raise ApplicationError(f"{initiative.code} is {Stage(initiative.stage).label.lower()}; "
                               "its record is final.", status_code=409)


def effective_stage(initiative: Initiative) -> str:
    """An initiative on hold keeps the rules of the stage it will resume to."""
    return initiative.resume_stage if initiative.stage == Stage.ON_HOLD else initiative.stage


def value_kind_editable(*, initiative: Initiative, kind: str) -> tuple[bool, str]:
    """Is ``kind`` editable in the initiative's stage? (yes/no, and why not)."""
    stage = effective_stage(initiative)
    if stage in {Stage.CLOSED, Stage.CANCELLED}:
        return False, f"The initiative is {Stage(stage).label.lower()}; its values are final."
    if kind == ValueKind.PLANNED and stage_reached(stage, Stage.DECIDED):
        return False, ("The plan is frozen since the Decided gate. Ask the controller for a "
                       "re-baseline to change it.")
    if kind == ValueKind.FORECAST and not stage_reached(stage, Stage.DECIDED):
        return False, "Forecasts are entered from the Decided gate on."
    if kind == ValueKind.ACTUAL and not stage_reached(stage, Stage.IMPLEMENTED):
        return False, "Actuals are entered from the Implemented gate on."
    return True, ""


def can_edit_values(*, membership: Membership | None, initiative: Initiative, kind: str,
                    actuals_entry: str) -> bool:
    if membership is None:
        return False
    if kind == ValueKind.ACTUAL:
        if (membership.role == Role.CONTROLLER
                and initiative.controller_id == membership.user_id
                and not is_owner(membership=membership, initiative=initiative)):
            return True
        if actuals_entry == ActualsEntry.CONTROLLER_ONLY:
            return False
    return can_edit_initiative(membership=membership, initiative=initiative)


def can_validate_value(*, membership: Membership | None, initiative: Initiative) -> bool:
    """The initiative's named controller, holding the controller role, never its owner."""
    return (membership is not None and membership.role == Role.CONTROLLER
            and initiative.controller_id == membership.user_id
            and initiative.owner_id != membership.user_id)


def can_hold_or_cancel(*, membership: Membership | None, initiative: Initiative) -> bool:
    """Admins and the initiative's sponsor put it on hold, resume or cancel it."""
    if membership is None or membership.role == Role.VIEWER:
        return False
    return membership.role == Role.ADMIN or initiative.sponsor_id == membership.user_id


def can_configure_value_settings(*, membership: Membership | None) -> bool:
    return membership is not None and membership.role == Role.ADMIN

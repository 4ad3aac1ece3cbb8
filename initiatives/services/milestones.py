"""Milestones of an initiative."""

from datetime import date

from django.db import transaction

from cat4.common.exceptions import ApplicationError
from cat4.common.versioning import save_new_version
from cat4.tenancy.models import Membership
from cat4.tenancy.scoping import acting_in_org

from ..models import Milestone
from .base import (
    _editable_initiative,
    _editable_part,
)


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
def milestone_update(*, membership: Membership, milestone_id, version: int | None = None,
                     **changes) -> Milestone:
    """Change a milestone. ``version`` is the one the editor read: if someone saved in
    between, nothing is written and StaleVersionError says so."""
    milestone = _editable_part(Milestone, membership, milestone_id, version, what="milestone")
    current = {f: getattr(milestone, f) for f in
               ("title", "due_date", "done_date", "weight", "waived", "waiver_reason")}
    unknown = set(changes) - set(current)
    if unknown:
        raise ApplicationError(f"Unknown field(s): {', '.join(sorted(unknown))}.")
    values = _clean_milestone(**{**current, **changes})
    for field, value in values.items():
        setattr(milestone, field, value)
    return save_new_version(milestone)


@acting_in_org
@transaction.atomic
def milestone_delete(*, membership: Membership, milestone_id,
                     version: int | None = None) -> None:
    """Delete a milestone, unless someone changed it since ``version`` was read."""
    _editable_part(Milestone, membership, milestone_id, version, what="milestone").delete()

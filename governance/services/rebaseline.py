"""Re-baselining a frozen plan: the owner asks, the initiative's controller approves
(the planned values change in the same transaction) or rejects."""


from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from cat4.common.amounts import parse_amount
from cat4.common.exceptions import (
    ApplicationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
)
from cat4.common.months import month_key, parse_month_key
from cat4.common.resolvers import object_in_org
from cat4.tenancy.models import Membership
from cat4.tenancy.scoping import acting_in_org
from initiatives import permissions as initiative_permissions
from initiatives import services as initiative_services
from initiatives.models import ImpactLine, Initiative, Stage

from ..models import Decision, DecisionLogEntry, DecisionLogInitiative, Rebaseline
from ..notifications import notify
from ..permissions import can_decide_rebaseline
from .gates import initiative_url, lock_initiative


def _parse_rebaseline(initiative: Initiative, values) -> dict[str, dict[str, str | None]]:
    """{line id: {month date: raw}} -> the JSON stored on the request, every cell checked."""
    lines = {line.pk: line for line in ImpactLine.objects.filter(initiative=initiative)}
    stored: dict[str, dict[str, str | None]] = {}
    for line_id, cells in values.items():
        line = lines.get(int(line_id)) if str(line_id).isdigit() else None
        if line is None:
            raise ApplicationError("Choose impact lines of this initiative.", field="values")
        parsed = initiative_services.parse_values(initiative=initiative, values=cells)
        stored[str(line.pk)] = {month_key(m): (None if a is None else str(a))
                                for m, a in sorted(parsed.items())}
    if not any(stored.values()):
        raise ApplicationError("Change at least one planned month.", field="values")
    return stored


@acting_in_org
@transaction.atomic
def rebaseline_request(*, membership: Membership, initiative_id, reason: str,
                       values) -> Rebaseline:
    """Ask the controller to replace planned values frozen since the Decided gate."""
    org = membership.organization
    initiative = lock_initiative(org, initiative_id)
    initiative_permissions.require_edit(membership=membership, initiative=initiative)
    editable, _why = initiative_permissions.value_kind_editable(initiative=initiative,
                                                                kind="planned")
    if editable:
        raise ConflictError("The plan is not frozen yet: edit the planned values directly.")
    if initiative_permissions.effective_stage(initiative) in (Stage.CLOSED, Stage.CANCELLED):
        raise ConflictError("The values of a closed or cancelled initiative are final.")
    if initiative.controller is None:
        raise ApplicationError("Name a controller first: the controller decides re-baselines.",
                               field="controller")
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("Say why the plan must change.", field="reason")
    if Rebaseline.objects.filter(initiative=initiative, status=Decision.PENDING).exists():
        raise ConflictError("A re-baseline of this initiative is already waiting for the "
                            "controller.")
    rebaseline = Rebaseline.objects.create(
        organization=org, initiative=initiative, reason=reason,
        values=_parse_rebaseline(initiative, values), requested_by=membership.user)
    notify(organization=org, recipients=[initiative.controller], kind="rebaseline_requested",
            title=f"Re-baseline requested: {initiative.code}", body=reason,
            url=reverse("my_reviews", kwargs={"org_slug": org.slug}))
    return rebaseline


@acting_in_org
@transaction.atomic
def rebaseline_decide(*, membership: Membership, rebaseline_id, decision: str,
                      comment: str = "") -> Rebaseline:
    """The initiative's controller approves (the plan changes) or rejects a re-baseline."""
    org = membership.organization
    found = object_in_org(Rebaseline, organization=org, ref=rebaseline_id)
    if found is None:
        raise NotFoundError("No such re-baseline.")
    initiative = lock_initiative(org, found.initiative_id)
    rebaseline = Rebaseline.objects.select_for_update().get(pk=found.pk)
    if not can_decide_rebaseline(membership=membership, initiative=initiative):
        raise PermissionDeniedError("Only the initiative's controller decides a re-baseline.")
    if decision not in (Decision.APPROVED, Decision.REJECTED):
        raise ApplicationError("Approve or reject.", field="decision")
    comment = (comment or "").strip()
    if decision == Decision.REJECTED and not comment:
        raise ApplicationError("Say why you reject, so the owner can act on it.",
                               field="comment")
    if rebaseline.status != Decision.PENDING:
        raise ConflictError("This re-baseline was already decided.")
    if decision == Decision.APPROVED:
        lines = {str(line.pk): line for line in ImpactLine.objects.filter(initiative=initiative)}
        for line_id, cells in rebaseline.values.items():
            if line_id not in lines:
                continue  # the line was removed since; nothing to re-plan
            parsed = {parse_month_key(month):
                      (None if amount is None
                       else parse_amount(amount, field=f"values.{month}"))
                      for month, amount in cells.items()}
            initiative_services.write_values(line=lines[line_id], kind="planned",
                                             parsed=parsed)
    rebaseline.status = decision
    rebaseline.decided_by = membership.user
    rebaseline.decided_at = timezone.now()
    rebaseline.comment = comment
    rebaseline.save(update_fields=["status", "decided_by", "decided_at", "comment"])
    entry = DecisionLogEntry.objects.create(
        organization=org, date=timezone.localdate(), forum="Re-baseline",
        decision=f"Controller {decision} the re-baseline of {initiative.code}: "
                 f"{rebaseline.reason}" + (f" ({comment})" if comment else ""),
        recorded_by=membership.user)
    DecisionLogInitiative.objects.create(organization=org, entry=entry, initiative=initiative)
    notify(organization=org, recipients=[rebaseline.requested_by, initiative.owner],
            kind=f"rebaseline_{decision}",
            title=f"{initiative.code}: re-baseline {decision}", body=comment,
            url=initiative_url(initiative))
    return rebaseline

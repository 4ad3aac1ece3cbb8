"""The decision log: what a forum (the steering committee, say) decided, against which
initiatives. Gate and re-baseline decisions write their own entries."""

from django.db import transaction

from cat4.common.exceptions import ApplicationError, PermissionDeniedError
from cat4.tenancy.models import Membership
from cat4.tenancy.scoping import acting_in_org
from initiatives.models import Initiative

from ..models import DecisionLogEntry, DecisionLogInitiative
from ..permissions import can_record_decisions


@acting_in_org
@transaction.atomic
def decision_log_add(*, membership: Membership, date, forum: str, decision: str,
                     options_considered: str = "", initiatives=()) -> DecisionLogEntry:
    """Record a forum's decision (e.g. the steering committee's) against initiatives."""
    if not can_record_decisions(membership=membership):
        raise PermissionDeniedError("Only admins and executives record decisions.")
    forum, decision = (forum or "").strip(), (decision or "").strip()
    if not forum:
        raise ApplicationError("Name the forum, e.g. “Steering committee”.", field="forum")
    if not decision:
        raise ApplicationError("Write the decision.", field="decision")
    org = membership.organization
    ids = [getattr(i, "pk", i) for i in initiatives]
    found = list(Initiative.objects.filter(organization=org, pk__in=ids))
    if len(found) != len(set(ids)):
        raise ApplicationError("Choose initiatives of this organisation.", field="initiatives")
    entry = DecisionLogEntry.objects.create(
        organization=org, date=date, forum=forum, decision=decision,
        options_considered=(options_considered or "").strip(), recorded_by=membership.user)
    for initiative in found:
        DecisionLogInitiative.objects.create(organization=org, entry=entry,
                                             initiative=initiative)
    return entry

"""Status updates: the owner's narrative and confidence."""


from django.db import transaction

from cat4.common.exceptions import ApplicationError
from cat4.tenancy.models import Membership
from cat4.tenancy.scoping import acting_in_org

from ..models import (
    Confidence,
    StatusUpdate,
)
from .base import _editable_initiative


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

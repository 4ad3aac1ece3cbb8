"""Evidence: documents on an initiative, joining its pending gate submission; a
document behind a decided gate stays on record."""

from django.conf import settings as django_settings
from django.db import transaction

from cat4.common.exceptions import (
    ApplicationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
)
from cat4.tenancy.models import Membership
from cat4.tenancy.scoping import acting_in_org

from ..evidence import ALLOWED, recognise
from ..models import Evidence, GateSubmission, SubmissionStatus
from ..permissions import can_attach_evidence, can_remove_evidence
from .gates import lock_initiative


@acting_in_org
@transaction.atomic
def evidence_upload(*, membership: Membership, initiative_id, upload, description: str = ""
                    ) -> Evidence:
    """Store a document for the initiative; it joins the pending gate submission, if any."""
    initiative = lock_initiative(membership.organization, initiative_id)
    if not can_attach_evidence(membership=membership, initiative=initiative):
        raise PermissionDeniedError("Only the owner, sponsor, controller or an admin "
                                    "attaches evidence.")
    if upload is None:
        raise ApplicationError("Choose a file.", field="file")
    limit = django_settings.EVIDENCE_MAX_BYTES
    if upload.size > limit:
        raise ApplicationError(f"The file is {upload.size / 1048576:.1f} MB; the limit is "
                               f"{limit // 1048576} MB.", field="file")
    if upload.size == 0:
        raise ApplicationError("The file is empty.", field="file")
    name = (upload.name or "").replace("\\", "/").rsplit("/", 1)[-1][:200]
    upload.seek(0)
    kind = recognise(name, upload.read(2048))
    upload.seek(0)
    if kind is None:
        raise ApplicationError(f"{name} is not one of the accepted document types "
                               f"({ALLOWED}), or its content does not match its name.",
                               field="file")
    pending = GateSubmission.objects.filter(initiative=initiative,
                                            status=SubmissionStatus.PENDING).first()
    evidence = Evidence(organization=initiative.organization, initiative=initiative,
                        submission=pending, file_name=name, content_type=kind.content_type,
                        size=upload.size, description=(description or "").strip()[:200],
                        uploaded_by=membership.user)
    evidence.file.save(name, upload, save=False)
    try:
        evidence.save()
    except Exception:
        evidence.file.storage.delete(evidence.file.name)  # no row, no orphaned file
        raise
    return evidence


@acting_in_org
@transaction.atomic
def evidence_delete(*, membership: Membership, evidence_id) -> None:
    evidence = (Evidence.objects.select_related("submission")
                .filter(organization=membership.organization, pk=evidence_id).first())
    if evidence is None:
        raise NotFoundError("No such document.")
    if not can_remove_evidence(membership=membership, evidence=evidence):
        raise PermissionDeniedError("Only whoever uploaded it, or an admin, removes a document.")
    if evidence.submission and evidence.submission.status != SubmissionStatus.PENDING:
        raise ConflictError("This document backs a gate decision and stays on record.")
    stored = evidence.file.name
    storage = evidence.file.storage
    evidence.delete()
    transaction.on_commit(lambda: storage.delete(stored))

"""Evidence documents: type and size limits checked against the file's content,
attachment to the pending submission, permission-checked download, and removal."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_scopes import scopes_disabled

from cat4.common.exceptions import ApplicationError, PermissionDeniedError
from cat4.tenancy.models import Role
from governance import services
from governance.models import Evidence
from tests.conftest import client_for
from tests.governance.conftest import add_plan

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"


def upload(world, role, name, content, initiative=None):
    return services.evidence_upload(
        membership=world.a[role].membership,
        initiative_id=(initiative or world.initiative).pk,
        upload=SimpleUploadedFile(name, content), description="Business case")


def test_a_pdf_is_stored_and_joins_the_pending_submission(world, initiative):
    add_plan(initiative)
    submission = services.gate_submit(membership=world.a[Role.OWNER].membership,
                                      initiative_id=initiative.pk)
    evidence = upload(world, Role.OWNER, "Business case.pdf", PDF, initiative)
    assert (evidence.file_name, evidence.content_type, evidence.size) == (
        "Business case.pdf", "application/pdf", len(PDF))
    assert evidence.submission_id == submission.pk
    assert "Business case" not in evidence.file.name  # stored under a random name


@pytest.mark.parametrize(("name", "content"), [
    ("virus.exe", b"MZ\x90\x00"),
    ("renamed.pdf", b"MZ\x90\x00 not a pdf"),
    ("sheet.xlsx", b"not a zip"),
    ("notes.txt", b"\x00\x01\x02binary"),
    ("no-extension", PDF),
])
def test_disallowed_or_disguised_files_are_refused(world, name, content):
    with pytest.raises(ApplicationError) as exc:
        upload(world, Role.OWNER, name, content)
    assert exc.value.field == "file"
    with scopes_disabled():
        assert not Evidence.objects.exists()


def test_size_limit_and_empty_files(world, settings):
    settings.EVIDENCE_MAX_BYTES = 64
    with pytest.raises(ApplicationError, match="the limit is"):
        upload(world, Role.OWNER, "big.pdf", PDF + b"x" * 100)
    with pytest.raises(ApplicationError, match="empty"):
        upload(world, Role.OWNER, "empty.txt", b"")


def test_viewers_cannot_upload_but_the_controller_can(world):
    with pytest.raises(PermissionDeniedError):
        upload(world, Role.VIEWER, "x.pdf", PDF)
    upload(world, Role.CONTROLLER, "signoff.pdf", PDF)


def test_download_is_for_members_only_and_never_inline(world):
    evidence = upload(world, Role.OWNER, "case.pdf", PDF)
    url = reverse("evidence_download", kwargs={"org_slug": "acme", "evidence_id": evidence.pk})
    response = client_for(world.a[Role.VIEWER].user).get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert client_for(world.b_executive.user).get(url).status_code == 404
    other_org_url = reverse("evidence_download", kwargs={"org_slug": "globex",
                                                         "evidence_id": evidence.pk})
    assert client_for(world.b_executive.user).get(other_org_url).status_code == 404


def test_evidence_of_a_decided_submission_stays(world, initiative):
    add_plan(initiative)
    services.gate_submit(membership=world.a[Role.OWNER].membership, initiative_id=initiative.pk)
    evidence = upload(world, Role.OWNER, "case.pdf", PDF, initiative)
    with scopes_disabled():
        approval = evidence.submission.approvals.get()
    services.approval_decide(membership=world.a[Role.EXECUTIVE].membership,
                             approval_id=approval.pk, decision="approved")
    with pytest.raises(services.ConflictError):
        services.evidence_delete(membership=world.a[Role.OWNER].membership,
                                 evidence_id=evidence.pk)


def test_only_the_uploader_or_an_admin_removes_and_the_file_goes(
        world, django_capture_on_commit_callbacks):
    evidence = upload(world, Role.OWNER, "case.pdf", PDF)
    stored, storage = evidence.file.name, evidence.file.storage
    with pytest.raises(PermissionDeniedError):
        services.evidence_delete(membership=world.a[Role.CONTROLLER].membership,
                                 evidence_id=evidence.pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.evidence_delete(membership=world.a[Role.ADMIN].membership,
                                 evidence_id=evidence.pk)
    assert not storage.exists(stored)


def test_upload_page_shows_the_refusal(world):
    client = client_for(world.a[Role.OWNER].user)
    url = reverse("evidence_upload", kwargs={"org_slug": "acme",
                                             "initiative_id": world.initiative.pk})
    response = client.post(url, {"file": SimpleUploadedFile("x.exe", b"MZ")}, follow=True)
    assert "not one of the accepted document types" in response.content.decode()

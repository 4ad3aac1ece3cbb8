"""The ImportJob: ``import_upload`` checks the file as a whole and stores the job,
``import_start`` claims a checked job for the import, and ``run_job`` does the step the
job waits for (the dry run, ``CHECKING`` -> ``CHECKED``, or the import, ``IMPORTING`` ->
``IMPORTED``), inline for small files and in the Celery task ``reporting.run_import``
otherwise, committing its progress as it goes."""

import io
import logging

import pghistory
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from cat4.common.exceptions import ApplicationError, NotFoundError, PermissionDeniedError
from cat4.common.locks import try_org_job_lock
from cat4.common.tasks_util import enqueue_on_commit
from cat4.tenancy.models import Membership, Organization
from cat4.tenancy.scoping import acting_in_org
from cat4.tenancy.selectors import membership_for

from ..models import ImportJob, ImportMode, ImportStatus
from ..permissions import can_import
from .checker import Checker, Report
from .workbook import MAX_BYTES, FileProblem, Parsed, read_workbook, rejected_workbook
from .writer import Outcome, apply_unit, unit_rows

logger = logging.getLogger(__name__)

# Files with more data rows than this are checked and imported by the Celery job.
INLINE_MAX_ROWS = 200


def _membership(job: ImportJob) -> Membership | None:
    """The uploader's membership, if they are still an active admin of the organisation."""
    membership = membership_for(user=job.uploaded_by, organization=job.organization)
    return membership if can_import(membership=membership) else None


def import_job_list(*, organization: Organization):
    """The organisation's imports, newest first (the model's ordering)."""
    return ImportJob.objects.filter(organization=organization).select_related("uploaded_by")


def import_job_get(*, organization: Organization, job_id) -> ImportJob | None:
    """An import of this organisation; another organisation's id is a missing one."""
    return import_job_list(organization=organization).filter(pk=job_id).first()


def mode_refusal(job: ImportJob, mode: str) -> ApplicationError | None:
    """Why ``job`` cannot be imported in ``mode`` now, or None if it can. The one rule
    for import_start and for the buttons of the page."""
    if mode not in ImportMode.values:
        return ApplicationError("Choose “everything” or “only the valid rows”.", field="mode")
    if job.status != ImportStatus.CHECKED:
        return ApplicationError(f"This import is {job.get_status_display().lower()}; only a "
                                "checked file can be imported.", status_code=409)
    if mode == ImportMode.ALL and job.problems:
        return ApplicationError(f"The dry run found {len(job.problems)} problem(s): import "
                                "only the valid rows, or fix the file and upload it again.",
                                field="mode", status_code=409)
    if mode == ImportMode.VALID_ONLY and job.valid_rows == 0:
        return ApplicationError("No row is valid: fix the file and upload it again.",
                                field="mode", status_code=409)
    return None


@acting_in_org
def import_upload(*, membership: Membership, upload) -> ImportJob:
    """Check the file as a whole and store it; then the dry run starts (inline for small
    files, else as a Celery job). Raises FileProblem for a file that cannot be imported."""
    if not can_import(membership=membership):
        raise PermissionDeniedError("Only admins import initiatives.")
    if upload is None:
        raise FileProblem("Choose a file.")
    if upload.size > MAX_BYTES:
        raise FileProblem(f"The file is {upload.size / 1048576:.1f} MB; the limit is "
                          f"{MAX_BYTES // 1048576} MB. Split it into smaller files.")
    name = (upload.name or "import.xlsx").replace("\\", "/").rsplit("/", 1)[-1][:200]
    if name.lower().endswith(".xls"):
        upload.seek(0)
        if not upload.read(4).startswith(b"PK\x03\x04"):
            raise FileProblem("This is an old-format Excel file (.xls). In Excel choose "
                              "File › Save As › Excel Workbook (.xlsx) and upload that file.")
    parsed = read_workbook(upload)
    upload.seek(0)
    job = ImportJob(organization=membership.organization, uploaded_by=membership.user,
                    file_name=name, size=upload.size, status=ImportStatus.CHECKING,
                    total_rows=parsed.total)
    job.file.save(name, upload, save=False)
    try:
        job.save()
    except Exception:
        job.file.storage.delete(job.file.name)
        raise
    _dispatch(job, parsed=parsed)
    job.refresh_from_db()
    return job


@acting_in_org
def import_start(*, membership: Membership, job_id, mode: str) -> ImportJob:
    """Import everything (only after a clean dry run) or only the valid rows."""
    if not can_import(membership=membership):
        raise PermissionDeniedError("Only admins import initiatives.")
    job = import_job_get(organization=membership.organization, job_id=job_id)
    if job is None:
        raise NotFoundError("No such import.")
    refusal = mode_refusal(job, mode)
    if refusal is not None:
        raise refusal
    claimed = ImportJob.objects.filter(pk=job.pk, status=ImportStatus.CHECKED).update(
        status=ImportStatus.IMPORTING, mode=mode, progress=0)
    if not claimed:
        raise ApplicationError("This import has just been started.", status_code=409)
    job.refresh_from_db()
    _dispatch(job)
    job.refresh_from_db()
    return job


def _dispatch(job: ImportJob, *, parsed: Parsed | None = None) -> None:
    if job.total_rows <= INLINE_MAX_ROWS:
        run_job(job.pk, parsed=parsed)
    else:
        from ..tasks import run_import  # cycle: reporting.imports.jobs <-> reporting.tasks

        enqueue_on_commit(run_import, job.pk)


def _set(job: ImportJob, **fields) -> None:
    """Commit the job's progress at once (outside any transaction of the import)."""
    for name, value in fields.items():
        setattr(job, name, value)
    ImportJob.objects.filter(pk=job.pk).update(**fields)


def run_job(job_id: int, *, parsed: Parsed | None = None) -> str:
    """Do what the job is waiting for: the dry run (CHECKING) or the import (IMPORTING).
    Safe to run twice: a second run at the same time skips, and a run after a crash
    repeats the step, which writes nothing twice (idempotent by code)."""
    with scopes_disabled():
        job = (ImportJob.objects.filter(pk=job_id)
               .select_related("organization", "uploaded_by").first())
    if job is None:
        return "no such job"
    with try_org_job_lock(f"reporting.run_import.{job.pk}", job.organization_id) as acquired:
        if not acquired:
            return "another run holds the lock"
        with scope(organization=job.organization):
            job.refresh_from_db()
            if job.status not in (ImportStatus.CHECKING, ImportStatus.IMPORTING):
                return f"nothing to do ({job.status})"
            try:
                membership = _membership(job)
                if membership is None:
                    raise FileProblem("The person who uploaded this file is no longer an "
                                      "admin of the organisation.")
                if parsed is None:
                    with job.file.open("rb") as handle:
                        parsed = read_workbook(io.BytesIO(handle.read()))
                if job.status == ImportStatus.CHECKING:
                    _check(job, membership, parsed)
                else:
                    _import(job, membership, parsed)
            except FileProblem as exc:
                _set(job, status=ImportStatus.FAILED, file_error=exc.message,
                     finished_at=timezone.now())
            except Exception:
                logger.exception("import %s failed", job.pk)
                _set(job, status=ImportStatus.FAILED, finished_at=timezone.now(),
                     file_error="The import stopped on an unexpected error; nothing more was "
                                "written. Try again, or tell your administrator.")
    return job.status


def _progress(job: ImportJob, start: int, span: int):
    def report(done: int, total: int) -> None:
        _set(job, progress=min(99, start + span * done // max(total, 1)))
    return report


def _store_rejected(job: ImportJob, parsed: Parsed, problems: list[dict]) -> None:
    content = rejected_workbook(parsed, problems)
    if job.rejected_file:
        job.rejected_file.storage.delete(job.rejected_file.name)
    if content is None:
        _set(job, rejected_file="")
        return
    job.rejected_file.save("rejected.xlsx", ContentFile(content), save=False)
    _set(job, rejected_file=job.rejected_file.name)


def _check(job: ImportJob, membership: Membership, parsed: Parsed) -> Report:
    report = Checker(membership=membership, parsed=parsed,
                     progress=_progress(job, 0, 100)).run()
    _store_rejected(job, parsed, report.problems)
    _set(job, status=ImportStatus.CHECKED, problems=report.problems, total_rows=report.total,
         valid_rows=report.valid, progress=100, file_error="")
    return report


def _import(job: ImportJob, membership: Membership, parsed: Parsed) -> None:
    # Check again: the organisation may have changed since the dry run.
    report = Checker(membership=membership, parsed=parsed,
                     progress=_progress(job, 0, 30)).run()
    if job.mode == ImportMode.ALL and report.problems:
        _store_rejected(job, parsed, report.problems)
        _set(job, status=ImportStatus.CHECKED, mode="", problems=report.problems,
             valid_rows=report.valid, progress=100,
             file_error="Nothing was imported: the organisation changed since the dry run "
                        "and some rows are no longer valid. See the report.")
        return
    rejected = report.rejected_rows()
    units = [u for u in report.units.values()
             if u.row is None or (u.row.sheet, u.row.number) not in rejected]
    outcome = Outcome()
    problems = list(report.problems)
    tick = _progress(job, 30, 70)
    with pghistory.context(import_job=job.pk, user=membership.user_id):
        if job.mode == ImportMode.ALL:
            try:
                with transaction.atomic():
                    for unit in units:
                        current = unit
                        apply_unit(membership, unit, outcome)
            except ApplicationError as exc:
                _set(job, status=ImportStatus.CHECKED, mode="", progress=100,
                     file_error=f"Nothing was imported: {current.code} was refused "
                                f"({exc.message}). Check the file again or import only "
                                "the valid rows.")
                return
        else:
            for done, unit in enumerate(units, start=1):
                try:
                    with transaction.atomic():
                        apply_unit(membership, unit, outcome)
                except ApplicationError as exc:
                    for row in unit_rows(unit):
                        problems.append({"sheet": row.sheet, "row": row.number,
                                         "column": "code", "message": exc.message})
                if done % 20 == 0:
                    tick(done, len(units))
    rejected_count = len({(p["sheet"], p["row"]) for p in problems})
    if problems != report.problems:
        _store_rejected(job, parsed, problems)
    summary = {"created": outcome.created, "updated": outcome.updated,
               "unchanged": outcome.unchanged, "rejected": rejected_count,
               "values_written": outcome.values_written,
               "values_unchanged": outcome.values_unchanged}
    _set(job, status=ImportStatus.IMPORTED, problems=problems, summary=summary,
         valid_rows=report.total - rejected_count, progress=100, finished_at=timezone.now())

"""Pages of the Excel import: list + upload + template, a job's status and row-level
report (polled by htmx every 2 s while it runs), the import action and the rejected
rows. Thin: the work is in the package reporting/imports/."""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from cat4.common.exceptions import ApplicationError
from cat4.common.htmx import add_form_error, partial_template
from cat4.tenancy.decorators import org_view

from . import imports
from .models import ImportJob, ImportMode, ImportStatus
from .permissions import can_import

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHOWN_PROBLEMS = 500
RUNNING = {ImportStatus.CHECKING, ImportStatus.IMPORTING}


class UploadForm(forms.Form):
    file = forms.FileField(
        label="Workbook (.xlsx)",
        help_text=f"Start from the template. At most {imports.MAX_BYTES // 1048576} MB and "
                  f"{imports.MAX_ROWS:,} rows; nothing is written until you import.",
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx," + XLSX}))


def _job_or_404(request, import_id) -> ImportJob:
    job = imports.import_job_get(organization=request.organization, job_id=import_id)
    if job is None:
        raise Http404("No such import.")
    return job


@require_http_methods(["GET", "POST"])
@org_view(can_import)
def import_list(request, org_slug):
    form = UploadForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                job = imports.import_upload(membership=request.membership,
                                            upload=form.cleaned_data["file"])
            except ApplicationError as exc:
                add_form_error(form, exc)
            else:
                return redirect("import_detail", org_slug=org_slug, import_id=job.pk)
        status = 400
    jobs = imports.import_job_list(organization=request.organization)
    page = Paginator(jobs, 20).get_page(request.GET.get("page"))
    return render(request, "reporting/imports.html", {"form": form, "page": page},
                  status=status)


@org_view(can_import)
def import_template(request, org_slug):
    content = imports.template_workbook(organization=request.organization)
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = (f'attachment; filename="cat4-import-template-'
                                       f'{request.organization.slug}.xlsx"')
    return response


@vary_on_headers("HX-Request")  # the polled part and the page share the URL
@org_view(can_import)
def import_detail(request, org_slug, import_id):
    job = _job_or_404(request, import_id)
    context = {"job": job, "running": job.status in RUNNING,
               "can_import_all": imports.mode_refusal(job, ImportMode.ALL) is None,
               "can_import_valid": imports.mode_refusal(job, ImportMode.VALID_ONLY) is None,
               "modes": ImportMode, "problems": job.problems[:SHOWN_PROBLEMS]}
    return render(request, partial_template(request, "reporting/import_detail.html", "job"),
                  context)


@require_POST
@org_view(can_import)
def import_run(request, org_slug, import_id):
    job = _job_or_404(request, import_id)
    try:
        job = imports.import_start(membership=request.membership, job_id=job.pk,
                                   mode=request.POST.get("mode", ""))
    except ApplicationError as exc:
        if exc.status_code in (403, 404):
            raise
        messages.error(request, exc.message)
    else:
        if job.status == ImportStatus.IMPORTED:
            s = job.summary
            messages.success(request, f"Imported: {s.get('created', 0)} created, "
                                      f"{s.get('updated', 0)} updated, "
                                      f"{s.get('unchanged', 0)} unchanged, "
                                      f"{s.get('rejected', 0)} row(s) rejected.")
    return redirect("import_detail", org_slug=org_slug, import_id=job.pk)


@org_view(can_import)
def import_rejected(request, org_slug, import_id):
    job = _job_or_404(request, import_id)
    if not job.rejected_file:
        raise Http404("No rejected rows.")
    try:
        handle = job.rejected_file.open("rb")
    except FileNotFoundError as exc:
        raise Http404("The stored file is missing.") from exc
    stem = job.file_name.rsplit(".", 1)[0] or "import"
    return FileResponse(handle, as_attachment=True, filename=f"{stem}-rejected.xlsx",
                        content_type=XLSX)

"""KPI pages: list with status, trend and staleness; detail with chart, table,
projection, reading entry and CSV upload; create."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from cat4.common.exceptions import ApplicationError
from cat4.common.htmx import add_form_error
from cat4.tenancy.decorators import org_view

from . import permissions, selectors, services
from .forms import KpiForm, ReadingForm, ReadingsUploadForm

MAX_UPLOAD_BYTES = 1024 * 1024


@org_view(permissions.can_view_kpis)
def kpi_list(request, org_slug):
    rows = selectors.kpi_rows(selectors.kpi_queryset(organization=request.organization))
    return render(request, "kpis/list.html", {
        "rows": rows, "can_manage": permissions.can_manage_kpis(membership=request.membership)})


def _kpi_or_404(request, kpi_id):
    kpi = selectors.kpi_get(organization=request.organization, kpi_id=kpi_id)
    if kpi is None:
        raise Http404("No such KPI.")
    return kpi


def _detail(request, kpi, *, reading_form=None, upload_form=None, row_errors=(), status=200):
    return render(request, "kpis/detail.html", {
        "kpi": kpi, "detail": selectors.kpi_detail(kpi=kpi),
        "can_record": permissions.can_record_reading(membership=request.membership, kpi=kpi),
        "reading_form": reading_form or ReadingForm(),
        "upload_form": upload_form or ReadingsUploadForm(), "row_errors": row_errors,
    }, status=status)


@org_view(permissions.can_view_kpis)
def kpi_detail(request, org_slug, kpi_id):
    return _detail(request, _kpi_or_404(request, kpi_id))


@require_POST
@org_view(permissions.can_view_kpis)
def reading_add(request, org_slug, kpi_id):
    kpi = _kpi_or_404(request, kpi_id)
    form = ReadingForm(request.POST)
    if form.is_valid():
        try:
            services.reading_record(membership=request.membership, kpi_id=kpi.pk,
                                    **form.cleaned_data)
        except ApplicationError as exc:
            add_form_error(form, exc)
        else:
            messages.success(request, "Reading saved. The variance is recomputed within a "
                                      "few minutes.")
            return redirect("kpi_detail", org_slug=org_slug, kpi_id=kpi.pk)
    return _detail(request, kpi, reading_form=form, status=400)


@require_POST
@org_view(permissions.can_view_kpis)
def readings_upload(request, org_slug, kpi_id):
    kpi = _kpi_or_404(request, kpi_id)
    form = ReadingsUploadForm(request.POST, request.FILES)
    row_errors = []
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            if upload.size > MAX_UPLOAD_BYTES:
                raise ApplicationError("The file is larger than 1 MB.", field="file")
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise ApplicationError("Save the file as CSV in UTF-8.", field="file") from exc
            count = services.readings_import_csv(membership=request.membership,
                                                 kpi_id=kpi.pk, text=text)
        except services.CsvImportError as exc:
            row_errors = exc.errors
            form.add_error("file", exc.message)
        except ApplicationError as exc:
            add_form_error(form, exc)
        else:
            messages.success(request, f"{count} reading(s) imported.")
            return redirect("kpi_detail", org_slug=org_slug, kpi_id=kpi.pk)
    return _detail(request, kpi, upload_form=form, row_errors=row_errors, status=400)


@require_http_methods(["GET", "POST"])
@org_view(permissions.can_manage_kpis)
def kpi_create(request, org_slug):
    form = KpiForm(request.POST or None, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        try:
            kpi = services.kpi_create(membership=request.membership, **form.cleaned_data)
        except ApplicationError as exc:
            add_form_error(form, exc)
        else:
            messages.success(request, f"KPI “{kpi.name}” created.")
            return redirect("kpi_detail", org_slug=org_slug, kpi_id=kpi.pk)
    return render(request, "kpis/form.html", {"form": form},
                  status=400 if form.errors else 200)

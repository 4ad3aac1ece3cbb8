"""KPI pages: list with status, trend and staleness; detail with chart, table,
projection, reading entry, CSV upload and the initiatives and objectives the KPI
serves; create and edit; the planned series."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from cat4.common.exceptions import (
    ApplicationError,
    NotFoundError,
    PermissionDeniedError,
    StaleVersionError,
)
from cat4.common.htmx import add_form_error
from cat4.common.versioning import posted_version
from cat4.tenancy.decorators import org_view

from . import permissions, selectors, services
from .forms import KpiEditForm, KpiForm, KpiLinkForm, ReadingForm, ReadingsUploadForm
from .models import KpiLink

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


def _require_manage(request):
    if not permissions.can_manage_kpis(membership=request.membership):
        raise PermissionDeniedError("Only admins and executives change KPI definitions.")


def _detail(request, kpi, *, reading_form=None, upload_form=None, row_errors=(), link_form=None,
            status=200):
    can_manage = permissions.can_manage_kpis(membership=request.membership)
    return render(request, "kpis/detail.html", {
        "kpi": kpi, "detail": selectors.kpi_detail(kpi=kpi),
        "can_record": permissions.can_record_reading(membership=request.membership, kpi=kpi),
        "can_manage": can_manage,
        "reading_form": reading_form or ReadingForm(),
        "upload_form": upload_form or ReadingsUploadForm(), "row_errors": row_errors,
        "links": selectors.kpi_links(kpi=kpi),
        "link_form": (link_form or KpiLinkForm(organization=request.organization)
                      if can_manage else None),
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


EDITABLE = ("name", "unit", "direction", "frequency", "baseline", "baseline_date", "target",
            "target_date", "owner", "green_at", "red_below", "description")


@require_http_methods(["GET", "POST"])
@org_view(permissions.can_manage_kpis)
def kpi_edit(request, org_slug, kpi_id):
    kpi = _kpi_or_404(request, kpi_id)
    initial = {field: getattr(kpi, field) for field in EDITABLE}
    initial["version"] = kpi.version
    form = KpiEditForm(request.POST or None, organization=request.organization,
                       initial=initial)
    stale = False
    if request.method == "POST" and form.is_valid():
        changes = dict(form.cleaned_data)
        version = changes.pop("version") or 0  # without a version the form is stale
        try:
            services.kpi_update(membership=request.membership, kpi_id=kpi.pk,
                                version=version, **changes)
        except services.StaleVersionError as exc:
            # Keep the user's input; let them compare with the saved KPI and save again.
            stale = True
            form.add_error(None, exc.message)
            kpi = _kpi_or_404(request, kpi_id)
            form.data = form.data.copy()
            form.data["version"] = kpi.version
        except ApplicationError as exc:
            add_form_error(form, exc)
        else:
            messages.success(request, "KPI saved. The variance is recomputed within a few "
                                      "minutes.")
            return redirect("kpi_detail", org_slug=org_slug, kpi_id=kpi.pk)
    return render(request, "kpis/form.html", {"form": form, "kpi": kpi, "stale": stale},
                  status=409 if stale else (400 if form.errors else 200))


def _cell(period) -> str:
    return f"p-{period:%Y-%m-%d}"


def _plain(value) -> str:
    """A stored value as the user would type it: 12.5000 -> "12.5", nothing for None."""
    if value is None:
        return ""
    return "0" if value == 0 else f"{value.normalize():f}"


@require_http_methods(["GET", "POST"])
@org_view(permissions.can_view_kpis)
def kpi_plan(request, org_slug, kpi_id):
    """The expected path per period: planned values (editable by admins and executives)
    and, where none is planned, the straight line from baseline to target."""
    kpi = _kpi_or_404(request, kpi_id)
    can_manage = permissions.can_manage_kpis(membership=request.membership)
    rows = selectors.kpi_plan(kpi=kpi)
    errors: dict[str, str] = {}
    submitted: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        _require_manage(request)
        known = {_cell(row.period): row for row in rows}
        points = {}
        for row in rows:
            name = _cell(row.period)
            if name not in request.POST:
                continue
            raw = request.POST[name].strip()
            submitted[name] = raw
            old = _plain(row.planned)
            if raw != old:  # send only what changed
                points[row.period] = raw or None
        status = 400
        unknown = [key for key in request.POST if key.startswith("p-") and key not in known]
        if unknown:
            errors["form"] = "Some periods are not periods of this KPI; reload the page."
        else:
            try:
                services.kpi_plan_set(membership=request.membership, kpi_id=kpi.pk,
                                      points=points,
                                      version=posted_version(request.POST.get("version")))
            except StaleVersionError as exc:
                # The input is kept; the page holds the version to save against now.
                errors["form"] = exc.message
                status = 409
            except ApplicationError as exc:
                if isinstance(exc, PermissionDeniedError | NotFoundError):
                    raise
                cell = (exc.field or "").removeprefix("points.")
                errors[f"p-{cell}" if f"p-{cell}" in known else "form"] = exc.message
            else:
                messages.success(request, "Planned values saved. The variance is recomputed "
                                          "within a few minutes.")
                return redirect("kpi_plan", org_slug=org_slug, kpi_id=kpi.pk)
    for row in rows:
        name = _cell(row.period)
        row.name = name
        row.shown = submitted.get(name, _plain(row.planned))
        row.error = errors.get(name, "")
    return render(request, "kpis/plan.html", {
        "kpi": kpi, "rows": rows, "can_manage": can_manage, "form_error": errors.get("form"),
        "has_errors": bool(errors)}, status=status)


@require_POST
@org_view(permissions.can_manage_kpis)
def kpi_link_add(request, org_slug, kpi_id):
    kpi = _kpi_or_404(request, kpi_id)
    form = KpiLinkForm(request.POST, organization=request.organization)
    if form.is_valid():
        data = form.cleaned_data
        try:
            link = services.kpi_link(membership=request.membership, kpi_id=kpi.pk,
                                     initiative=data["initiative"], objective=data["objective"],
                                     weight=data["weight"])
        except ApplicationError as exc:
            add_form_error(form, exc)
        else:
            target = link.initiative or link.objective
            messages.success(request, f"Linked to {target}.")
            return redirect("kpi_detail", org_slug=org_slug, kpi_id=kpi.pk)
    return _detail(request, kpi, link_form=form, status=400)


@require_POST
@org_view(permissions.can_manage_kpis)
def kpi_link_remove(request, org_slug, link_id):
    # The service resolves the id inside the organisation: any other is a 404.
    try:
        link = services.kpi_unlink(membership=request.membership, link_id=link_id,
                                   version=posted_version(request.POST.get("version")))
    except StaleVersionError as exc:  # changed since the page was read: it stays
        messages.error(request, exc.message)
        kpi_id = KpiLink.objects.values_list("kpi_id", flat=True).get(
            organization=request.organization, pk=link_id)
    else:
        messages.success(request, "Link removed.")
        kpi_id = link.kpi_id
    return redirect("kpi_detail", org_slug=org_slug, kpi_id=kpi_id)

"""Export pages: the initiative list as xlsx or csv, with the list's filters."""

from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET

from cat4.tenancy.decorators import org_view

from . import exports
from .permissions import can_export


def _filters_or_400(request):
    try:
        return exports.parse_filters(request.GET, organization=request.organization), None
    except exports.FilterError as exc:
        message = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.errors.items())
        return None, HttpResponse(f"Invalid filters. {message}", status=400,
                                  content_type="text/plain; charset=utf-8")


def attachment_headers(response):
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def csv_response(*, organization, filters):
    response = StreamingHttpResponse(
        exports.initiatives_csv(organization=organization, filters=filters),
        content_type="text/csv; charset=utf-8")
    name = exports.export_file_name(organization, "csv")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return attachment_headers(response)


def xlsx_response(*, organization, filters):
    handle = exports.initiatives_xlsx(organization=organization, filters=filters)
    response = FileResponse(handle, as_attachment=True,
                            filename=exports.export_file_name(organization, "xlsx"),
                            content_type=exports.XLSX_CONTENT_TYPE)
    return attachment_headers(response)


@require_GET
@org_view(can_export)
def export_initiatives_xlsx(request, org_slug):
    filters, error = _filters_or_400(request)
    if error:
        return error
    return xlsx_response(organization=request.organization, filters=filters)


@require_GET
@org_view(can_export)
def export_initiatives_csv(request, org_slug):
    filters, error = _filters_or_400(request)
    if error:
        return error
    return csv_response(organization=request.organization, filters=filters)

"""Board pack pages: the list with the request form, the row htmx polls while the
pack is built, and the permission-checked download."""

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from cat4.common.exceptions import ApplicationError, NotFoundError
from cat4.common.htmx import add_form_error
from cat4.tenancy.decorators import org_view

from . import boardpack
from .filters import BoardPackFilterSet
from .models import JobStatus
from .permissions import can_use_board_packs

ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)


def pack_file_response(pack) -> FileResponse:
    """The ready pack's PDF as an attachment, served like evidence downloads (nosniff,
    sandboxed CSP), for the page and the API; NotFoundError (404 on both) when the pack
    is not ready or its stored file is missing."""
    if pack.status != JobStatus.READY or not pack.file:
        raise NotFoundError("This pack is not ready.")
    try:
        handle = pack.file.open("rb")
    except FileNotFoundError as exc:
        raise NotFoundError("The stored file is missing.") from exc
    response = FileResponse(handle, as_attachment=True,
                            filename=boardpack.download_name(pack),
                            content_type="application/pdf")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _pack_or_404(request, pack_id):
    pack = boardpack.board_pack_get(organization=request.organization, pack_id=pack_id)
    if pack is None:
        raise Http404("No such board pack.")
    return pack


@require_http_methods(["GET", "POST"])
@org_view(can_use_board_packs)
def board_pack_list(request, org_slug):
    org = request.organization
    filterset = BoardPackFilterSet(request.POST or None, organization=org)
    form = filterset.form
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                pack = boardpack.board_pack_request(
                    membership=request.membership, title=form.cleaned_data["title"],
                    changes_since=form.cleaned_data["changes_since"],
                    filters=filterset.pack_filters())
            except ApplicationError as exc:
                add_form_error(form, exc)
            else:
                messages.success(request, f"“{pack.title}” is queued; this page shows its "
                                          "progress.")
                return redirect("board_pack_list", org_slug=org_slug)
        status = 400
    packs = list(boardpack.board_pack_list(organization=org)[:50])
    return render(request, "reporting/board_packs.html",
                  {"form": form, "packs": packs, "active": ACTIVE}, status=status)


@require_GET
@org_view(can_use_board_packs)
def board_pack_row(request, org_slug, pack_id):
    """One row of the list: htmx polls it every 2 s while the pack is queued or
    running; the answer for a finished pack carries no trigger, so polling stops."""
    pack = _pack_or_404(request, pack_id)
    return render(request, "reporting/board_packs.html#pack-row",
                  {"pack": pack, "active": ACTIVE})


@require_GET
@org_view(can_use_board_packs)
def board_pack_download(request, org_slug, pack_id):
    return pack_file_response(_pack_or_404(request, pack_id))

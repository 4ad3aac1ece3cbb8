"""The initiative's page, gate actions on an initiative, evidence, re-baselines, the
review queue, the inbox and the decision log."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from cat4.common.exceptions import ApplicationError
from cat4.common.htmx import add_form_error
from cat4.common.months import parse_month_key
from cat4.common.resolvers import object_in_org_or_404
from cat4.tenancy.decorators import org_view
from initiatives import permissions as initiative_permissions
from initiatives import selectors as initiative_selectors
from initiatives.views import initiative_context

from . import permissions, selectors, services
from .forms import (
    DecisionEntryForm,
    DecisionForm,
    EvidenceForm,
    GateSubmitForm,
    NotificationPreferencesForm,
    ReasonForm,
)
from .models import Approval, Evidence, Rebaseline


def _back(initiative_id, org_slug):
    """Back to the initiative's gate panel, where the action and its message are."""
    url = reverse("initiative_detail", kwargs={"org_slug": org_slug,
                                               "initiative_id": initiative_id})
    return redirect(f"{url}#gate")


def _initiative_or_404(request, initiative_id):
    initiative = initiative_selectors.initiative_get(organization=request.organization,
                                                     initiative_id=initiative_id)
    if initiative is None:
        raise Http404("No such initiative.")
    return initiative


def _refused(request, exc: ApplicationError):
    """A refusal becomes a message on the initiative page; 403/404 become those pages."""
    if exc.status_code in (403, 404):
        raise exc
    messages.error(request, exc.message)


@org_view(initiative_permissions.can_view_initiatives)
def initiative_detail(request, org_slug, initiative_id):
    """The initiative's page: its own part (``initiatives.views.initiative_context``), and
    the gate panel, the evidence and a pending re-baseline, which governance holds."""
    initiative = _initiative_or_404(request, initiative_id)
    membership = request.membership
    context = initiative_context(request, initiative)
    rebaseline, rebaseline_changes = selectors.pending_rebaseline(initiative=initiative,
                                                                  grids=context["grids"])
    evidence = list(selectors.evidence_of(initiative=initiative))
    context.update({
        "evidence": evidence,
        "removable_evidence": {e.pk for e in evidence if permissions.can_remove_evidence(
            membership=membership, evidence=e)},
        "rebaseline": rebaseline,
        "rebaseline_changes": rebaseline_changes,
        "can_decide_rebaseline": permissions.can_decide_rebaseline(membership=membership,
                                                                   initiative=initiative),
        "can_attach": permissions.can_attach_evidence(membership=membership,
                                                      initiative=initiative),
        "gate": selectors.gate_panel(initiative=initiative, membership=membership),
    })
    return render(request, "initiatives/detail.html", context)


@require_POST
@org_view(initiative_permissions.can_view_initiatives)
def gate_submit(request, org_slug, initiative_id):
    initiative = _initiative_or_404(request, initiative_id)
    panel = selectors.gate_panel(initiative=initiative, membership=request.membership)
    form = GateSubmitForm(request.POST, checklist=panel.checklist)
    if form.is_valid():
        try:
            services.gate_submit(membership=request.membership, initiative_id=initiative.pk,
                                 comment=form.cleaned_data["comment"],
                                 confirmed_checklist=form.cleaned_data.get("confirmed", []))
        except ApplicationError as exc:
            _refused(request, exc)
        else:
            messages.success(request, f"Submitted for the {panel.next_gate_label} gate. "
                                      "The approvers have been notified.")
    else:
        messages.error(request, "Check the form.")
    return _back(initiative.pk, org_slug)


@require_POST
@org_view(permissions.can_view_reviews)
def approval_decide(request, org_slug, approval_id):
    approval = object_in_org_or_404(Approval.objects.select_related("submission"),
                                    organization=request.organization, ref=approval_id,
                                    message="No such approval.")
    form = DecisionForm(request.POST)
    if form.is_valid():
        try:
            services.approval_decide(membership=request.membership, approval_id=approval.pk,
                                     **form.cleaned_data)
        except ApplicationError as exc:
            _refused(request, exc)
        else:
            verb = "Approved" if form.cleaned_data["decision"] == "approved" else "Rejected"
            messages.success(request, f"{verb}.")
    else:
        messages.error(request, "Choose approve or reject.")
    next_url = request.POST.get("next")
    if next_url == "reviews":
        return redirect("my_reviews", org_slug=org_slug)
    return _back(approval.submission.initiative_id, org_slug)


def _reason_action(service, success: str):
    @require_POST
    @org_view(initiative_permissions.can_view_initiatives)
    def view(request, org_slug, initiative_id):
        initiative = _initiative_or_404(request, initiative_id)
        form = ReasonForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Give a reason.")
            return _back(initiative.pk, org_slug)
        try:
            service(membership=request.membership, initiative_id=initiative.pk,
                    reason=form.cleaned_data["reason"])
        except ApplicationError as exc:
            _refused(request, exc)
        else:
            messages.success(request, success)
        return _back(initiative.pk, org_slug)

    return view


initiative_hold = _reason_action(services.initiative_hold, "Put on hold.")
initiative_cancel = _reason_action(services.initiative_cancel, "Cancelled.")


def _plain_action(service, success: str):
    @require_POST
    @org_view(initiative_permissions.can_view_initiatives)
    def view(request, org_slug, initiative_id):
        initiative = _initiative_or_404(request, initiative_id)
        try:
            service(membership=request.membership, initiative_id=initiative.pk)
        except ApplicationError as exc:
            _refused(request, exc)
        else:
            messages.success(request, success)
        return _back(initiative.pk, org_slug)

    return view


initiative_resume = _plain_action(services.initiative_resume, "Resumed.")
value_validate = _plain_action(services.value_validate, "Realised value validated.")


@org_view(permissions.can_view_reviews)
def my_reviews(request, org_slug):
    org = request.organization
    return render(request, "governance/reviews.html", {
        "reviews": selectors.reviews_for(organization=org, user=request.user),
        "rebaselines": selectors.rebaselines_for(organization=org, user=request.user),
        "decided": selectors.decided_by(organization=org, user=request.user),
        "now": timezone.now(),
    })


@org_view(initiative_permissions.can_view_initiatives)
def inbox(request, org_slug):
    org = request.organization
    page = Paginator(selectors.inbox_for(organization=org, user=request.user), 30).get_page(
        request.GET.get("page"))
    return render(request, "governance/inbox.html", {"page": page})


@require_POST
@org_view(initiative_permissions.can_view_initiatives)
def inbox_mark_read(request, org_slug):
    services.notifications_mark_read(membership=request.membership)
    return redirect("inbox", org_slug=org_slug)


@require_http_methods(["GET", "POST"])
@org_view(permissions.can_view_decisions)
def decision_log(request, org_slug):
    org = request.organization
    can_record = permissions.can_record_decisions(membership=request.membership)
    form = DecisionEntryForm(request.POST or None, organization=org,
                             initial={"date": timezone.localdate()}) if can_record else None
    status = 200
    if request.method == "POST":
        if form is None:
            raise PermissionDenied("Only admins and executives record decisions.")
        if form.is_valid():
            try:
                services.decision_log_add(membership=request.membership, **form.cleaned_data)
            except ApplicationError as exc:
                add_form_error(form, exc)
            else:
                messages.success(request, "Decision recorded.")
                return redirect("decision_log", org_slug=org_slug)
        status = 400
    page = Paginator(selectors.decision_log(organization=org), 30).get_page(
        request.GET.get("page"))
    return render(request, "governance/decisions.html", {"page": page, "form": form},
                  status=status)


@require_POST
@org_view(initiative_permissions.can_view_initiatives)
def evidence_upload(request, org_slug, initiative_id):
    initiative = _initiative_or_404(request, initiative_id)
    form = EvidenceForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            evidence = services.evidence_upload(
                membership=request.membership, initiative_id=initiative.pk,
                upload=form.cleaned_data["file"],
                description=form.cleaned_data["description"])
        except ApplicationError as exc:
            _refused(request, exc)
        else:
            messages.success(request, f"{evidence.file_name} attached"
                                      + (" to the pending submission." if evidence.submission_id
                                         else "."))
    else:
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    url = reverse("initiative_detail", kwargs={"org_slug": org_slug,
                                               "initiative_id": initiative.pk})
    return redirect(f"{url}#evidence")


@org_view(initiative_permissions.can_view_initiatives)
def evidence_download(request, org_slug, evidence_id):
    """Every member may read an initiative, so every member may read its evidence; a
    stranger gets 404 like for any other object of the organisation."""
    evidence = object_in_org_or_404(Evidence, organization=request.organization,
                                    ref=evidence_id, message="No such document.")
    try:
        handle = evidence.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404("The stored file is missing.") from exc
    response = FileResponse(handle, as_attachment=True, filename=evidence.file_name,
                            content_type=evidence.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@require_POST
@org_view(initiative_permissions.can_view_initiatives)
def evidence_delete(request, org_slug, evidence_id):
    evidence = object_in_org_or_404(Evidence, organization=request.organization,
                                    ref=evidence_id, message="No such document.")
    try:
        services.evidence_delete(membership=request.membership, evidence_id=evidence.pk)
    except ApplicationError as exc:
        _refused(request, exc)
    else:
        messages.success(request, f"{evidence.file_name} removed.")
    url = reverse("initiative_detail", kwargs={"org_slug": org_slug,
                                               "initiative_id": evidence.initiative_id})
    return redirect(f"{url}#evidence")


@require_http_methods(["GET", "POST"])
@org_view(initiative_permissions.can_view_initiatives)
def rebaseline_request(request, org_slug, initiative_id):
    """The planned-values grid of a frozen plan, to propose new values with a reason.
    Only the cells that differ from the current plan are sent to the controller."""
    initiative = _initiative_or_404(request, initiative_id)
    if not initiative_permissions.can_edit_initiative(membership=request.membership,
                                                      initiative=initiative):
        raise PermissionDenied("Only the owner or an admin asks for a re-baseline.")
    months, grids = initiative_selectors.value_grid(initiative=initiative)
    errors: dict[str, str] = {}
    submitted: dict[str, str] = {}
    reason = ""
    problem = ""
    status = 200
    if request.method == "POST":
        reason = request.POST.get("reason", "")
        current = {f"v-{g.line.pk}-{m:%Y-%m}": g.cells.get((m, "planned"))
                   for g in grids for m in months}
        changed: dict[int, dict] = {}
        for key, raw in request.POST.items():
            if not key.startswith("v-"):
                continue
            submitted[key] = raw
            if key not in current:
                errors[key] = "Not a cell of this grid."
                continue
            before = current[key]
            if raw.strip() == ("" if before is None else f"{before:f}"):
                continue
            _v, line_id, month_key = key.split("-", 2)
            changed.setdefault(int(line_id), {})[parse_month_key(month_key)] = raw
        if not errors:
            try:
                services.rebaseline_request(membership=request.membership,
                                            initiative_id=initiative.pk, reason=reason,
                                            values=changed)
            except ApplicationError as exc:
                if exc.status_code in (403, 404):
                    raise
                problem = exc.message
            else:
                messages.success(request, "Re-baseline sent to the controller for approval.")
                return _back(initiative.pk, org_slug)
        status = 400
    return render(request, "governance/rebaseline.html", {
        "initiative": initiative, "months": months, "grids": grids, "errors": errors,
        "submitted": submitted, "reason": reason, "problem": problem}, status=status)


@require_POST
@org_view(initiative_permissions.can_view_initiatives)
def rebaseline_decide(request, org_slug, rebaseline_id):
    rebaseline = object_in_org_or_404(Rebaseline, organization=request.organization,
                                      ref=rebaseline_id, message="No such re-baseline.")
    form = DecisionForm(request.POST)
    if form.is_valid():
        try:
            services.rebaseline_decide(membership=request.membership,
                                       rebaseline_id=rebaseline.pk, **form.cleaned_data)
        except ApplicationError as exc:
            _refused(request, exc)
        else:
            messages.success(request, "Re-baseline approved: the plan is updated."
                             if form.cleaned_data["decision"] == "approved"
                             else "Re-baseline rejected.")
    else:
        messages.error(request, "Choose approve or reject.")
    if request.POST.get("next") == "reviews":
        return redirect("my_reviews", org_slug=org_slug)
    return _back(rebaseline.initiative_id, org_slug)


# --- Notification preferences ------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@org_view(initiative_permissions.can_view_initiatives)
def notification_preferences(request, org_slug):
    """The member's own choices: every member manages their own, nobody else's."""
    current = selectors.notification_preferences_of(organization=request.organization,
                                                    user=request.user)
    form = NotificationPreferencesForm(request.POST or None, initial=current)
    if request.method == "POST" and form.is_valid():
        try:
            services.notification_preferences_set(membership=request.membership,
                                                  preferences=form.cleaned_data)
        except ApplicationError as exc:
            add_form_error(form, exc)
        else:
            messages.success(request, "Notification preferences saved.")
            return redirect("notification_preferences", org_slug=org_slug)
    return render(request, "governance/preferences.html", {"form": form},
                  status=400 if form.errors else 200)

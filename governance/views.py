"""Gate actions on an initiative, the review queue, the inbox and the decision log."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from cat4.common.exceptions import ApplicationError
from cat4.tenancy.decorators import org_view
from initiatives import permissions as initiative_permissions
from initiatives import selectors as initiative_selectors
from initiatives.forms import DecisionForm, GateSubmitForm, ReasonForm

from . import permissions, selectors, services
from .models import Approval


def _back(initiative_id, org_slug):
    return redirect("initiative_detail", org_slug=org_slug, initiative_id=initiative_id)


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
    approval = Approval.objects.filter(organization=request.organization,
                                       pk=approval_id).select_related("submission").first()
    if approval is None:
        raise Http404("No such approval.")
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


@org_view(permissions.can_view_decisions)
def decision_log(request, org_slug):
    page = Paginator(selectors.decision_log(organization=request.organization), 30).get_page(
        request.GET.get("page"))
    return render(request, "governance/decisions.html", {"page": page})

"""The organisation's governance settings (admins): gate criteria and approvers,
value rules, and the lists initiatives draw on."""

from decimal import Decimal

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from cat4.common.exceptions import (
    ApplicationError,
    NotFoundError,
    PermissionDeniedError,
    StaleVersionError,
)
from cat4.common.htmx import add_form_error
from cat4.common.versioning import posted_version
from cat4.tenancy.decorators import org_view
from initiatives import services as initiative_services

from . import permissions, selectors, services
from .forms import ApproversForm, ChecklistForm, ListItemForm, ValueSettingsForm
from .models import ApproverRole

LISTS = [
    ("business_unit", "Business units"),
    ("function", "Functions"),
    ("portfolio", "Portfolios"),
    ("program", "Programs"),
    ("objective", "Strategic objectives"),
]


def _pct(share: Decimal) -> str:
    """0.950 -> "95", 0.975 -> "97.5" (no trailing zeros, never an exponent)."""
    text = f"{share * 100:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _page(request, *, value_form=None, checklist_form=None, list_forms=None, status=200):
    org = request.organization
    settings = initiative_services.value_settings_for(org)
    overview = selectors.settings_overview(organization=org)
    list_forms = list_forms or {}
    lists = [{"kind": kind, "label": label, "items": overview["lists"][kind],
              "form": list_forms.get(kind) or ListItemForm(organization=org, prefix=kind)}
             for kind, label in LISTS]
    gates = overview["gates"]
    return render(request, "governance/settings.html", {
        "gates": gates, "approver_roles": ApproverRole.choices, "lists": lists,
        "value_form": value_form or ValueSettingsForm(initial={
            "green_at": _pct(settings.green_at), "red_below": _pct(settings.red_below),
            "actuals_entry": settings.actuals_entry}),
        "checklist_form": checklist_form or ChecklistForm(),
    }, status=status)


@org_view(permissions.can_configure_gates)
def governance_settings(request, org_slug):
    return _page(request)


@require_POST
@org_view(permissions.can_configure_gates)
def value_settings_save(request, org_slug):
    form = ValueSettingsForm(request.POST)
    if form.is_valid():
        try:
            initiative_services.value_settings_update(
                membership=request.membership,
                green_at=form.cleaned_data["green_at"] / 100,
                red_below=form.cleaned_data["red_below"] / 100,
                actuals_entry=form.cleaned_data["actuals_entry"])
        except ApplicationError as exc:
            add_form_error(form, exc)
        else:
            messages.success(request, "Value rules saved.")
            return redirect("governance_settings", org_slug=org_slug)
    return _page(request, value_form=form, status=400)


@require_POST
@org_view(permissions.can_configure_gates)
def checklist_add(request, org_slug):
    form = ChecklistForm(request.POST)
    if form.is_valid():
        try:
            services.gate_checklist_add(membership=request.membership, **form.cleaned_data)
        except ApplicationError as exc:
            add_form_error(form, exc)
        else:
            messages.success(request, "Checklist item added.")
            return redirect("governance_settings", org_slug=org_slug)
    return _page(request, checklist_form=form, status=400)


@require_POST
@org_view(permissions.can_configure_gates)
def criterion_toggle(request, org_slug, criterion_id):
    active = request.POST.get("active") == "true"
    try:
        services.gate_criterion_set_active(
            membership=request.membership, criterion_id=criterion_id, active=active,
            version=posted_version(request.POST.get("version")))
    except StaleVersionError as exc:
        messages.error(request, f"The criterion was not changed: {exc.message}")
    else:
        messages.success(request,
                         "Criterion switched on." if active else "Criterion switched off.")
    return redirect("governance_settings", org_slug=org_slug)


@require_POST
@org_view(permissions.can_configure_gates)
def approvers_save(request, org_slug, gate):
    form = ApproversForm(request.POST)
    roles = form.cleaned_data["roles"] if form.is_valid() else []
    try:
        services.gate_approvers_set(membership=request.membership, gate=gate, roles=roles)
    except ApplicationError as exc:
        add_form_error(form, exc)
        messages.error(request, exc.message)
    else:
        messages.success(request, "Approvers saved.")
    return redirect("governance_settings", org_slug=org_slug)


@require_POST
@org_view(permissions.can_configure_gates)
def list_item_add(request, org_slug, kind):
    form = ListItemForm(request.POST, organization=request.organization, prefix=kind)
    if form.is_valid():
        try:
            initiative_services.list_item_create(membership=request.membership, kind=kind,
                                                 **form.cleaned_data)
        except ApplicationError as exc:
            add_form_error(form, exc)
        else:
            messages.success(request, "Added.")
            return redirect("governance_settings", org_slug=org_slug)
    return _page(request, list_forms={kind: form}, status=400)


@require_POST
@org_view(permissions.can_configure_gates)
def list_item_remove(request, org_slug, kind, item_id):
    try:
        initiative_services.list_item_delete(membership=request.membership, kind=kind,
                                             item_id=item_id)
    except (PermissionDeniedError, NotFoundError):
        raise
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Removed.")
    return redirect("governance_settings", org_slug=org_slug)

"""Initiative pages: list, the initiative's own part of its page (the page is
governance.views.initiative_detail), create and edit, milestones, impact lines,
the values grid and status updates. Views parse input, call a selector or a
service, and render; rules live in services and permissions."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from cat4.common.exceptions import ApplicationError, PermissionDeniedError, StaleVersionError
from cat4.common.htmx import add_form_error, partial_template
from cat4.common.months import parse_month_key
from cat4.common.resolvers import object_in_org_or_404
from cat4.common.versioning import posted_version
from cat4.tenancy.decorators import org_view

from . import permissions, selectors, services
from .filters import InitiativeFilterSet
from .forms import (
    DependencyForm,
    ImpactLineForm,
    InitiativeForm,
    MilestoneEditForm,
    MilestoneForm,
    RiskEditForm,
    RiskForm,
    StatusUpdateForm,
)
from .models import Dependency, ImpactLine, Initiative, Milestone, Risk, ValueKind

PAGE_SIZE = 25


def _initiative_or_404(request, initiative_id):
    initiative = selectors.initiative_get(organization=request.organization,
                                          initiative_id=initiative_id)
    if initiative is None:
        raise Http404("No such initiative.")
    return initiative


def _require(allowed: bool):
    if not allowed:
        raise PermissionDeniedError("Your role does not allow this.")


@vary_on_headers("HX-Request")
@org_view(permissions.can_view_initiatives)
def initiative_list(request, org_slug):
    org = request.organization
    filterset = InitiativeFilterSet(request.GET or None, organization=org)
    form = filterset.form
    # An invalid field (an id of another organisation...) shows its error and is left
    # out; the other filters still apply.
    qs = selectors.initiative_list(organization=org, **filterset.list_filters())
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    totals = selectors.value_totals(organization=org,
                                   initiative_ids=[i.pk for i in page.object_list])
    today = timezone.localdate()
    rows = [(i, totals.get(i.pk, {}), selectors.freshness_of(i, today=today))
            for i in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    for name in form.errors:  # pages and exports carry the filters that apply
        query.pop(name, None)
    context = {"form": form, "page": page, "rows": rows, "query": query.urlencode(),
               "can_create": permissions.can_create_initiative(membership=request.membership)}
    template = partial_template(request, "initiatives/list.html", "results")
    return render(request, template, context)


def initiative_context(request, initiative: Initiative) -> dict:
    """The initiative's own part of its page: the page itself is
    ``governance.views.initiative_detail``, which adds the gate panel, the evidence and a
    pending re-baseline (initiatives never import governance)."""
    months, grids = selectors.value_grid(initiative=initiative)
    membership = request.membership
    return {
        "initiative": initiative,
        "months": months,
        "grids": grids,
        "kinds": ValueKind.choices,
        "status": selectors.initiative_status(initiative=initiative, grids=grids),
        "milestones": selectors.milestones_of(initiative=initiative),
        "updates": initiative.status_updates.select_related("author")[:5],
        "history": selectors.history_of(initiative=initiative),
        "dependencies": selectors.dependencies_of(initiative=initiative),
        "risks": initiative.risks.select_related("owner"),
        "fiscal": selectors.fiscal_summary(initiative=initiative, grids=grids),
        "plan_frozen": not permissions.value_kind_editable(initiative=initiative,
                                                           kind=ValueKind.PLANNED)[0],
        "can_edit": permissions.can_edit_initiative(membership=membership,
                                                    initiative=initiative),
        "can_hold": permissions.can_hold_or_cancel(membership=membership,
                                                   initiative=initiative),
        "can_validate": permissions.can_validate_value(membership=membership,
                                                       initiative=initiative),
        "editable_kinds": [
            kind for kind, _label in ValueKind.choices
            if permissions.value_kind_editable(initiative=initiative, kind=kind)[0]
            and permissions.can_edit_values(
                membership=membership, initiative=initiative, kind=kind,
                actuals_entry=services.value_settings_for(request.organization).actuals_entry)],
    }


def _initiative_values(form: InitiativeForm) -> dict:
    data = dict(form.cleaned_data)
    data.pop("version", None)
    if data.get("update_cadence_days") is None:  # not sent: keep it (or the default)
        data.pop("update_cadence_days", None)
    data["objectives"] = list(data.get("objectives") or [])
    return data


@require_http_methods(["GET", "POST"])
@org_view(permissions.can_create_initiative)
def initiative_create(request, org_slug):
    org = request.organization
    form = InitiativeForm(request.POST or None, organization=org,
                          initial={"owner": request.user.pk})
    if request.method == "POST" and form.is_valid():
        try:
            initiative = services.initiative_create(membership=request.membership,
                                                    **_initiative_values(form))
        except ApplicationError as exc:
            add_form_error(form, exc)
        else:
            messages.success(request, f"{initiative.code} created.")
            return redirect("initiative_detail", org_slug=org_slug,
                            initiative_id=initiative.pk)
    return render(request, "initiatives/form.html", {"form": form, "initiative": None},
                  status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@org_view(permissions.can_view_initiatives)
def initiative_edit(request, org_slug, initiative_id):
    initiative = _initiative_or_404(request, initiative_id)
    _require(permissions.can_edit_initiative(membership=request.membership,
                                             initiative=initiative))
    initial = {f: getattr(initiative, f) for f in services.FIELDS}
    initial.update(version=initiative.version, objectives=list(initiative.objectives.all()))
    form = InitiativeForm(request.POST or None, organization=request.organization,
                          initial=initial)
    stale = False
    if request.method == "POST" and form.is_valid():
        try:
            services.initiative_update(membership=request.membership,
                                       initiative_id=initiative.pk,
                                       version=form.cleaned_data.get("version") or 0,
                                       **_initiative_values(form))
        except services.StaleVersionError as exc:
            # Keep the user's input; show what changed meanwhile and let them save again.
            stale = True
            form.add_error(None, exc.message)
            initiative = _initiative_or_404(request, initiative_id)
            form.data = form.data.copy()
            form.data["version"] = initiative.version
        except ApplicationError as exc:
            add_form_error(form, exc)
        else:
            messages.success(request, "Saved.")
            return redirect("initiative_detail", org_slug=org_slug, initiative_id=initiative.pk)
    return render(request, "initiatives/form.html",
                  {"form": form, "initiative": initiative, "stale": stale},
                  status=409 if stale else (400 if form.errors else 200))


def _form_page(request, *, initiative, form, save, success: str, title: str, submit: str,
               current_version=None):
    """The shared flow of a small form on an initiative: on a valid POST call ``save``
    (a service call taking the cleaned data), redirect to the initiative with a
    message; otherwise show the form with its errors (400). An edit form carries the
    version read; when someone saved since, the input is kept with the version
    ``current_version()`` gives, to save against now (409)."""
    stale = False
    if request.method == "POST" and form.is_valid():
        try:
            save(form.cleaned_data)
        except StaleVersionError as exc:
            stale = True
            form.add_error(None, exc.message)
            form.data = form.data.copy()
            form.data["version"] = current_version()
        except ApplicationError as exc:
            add_form_error(form, exc)
        else:
            messages.success(request, success)
            return redirect("initiative_detail", org_slug=request.organization.slug,
                            initiative_id=initiative.pk)
    return render(request, "initiatives/simple_form.html", {
        "form": form, "initiative": initiative, "title": title, "submit": submit,
        "stale": stale}, status=409 if stale else (400 if form.errors else 200))


def _versioned(data: dict) -> dict:
    """An edit form's cleaned data for its service: without a version it is stale."""
    return {**data, "version": data.get("version") or 0}


def _editable_or_403(request, initiative_id):
    initiative = _initiative_or_404(request, initiative_id)
    _require(permissions.can_edit_initiative(membership=request.membership,
                                             initiative=initiative))
    return initiative


def _add_view(form_class, service, *, success: str, title: str, submit: str,
              form_kwargs=lambda request, initiative: {}, initial=lambda request: {}):
    """A page that adds one thing (milestone, line, update, dependency, risk) to an
    initiative through ``service``."""

    @require_http_methods(["GET", "POST"])
    @org_view(permissions.can_view_initiatives)
    def view(request, org_slug, initiative_id):
        initiative = _editable_or_403(request, initiative_id)
        form = form_class(request.POST or None, initial=initial(request),
                          **form_kwargs(request, initiative))
        return _form_page(
            request, initiative=initiative, form=form, success=success, title=title,
            submit=submit,
            save=lambda data: service(membership=request.membership,
                                      initiative_id=initiative.pk, **data))

    return view


milestone_add = _add_view(MilestoneForm, services.milestone_create, success="Milestone added.",
                          title="Add a milestone", submit="Add milestone")
impact_line_add = _add_view(ImpactLineForm, services.impact_line_create,
                            success="Impact line added.", title="Add an impact line",
                            submit="Add line")
status_update_add = _add_view(StatusUpdateForm, services.status_update_create,
                              success="Status update posted.", title="Post a status update",
                              submit="Post update")
dependency_add = _add_view(
    DependencyForm, services.dependency_add, success="Dependency added.",
    title="Add a dependency", submit="Add dependency",
    form_kwargs=lambda request, initiative: {"organization": request.organization,
                                             "initiative": initiative})
risk_add = _add_view(
    RiskForm, services.risk_add, success="Risk added.", title="Add a risk", submit="Add risk",
    form_kwargs=lambda request, initiative: {"organization": request.organization},
    initial=lambda request: {"owner": request.user.pk})


@require_http_methods(["GET", "POST"])
@org_view(permissions.can_view_initiatives)
def milestone_edit(request, org_slug, milestone_id):
    milestone = object_in_org_or_404(Milestone.objects.select_related("initiative"),
                                     organization=request.organization, ref=milestone_id,
                                     message="No such milestone.")
    initiative = _editable_or_403(request, milestone.initiative_id)
    initial = {f: getattr(milestone, f) for f in MilestoneEditForm.base_fields}
    return _form_page(
        request, initiative=initiative,
        form=MilestoneEditForm(request.POST or None, initial=initial),
        success="Milestone saved.", title=f"Milestone: {milestone.title}",
        submit="Save milestone",
        save=lambda data: services.milestone_update(membership=request.membership,
                                                    milestone_id=milestone.pk,
                                                    **_versioned(data)),
        current_version=lambda: Milestone.objects.values_list("version", flat=True).get(
            pk=milestone.pk))


@require_http_methods(["GET", "POST"])
@org_view(permissions.can_view_initiatives)
def values_edit(request, org_slug, initiative_id, kind):
    """Edit one kind of value (planned, forecast or actual) for every line and month."""
    initiative = _initiative_or_404(request, initiative_id)
    if kind not in ValueKind.values:
        raise Http404("No such kind of value.")
    actuals_entry = services.value_settings_for(request.organization).actuals_entry
    _require(permissions.can_edit_values(membership=request.membership, initiative=initiative,
                                         kind=kind, actuals_entry=actuals_entry))
    editable, why = permissions.value_kind_editable(initiative=initiative, kind=kind)
    months, grids = selectors.value_grid(initiative=initiative)
    errors: dict[str, str] = {}
    submitted: dict[str, str] = {}
    stale = ""
    status = 200
    if request.method == "POST":
        if not editable:
            messages.error(request, why)
            return redirect("initiative_detail", org_slug=org_slug, initiative_id=initiative.pk)
        lines = {str(g.line.pk): g.line for g in grids}
        by_line: dict[ImpactLine, dict] = {}
        for key, raw in request.POST.items():
            if not key.startswith("v-"):
                continue
            _prefix, _sep, rest = key.partition("-")
            line_id, _sep, month_key = rest.partition("-")
            month = parse_month_key(month_key)
            if line_id not in lines or month is None:
                errors[key] = "Not a cell of this grid."
                continue
            submitted[key] = raw
            by_line.setdefault(lines[line_id], {})[month] = raw
        if not errors:
            try:
                with transaction.atomic():
                    for line, values in by_line.items():
                        # Each line's version read is in a hidden field.
                        version = posted_version(request.POST.get(f"version-{line.pk}"))
                        try:
                            services.monthly_values_set(membership=request.membership,
                                                        line_id=line.pk, kind=kind,
                                                        values=values, version=version)
                        except StaleVersionError as exc:
                            stale = f"{line.description}: {exc.message}"
                            raise
                        except ApplicationError as exc:
                            cell = (exc.field or "").removeprefix("values.")
                            errors[f"v-{line.pk}-{cell}"] = exc.message
                            raise
            except ApplicationError:
                pass
            else:
                messages.success(request, f"{ValueKind(kind).label} values saved.")
                return redirect("initiative_detail", org_slug=org_slug,
                                initiative_id=initiative.pk)
        status = 400
        if stale:  # the input is kept, with the versions to save against now
            months, grids = selectors.value_grid(initiative=initiative)
            status = 409
    return render(request, "initiatives/values_edit.html", {
        "initiative": initiative, "kind": kind, "kind_label": ValueKind(kind).label,
        "months": months, "grids": grids, "editable": editable, "why": why,
        "errors": errors, "submitted": submitted, "stale": stale,
    }, status=status)


@require_POST
@org_view(permissions.can_view_initiatives)
def milestone_delete(request, org_slug, milestone_id):
    milestone = object_in_org_or_404(Milestone, organization=request.organization,
                                     ref=milestone_id, message="No such milestone.")
    try:
        services.milestone_delete(membership=request.membership, milestone_id=milestone.pk,
                                  version=posted_version(request.POST.get("version")))
    except StaleVersionError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Milestone deleted.")
    return redirect("initiative_detail", org_slug=org_slug, initiative_id=milestone.initiative_id)


@require_POST
@org_view(permissions.can_view_initiatives)
def dependency_remove(request, org_slug, dependency_id):
    dependency = object_in_org_or_404(Dependency, organization=request.organization,
                                      ref=dependency_id, message="No such dependency.")
    services.dependency_remove(membership=request.membership, dependency_id=dependency.pk)
    messages.success(request, "Dependency removed.")
    return redirect("initiative_detail", org_slug=org_slug,
                    initiative_id=dependency.initiative_id)


@require_http_methods(["GET", "POST"])
@org_view(permissions.can_view_initiatives)
def risk_edit(request, org_slug, risk_id):
    risk = object_in_org_or_404(Risk, organization=request.organization, ref=risk_id,
                                message="No such risk.")
    initiative = _editable_or_403(request, risk.initiative_id)
    initial = {f: getattr(risk, f) for f in
               ("description", "probability", "impact", "mitigation", "status", "version")}
    initial["owner"] = risk.owner_id
    form = RiskEditForm(request.POST or None, organization=request.organization,
                        initial=initial)
    return _form_page(
        request, initiative=initiative, form=form, success="Risk saved.", title="Risk",
        submit="Save risk",
        save=lambda data: services.risk_update(membership=request.membership,
                                               risk_id=risk.pk, **_versioned(data)),
        current_version=lambda: Risk.objects.values_list("version", flat=True).get(
            pk=risk.pk))

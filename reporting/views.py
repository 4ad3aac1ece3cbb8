"""The executive dashboard and its drill-down. Thin: parse the filters, call a
selector, render (the filtered part alone for htmx requests)."""

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.vary import vary_on_headers

from cat4.common.htmx import partial_template
from cat4.tenancy.decorators import org_view
from governance.permissions import can_view_escalations
from initiatives.permissions import can_view_initiatives

from . import selectors
from .filters import DashboardAsOfFilterSet, DrillFilterSet
from .history_views import as_of_context
from .permissions import can_use_board_packs

PAGE_SIZE = 25


@vary_on_headers("HX-Request")
@org_view(can_view_initiatives)
def dashboard(request, org_slug):
    org = request.organization
    filterset = DashboardAsOfFilterSet(request.GET or None, organization=org)
    filters = filterset.dashboard_filters()
    data = selectors.dashboard(organization=org, membership=request.membership,
                               filters=filters)
    return render(request, partial_template(request, "reporting/dashboard.html", "results"), {
        "form": filterset.form, "d": data, "query": data.filters.query(),
        "can_use_board_packs": can_use_board_packs(membership=request.membership),
        **as_of_context(organization=org, when=filterset.as_of_date(), filters=filters)})


@vary_on_headers("HX-Request")
@org_view(can_view_initiatives)
def dashboard_initiatives(request, org_slug):
    org = request.organization
    filterset = DrillFilterSet(request.GET or None, organization=org)
    form = filterset.form
    filters, drill = filterset.dashboard_filters(), filterset.drill()
    if drill.escalation_level is not None and not can_view_escalations(
            membership=request.membership):
        raise PermissionDenied  # escalations are not shown to viewers
    qs = selectors.drill_queryset(organization=org, filters=filters, drill=drill)
    sort = request.GET.get("sort") or drill.default_sort
    page = Paginator(selectors.drill_rows(qs, sort=sort), PAGE_SIZE).get_page(
        request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    described = [(form.fields[name].label or name.replace("_", " ").capitalize(),
                  {str(k): v for k, v in form.fields[name].choices}.get(str(value), value))
                 for name, value in drill.params().items()]
    return render(request, partial_template(request, "reporting/dashboard_initiatives.html",
                                    "results"), {
        "form": form, "page": page, "totals": selectors.drill_totals(qs),
        "filters": filters, "drill": drill, "described": described,
        "query": query.urlencode(), "dashboard_query": filters.query(),
        "as_of": selectors.figures_as_of(organization=org),
        "fiscal_label": dict(form.fields["fiscal_year"].choices).get(filters.fiscal_year),
    })

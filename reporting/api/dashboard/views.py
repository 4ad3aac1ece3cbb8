"""The dashboard's two API views, thin over the pages' own reads."""

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.settings import api_settings

from cat4.common.api import filterset_parameters, form_errors
from cat4.tenancy.api.base import OrgAPIView
from governance.permissions import can_view_escalations
from initiatives.permissions import can_view_initiatives

from ... import selectors
from ...filters import DashboardAsOfFilterSet, DrillFilterSet
from ...history import as_of_comparison
from .drill import DashboardDrillListSerializer
from .figures import DashboardSerializer


class DashboardView(OrgAPIView):
    predicates = {"GET": can_view_initiatives}  # as the page (reporting.views.dashboard)
    serializer_class = DashboardSerializer

    @extend_schema(
        operation_id="dashboard", parameters=filterset_parameters(DashboardAsOfFilterSet),
        summary="The portfolio dashboard's figures",
        description="Headline, value by stage, the dual-status matrix, top variances, "
                    "stale initiatives and KPIs, open escalations by level, approvals "
                    "waiting longest and the KPI scorecard, with the page's filters. "
                    "Amounts are decimal strings in `currency`.",
        responses={200: DashboardSerializer,
                   400: OpenApiResponse(description="An invalid filter, as "
                                        '`{"program": ["…"]}`.')})
    def get(self, request, org_slug):
        org = self.organization
        filterset = DashboardAsOfFilterSet(request.query_params, organization=org)
        if not filterset.is_valid():
            raise exceptions.ValidationError(form_errors(filterset.form))
        filters = filterset.dashboard_filters()
        data = selectors.dashboard(organization=org, membership=self.membership,
                                   filters=filters)
        comparison = as_of_comparison(organization=org, when=filterset.as_of_date(),
                                      filters=filters)
        context = {**self.get_serializer_context(), "org_slug": org.slug,
                   "filters": data.filters, "as_of": filterset.as_of_date(),
                   "comparison": comparison,
                   "drill_url": reverse("dashboard_initiatives", kwargs={"org_slug": org.slug}),
                   "drill_api_url": reverse("api_dashboard_initiatives",
                                            kwargs={"org_slug": org.slug})}
        return Response(DashboardSerializer(data, context=context).data)



DRILL_SORT_HELP = ("code (default), variance (the largest shortfall first; the default "
                   "with variance=shortfall), -planned, -outturn (the largest first).")

DRILL_PARAMETERS = [
    *filterset_parameters(DrillFilterSet),
    OpenApiParameter("sort", OpenApiTypes.STR, enum=list(selectors.DRILL_SORTS),
                     description=DRILL_SORT_HELP),
    OpenApiParameter("page", OpenApiTypes.INT,
                     description=f"A page number ({api_settings.PAGE_SIZE} rows a page)."),
]


class DashboardDrillListView(OrgAPIView):
    predicates = {"GET": can_view_initiatives}  # as the page (dashboard_initiatives)
    serializer_class = DashboardDrillListSerializer

    @extend_schema(
        operation_id="dashboard_initiatives", parameters=DRILL_PARAMETERS,
        summary="The initiatives behind a dashboard figure",
        description="The drill-down of the dashboard: follow a figure's `drill.api_url`. "
                    "The rows of one page with `totals` (count and sums over every page, "
                    "equal to the figure). Amounts are decimal strings in `currency`.",
        responses={200: DashboardDrillListSerializer,
                   400: OpenApiResponse(description="An invalid parameter, as "
                                        '`{"stage": ["…"]}`.'),
                   404: OpenApiResponse(description="Not a member of the organisation, or "
                                        "a page beyond the last.")})
    def get(self, request, org_slug):
        org = self.organization
        filterset = DrillFilterSet(request.query_params, organization=org)
        errors = form_errors(filterset.form) if not filterset.is_valid() else {}
        # The page's sort: its keys and default (the page ignores an unknown key).
        sort = request.query_params.get("sort") or filterset.drill().default_sort
        if sort not in selectors.DRILL_SORTS:
            errors["sort"] = [f"Sort by one of {', '.join(selectors.DRILL_SORTS)}."]
        if errors:
            raise exceptions.ValidationError(errors)
        filters, drill = filterset.dashboard_filters(), filterset.drill()
        if drill.escalation_level is not None and not can_view_escalations(
                membership=self.membership):
            raise exceptions.PermissionDenied("Escalations are not shown to your role.")
        qs = selectors.drill_queryset(organization=org, filters=filters, drill=drill)
        # drill_rows joins initiative, program and owner; portfolio and business unit are
        # named in every row too.
        rows = selectors.drill_rows(qs, sort=sort).select_related("portfolio", "business_unit")
        page = self.paginate_queryset(rows)
        paginated = self.get_paginated_response(page).data  # count, next, previous, results
        context = {**self.get_serializer_context(), "org_slug": org.slug}
        return Response(DashboardDrillListSerializer({
            **paginated, "currency": org.base_currency, "fiscal_year": filters.fiscal_year,
            "fiscal_label": dict(filterset.form.fields["fiscal_year"].choices)[
                filters.fiscal_year],
            "figures_as_of": selectors.figures_as_of(organization=org),
            "params": {**filters.params(), **drill.params()}, "sort": sort,
            "totals": selectors.drill_totals(qs),
        }, context=context).data)


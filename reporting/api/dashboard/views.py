"""The dashboard's two API views, thin over the pages' own reads."""

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.settings import api_settings

from cat4.common.api import form_errors
from cat4.tenancy.api.base import OrgAPIView
from governance.permissions import can_view_escalations
from initiatives.models import Stage
from initiatives.permissions import can_view_initiatives

from ... import selectors
from ...forms import DashboardForm, DrillFilterForm
from ...history import as_of_comparison
from ...models import RAG_CHOICES
from .drill import DashboardDrillListSerializer
from .figures import DashboardSerializer

FILTER_PARAMETERS = [
    OpenApiParameter("portfolio", OpenApiTypes.INT, description="A portfolio id of the "
                     "organisation."),
    OpenApiParameter("program", OpenApiTypes.INT, description="A program id of the "
                     "organisation."),
    OpenApiParameter("business_unit", OpenApiTypes.INT, description="A business unit id of "
                     "the organisation."),
    OpenApiParameter("owner", OpenApiTypes.INT, description="A user id of a member."),
    OpenApiParameter("fiscal_year", OpenApiTypes.INT, description="A fiscal year with "
                     "values (default: the current one)."),
    OpenApiParameter("as_of", OpenApiTypes.DATE, description="Compare with the portfolio "
                     "at the end of this day (not in the future)."),
]


class DashboardView(OrgAPIView):
    predicates = {"GET": can_view_initiatives}  # as the page (reporting.views.dashboard)
    serializer_class = DashboardSerializer

    @extend_schema(
        operation_id="dashboard", parameters=FILTER_PARAMETERS,
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
        form = DashboardForm(request.query_params, organization=org)
        if not form.is_valid():
            raise exceptions.ValidationError(form_errors(form))
        filters = form.filters()
        data = selectors.dashboard(organization=org, membership=self.membership,
                                   filters=filters)
        comparison = as_of_comparison(organization=org, when=form.as_of_date(),
                                      filters=filters)
        context = {**self.get_serializer_context(), "org_slug": org.slug,
                   "filters": data.filters, "as_of": form.as_of_date(),
                   "comparison": comparison,
                   "drill_url": reverse("dashboard_initiatives", kwargs={"org_slug": org.slug}),
                   "drill_api_url": reverse("api_dashboard_initiatives",
                                            kwargs={"org_slug": org.slug})}
        return Response(DashboardSerializer(data, context=context).data)



DRILL_SORT_HELP = ("code (default), variance (the largest shortfall first; the default "
                   "with variance=shortfall), -planned, -outturn (the largest first).")

DRILL_PARAMETERS = [
    *(p for p in FILTER_PARAMETERS if p.name != "as_of"),
    OpenApiParameter("stage", OpenApiTypes.STR, enum=Stage.values),
    OpenApiParameter("schedule_rag", OpenApiTypes.STR, enum=[v for v, _ in RAG_CHOICES],
                     description="Delivery status."),
    OpenApiParameter("financial_rag", OpenApiTypes.STR, enum=[v for v, _ in RAG_CHOICES],
                     description="Money status."),
    OpenApiParameter("stale", OpenApiTypes.STR, enum=["1"],
                     description="1: only initiatives with an overdue status update."),
    OpenApiParameter("variance", OpenApiTypes.STR, enum=["shortfall", "ahead"],
                     description="Outturn below (shortfall) or above (ahead) plan, of "
                                 "initiatives with a forecast."),
    OpenApiParameter("escalation_level", OpenApiTypes.INT, enum=[1, 2, 3],
                     description="With an open escalation at this level (1 owner, 2 "
                                 "sponsor, 3 steering group)."),
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
        form = DrillFilterForm(request.query_params, organization=org)
        errors = form_errors(form) if not form.is_valid() else {}
        # The page's sort: its keys and default (the page ignores an unknown key).
        sort = request.query_params.get("sort") or form.drill().default_sort
        if sort not in selectors.DRILL_SORTS:
            errors["sort"] = [f"Sort by one of {', '.join(selectors.DRILL_SORTS)}."]
        if errors:
            raise exceptions.ValidationError(errors)
        filters, drill = form.filters(), form.drill()
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
            "fiscal_label": dict(form.fields["fiscal_year"].choices)[filters.fiscal_year],
            "figures_as_of": selectors.figures_as_of(organization=org),
            "params": {**filters.params(), **drill.params()}, "sort": sort,
            "totals": selectors.drill_totals(qs),
        }, context=context).data)


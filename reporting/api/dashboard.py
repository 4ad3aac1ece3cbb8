"""The portfolio dashboard in the API: ``GET /api/v1/o/<slug>/dashboard/``.

A thin layer over the page's own reads: the query string is validated by the page's form
(``reporting.forms.DashboardForm``: portfolio, program, business_unit, owner, fiscal_year
and the ``as_of`` date to compare with), the figures come from
``reporting.selectors.dashboard`` and the comparison from
``reporting.history.as_of_comparison``, exactly as ``reporting.views.dashboard`` calls
them. The one difference: an invalid parameter (an id of another organisation included)
is a 400 on that parameter, where the page ignores it and shows the field's error.

The serializers only rename and format: money is a decimal string in the organisation's
``currency`` (top level), dates and times ISO 8601. Every figure that the page links to
the initiatives behind it carries ``drill``: the query parameters of that drill-down (the
dashboard's filters plus the figure's own ``stage``, ``schedule_rag`` and
``financial_rag``, ``variance``, ``stale`` or ``escalation_level``), the URL of the
drill-down page with them, which lists those initiatives with their count and sums, and
``api_url``: the same drill-down in the API.

``GET /api/v1/o/<slug>/dashboard/initiatives/`` is that drill-down list, as thin over the
page's reads (``reporting.views.dashboard_initiatives``): the query string is validated by
the page's ``reporting.forms.DrillFilterForm``, the rows and their totals come from
``reporting.selectors.drill_queryset``, ``drill_rows`` and ``drill_totals``, and ``sort``
has the page's keys and default. Paginated by the API's pagination class (``?page=``),
with the totals of every page beside the rows.
"""

from dataclasses import asdict

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.settings import api_settings

from cat4.common.api import form_errors
from cat4.tenancy.api.base import OrgAPIView
from cat4.tenancy.api.serializers import UserSerializer
from governance.permissions import can_view_escalations
from initiatives.models import Stage
from initiatives.permissions import can_view_initiatives

from .. import selectors
from ..forms import DashboardForm, DrillFilterForm
from ..history import as_of_comparison
from ..models import RAG_CHOICES
from ..selectors import DrillFilters


def _money(**kwargs):
    # No max_digits: a sum over a large portfolio is never refused on output.
    return serializers.DecimalField(max_digits=None, decimal_places=2, read_only=True,
                                    **kwargs)


RAG_VALUES = ", ".join(value for value, _label in RAG_CHOICES)


def _colour(help_text: str, **kwargs):
    # A plain string: a ChoiceField under three names (schedule, financial, colour) makes
    # drf-spectacular warn about one choice set with several enum names.
    return serializers.CharField(read_only=True, help_text=f"{help_text} One of {RAG_VALUES}.",
                                 **kwargs)


# --- Links -----------------------------------------------------------------------------


class DashboardDrillSerializer(serializers.Serializer):
    params = serializers.DictField(
        child=serializers.CharField(),
        help_text="The query parameters of the drill-down: the dashboard's filters plus "
                  "the figure's own.")
    url = serializers.CharField(help_text="The drill-down page with these parameters.")
    api_url = serializers.CharField(
        help_text="The same drill-down in the API (GET …/dashboard/initiatives/): the "
                  "initiatives behind the figure, with their count and sums.")


def _drill(context: dict, **figure) -> dict:
    """The drill-down of one figure, as the page links it."""
    filters = context["filters"]
    extra = DrillFilters(**figure).params()
    query = filters.query(**extra)
    return {"params": {**filters.params(), **extra},
            "url": f"{context['drill_url']}?{query}",
            "api_url": f"{context['drill_api_url']}?{query}"}


def _api_url(context: dict, name: str, **kwargs) -> str:
    return reverse(name, kwargs={"org_slug": context["org_slug"], **kwargs})


class _DrillMixin:
    """``drill`` for a figure whose drill-down parameters ``drill_params`` returns."""

    @extend_schema_field(DashboardDrillSerializer)
    def get_drill(self, obj) -> dict:
        return DashboardDrillSerializer(_drill(self.context, **self.drill_params(obj))).data

    def drill_params(self, obj) -> dict:
        return {}


class DashboardInitiativeRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    title = serializers.CharField()
    url = serializers.SerializerMethodField(help_text="The initiative in the API.")

    def get_url(self, initiative) -> str:
        return _api_url(self.context, "api_initiative_detail", initiative_id=initiative.pk)


# --- Figures ---------------------------------------------------------------------------


class DashboardFiltersSerializer(serializers.Serializer):
    """The filters applied (the fiscal year resolved to its default when not given)."""

    portfolio = serializers.IntegerField(allow_null=True)
    program = serializers.IntegerField(allow_null=True)
    business_unit = serializers.IntegerField(allow_null=True)
    owner = serializers.IntegerField(allow_null=True)
    fiscal_year = serializers.IntegerField()
    as_of = serializers.DateField(allow_null=True)


class DashboardHeadlineSerializer(_DrillMixin, serializers.Serializer):
    initiatives = serializers.IntegerField()
    planned = _money(source="money.planned")
    forecast = _money(source="money.forecast")
    actual = _money(source="money.actual")
    outturn = _money(source="money.outturn",
                     help_text="The actual where a month has one, else the forecast.")
    variance = _money(source="money.variance", help_text="Outturn minus planned.")
    run_rate = _money(help_text="Annualised, of the recurring benefit lines.")
    drill = serializers.SerializerMethodField()


class DashboardStageSerializer(_DrillMixin, serializers.Serializer):
    stage = serializers.ChoiceField(choices=Stage.choices)
    label = serializers.CharField()
    on_gate_path = serializers.BooleanField(
        help_text="False for on hold and cancelled (not in the value-by-stage chart).")
    count = serializers.IntegerField()
    planned = _money(source="money.planned")
    forecast = _money(source="money.forecast")
    actual = _money(source="money.actual")
    outturn = _money(source="money.outturn")
    run_rate = _money()
    drill = serializers.SerializerMethodField()

    def drill_params(self, row) -> dict:
        return {"stage": row.stage}


class DashboardMatrixCellSerializer(_DrillMixin, serializers.Serializer):
    schedule = _colour(help_text="Delivery (schedule) status: the matrix's row.")
    financial = _colour(help_text="Money (financial) status: the matrix's column.")
    count = serializers.IntegerField()
    flagged = serializers.BooleanField(help_text="Green on delivery but red on money.")
    heat = serializers.IntegerField(help_text="0 (empty) to 4 (the fullest cell).")
    drill = serializers.SerializerMethodField()

    def drill_params(self, cell) -> dict:
        return {"schedule_rag": cell.schedule, "financial_rag": cell.financial}


class DashboardVarianceRowSerializer(serializers.Serializer):
    initiative = DashboardInitiativeRefSerializer()
    planned = _money(source="fy_planned")
    outturn = _money(source="fy_outturn")
    variance = _money(source="fy_variance")


class DashboardVariancesSerializer(_DrillMixin, serializers.Serializer):
    count = serializers.IntegerField(source="shortfall_count",
                                     help_text="Initiatives whose outturn is below plan.")
    total = _money(source="shortfall_total", help_text="The sum of their variances.")
    drill = serializers.SerializerMethodField()
    top = DashboardVarianceRowSerializer(source="variances", many=True,
                                         help_text="The largest shortfalls, worst first.")

    def drill_params(self, d) -> dict:
        return {"variance": "shortfall"}


class DashboardStaleRowSerializer(serializers.Serializer):
    initiative = DashboardInitiativeRefSerializer()
    owner = UserSerializer()
    last_update = serializers.DateField(allow_null=True)


class DashboardStaleSerializer(_DrillMixin, serializers.Serializer):
    initiatives = serializers.IntegerField(source="stale_count",
                                           help_text="With an overdue status update.")
    kpis = serializers.IntegerField(source="kpi_stale",
                                    help_text="Without a reading for the last period.")
    drill = serializers.SerializerMethodField()
    top = DashboardStaleRowSerializer(source="stale_initiatives", many=True,
                                      help_text="Longest without an update first.")

    def drill_params(self, d) -> dict:
        return {"stale": True}


class DashboardEscalationLevelSerializer(_DrillMixin, serializers.Serializer):
    level = serializers.IntegerField()
    label = serializers.CharField()
    escalations = serializers.IntegerField(help_text="Open or acknowledged escalations.")
    initiatives = serializers.IntegerField(help_text="Initiatives with one of them.")
    drill = serializers.SerializerMethodField()
    escalations_url = serializers.SerializerMethodField(
        help_text="The organisation's unresolved escalations at this level in the API.")

    def drill_params(self, row) -> dict:
        return {"escalation_level": row.level}

    def get_escalations_url(self, row) -> str:
        return f"{_api_url(self.context, 'api_escalation_list')}?state=unresolved" \
               f"&level={row.level}"


class DashboardApprovalRowSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    initiative = DashboardInitiativeRefSerializer(source="submission.initiative")
    gate = serializers.CharField(source="submission.gate")
    gate_label = serializers.CharField(source="submission.get_gate_display")
    role = serializers.CharField()
    role_label = serializers.CharField(source="get_role_display")
    approver = UserSerializer()
    submitted_at = serializers.DateTimeField(source="submission.submitted_at")


class DashboardApprovalsSerializer(serializers.Serializer):
    waiting = serializers.IntegerField(source="approvals_waiting")
    top = DashboardApprovalRowSerializer(source="approvals", many=True,
                                         help_text="Waiting longest first.")


class DashboardKpiCountsSerializer(serializers.Serializer):
    green = serializers.IntegerField()
    amber = serializers.IntegerField()
    red = serializers.IntegerField()
    grey = serializers.IntegerField()


class DashboardKpiScoreSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="kpi_id")
    name = serializers.CharField()
    unit = serializers.CharField()
    colour = _colour(help_text="The latest status (stale never green).")
    explanation = serializers.CharField()
    stale = serializers.BooleanField()
    latest_period = serializers.DateField(allow_null=True)
    url = serializers.SerializerMethodField(help_text="The KPI in the API.")

    def get_url(self, score) -> str:
        return _api_url(self.context, "api_kpi_detail", kpi_id=score.kpi_id)


class DashboardKpisSerializer(serializers.Serializer):
    total = serializers.IntegerField(source="kpi_total")
    counts = DashboardKpiCountsSerializer(
        source="kpi_counts", help_text="KPIs per latest status (stale never green).")
    stale = serializers.IntegerField(source="kpi_stale")
    exceptions = DashboardKpiScoreSerializer(
        source="kpi_exceptions", many=True, help_text="Red, amber or stale KPIs, worst first.")
    url = serializers.SerializerMethodField(help_text="Every KPI in the API.")

    def get_url(self, d) -> str:
        return _api_url(self.context, "api_kpi_list")


# --- As of a date ----------------------------------------------------------------------


class DashboardThenTodayMoneySerializer(serializers.Serializer):
    then = _money()
    today = _money()
    change = _money()


class DashboardThenTodayCountSerializer(serializers.Serializer):
    then = serializers.IntegerField()
    today = serializers.IntegerField()
    change = serializers.IntegerField()


class DashboardAsOfHeadlineSerializer(serializers.Serializer):
    planned = DashboardThenTodayMoneySerializer()
    forecast = DashboardThenTodayMoneySerializer()
    outturn = DashboardThenTodayMoneySerializer()
    actual = DashboardThenTodayMoneySerializer()


class DashboardAsOfStageSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=Stage.choices)
    label = serializers.CharField()
    then = serializers.IntegerField()
    today = serializers.IntegerField()
    change = serializers.IntegerField()


class DashboardAsOfSerializer(serializers.Serializer):
    """``reporting.history.as_of_comparison``: the portfolio at the end of ``date`` (from
    the audit history) beside today, in the dashboard's fiscal year."""

    date = serializers.DateField()
    fiscal_year = serializers.IntegerField()
    fiscal_label = serializers.CharField()
    headline = DashboardAsOfHeadlineSerializer()
    initiatives = DashboardThenTodayCountSerializer()
    stages = DashboardAsOfStageSerializer(many=True)

    def to_representation(self, comparison):
        then = comparison["as_of"]
        return super().to_representation({
            "date": then.when, "fiscal_year": then.fiscal_year,
            "fiscal_label": then.fiscal_label,
            # Rows labelled Planned, Forecast, Outturn, Actual: keyed planned, forecast...
            "headline": {label.lower(): {"then": a, "today": b, "change": delta}
                         for label, a, b, delta in comparison["headline_rows"]},
            "initiatives": {"then": then.initiatives,
                            "today": comparison["today_figures"].initiatives,
                            "change": comparison["initiatives_delta"]},
            "stages": [{"stage": stage.stage, "label": label, "then": a, "today": b,
                        "change": delta}
                       for stage, (label, a, b, delta)
                       in zip(then.stages, comparison["stage_rows"], strict=True)],
        })


# --- The whole dashboard ---------------------------------------------------------------


class DashboardSerializer(serializers.Serializer):
    fiscal_year = serializers.IntegerField()
    fiscal_label = serializers.CharField()
    currency = serializers.CharField(help_text="The currency of every amount.")
    figures_as_of = serializers.DateTimeField(
        source="as_of", allow_null=True,
        help_text="When the figures were last computed (null: not yet).")
    filters = serializers.SerializerMethodField()
    headline = DashboardHeadlineSerializer(source="*")
    stages = DashboardStageSerializer(many=True)
    matrix = serializers.SerializerMethodField(
        help_text="The dual-status matrix, row by row: delivery status green, amber, red, "
                  "grey, each with the money statuses in the same order.")
    variances = DashboardVariancesSerializer(source="*")
    stale = DashboardStaleSerializer(source="*")
    escalations = DashboardEscalationLevelSerializer(
        many=True, allow_null=True,
        help_text="Open escalations per level; null for roles that do not see "
                  "escalations (viewers).")
    approvals = DashboardApprovalsSerializer(source="*")
    kpis = DashboardKpisSerializer(source="*")
    as_of = serializers.SerializerMethodField(
        help_text="The portfolio on the as_of date beside today; null without as_of.")

    @extend_schema_field(DashboardFiltersSerializer)
    def get_filters(self, d) -> dict:
        return DashboardFiltersSerializer({**asdict(d.filters),
                                           "as_of": self.context["as_of"]}).data

    @extend_schema_field(DashboardMatrixCellSerializer(many=True))
    def get_matrix(self, d) -> list:
        cells = [cell for row in d.matrix for cell in row]
        return DashboardMatrixCellSerializer(cells, many=True, context=self.context).data

    @extend_schema_field(DashboardAsOfSerializer(allow_null=True))
    def get_as_of(self, d) -> dict | None:
        comparison = self.context["comparison"]
        if comparison["as_of"] is None:
            return None
        return DashboardAsOfSerializer(comparison, context=self.context).data


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


# --- The drill-down --------------------------------------------------------------------


class DashboardNamedRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class DashboardDrillRowSerializer(serializers.Serializer):
    """One initiative behind the figure: an ``InitiativeFact`` of ``drill_rows`` with its
    value in the fiscal year, the columns of the drill-down page."""

    id = serializers.IntegerField(source="initiative_id", help_text="The initiative's id.")
    code = serializers.CharField(source="initiative.code")
    title = serializers.CharField(source="initiative.title")
    url = serializers.SerializerMethodField(help_text="The initiative in the API.")
    stage = serializers.ChoiceField(choices=Stage.choices)
    program = DashboardNamedRefSerializer()
    portfolio = DashboardNamedRefSerializer()
    business_unit = DashboardNamedRefSerializer(allow_null=True)
    owner = UserSerializer()
    schedule = _colour(source="schedule_rag", help_text="Delivery (schedule) status.")
    financial = _colour(source="financial_rag", help_text="Money (financial) status.")
    stale = serializers.BooleanField(help_text="Its status update is overdue.")
    last_update = serializers.DateField(allow_null=True,
                                        help_text="When its latest status update was posted.")
    planned = _money(source="fy_planned")
    forecast = _money(source="fy_forecast")
    actual = _money(source="fy_actual")
    outturn = _money(source="fy_outturn")
    variance = _money(source="fy_variance", help_text="Outturn minus planned.")
    run_rate = _money(help_text="Annualised, of the recurring benefit lines.")

    def get_url(self, fact) -> str:
        return _api_url(self.context, "api_initiative_detail", initiative_id=fact.initiative_id)


class DashboardDrillTotalsSerializer(serializers.Serializer):
    """``reporting.selectors.drill_totals``: over every page, equal to the figure."""

    count = serializers.IntegerField(help_text="The initiatives behind the figure.")
    planned = _money(source="money.planned")
    forecast = _money(source="money.forecast")
    actual = _money(source="money.actual")
    outturn = _money(source="money.outturn")
    variance = _money(source="money.variance", help_text="Outturn minus planned.")
    run_rate = _money()


class DashboardDrillListSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Rows on every page (as totals.count).")
    next = serializers.URLField(allow_null=True, help_text="The next page, or null.")
    previous = serializers.URLField(allow_null=True, help_text="The previous page, or null.")
    currency = serializers.CharField(help_text="The currency of every amount.")
    fiscal_year = serializers.IntegerField()
    fiscal_label = serializers.CharField()
    figures_as_of = serializers.DateTimeField(
        allow_null=True, help_text="When the figures were last computed (null: not yet).")
    params = serializers.DictField(
        child=serializers.CharField(),
        help_text="The drill-down's parameters as applied (the fiscal year resolved to its "
                  "default when not given): a figure's drill.params.")
    sort = serializers.ChoiceField(choices=list(selectors.DRILL_SORTS),
                                   help_text="The order of the rows.")
    totals = DashboardDrillTotalsSerializer()
    results = DashboardDrillRowSerializer(many=True)


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

"""The dashboard's figures in the API (``reporting.selectors.dashboard``): headline,
stages, the dual-status matrix, variances, stale, escalations, approvals and KPIs, each
figure with its drill-down; ``DashboardSerializer`` is the whole answer."""

from dataclasses import asdict

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cat4.tenancy.api.serializers import UserSerializer
from initiatives.models import Stage

from .as_of import DashboardAsOfSerializer
from .fields import (
    DashboardInitiativeRefSerializer,
    DrillMixin,
    api_url,
    colour_field,
    money_field,
)


class DashboardFiltersSerializer(serializers.Serializer):
    """The filters applied (the fiscal year resolved to its default when not given)."""

    portfolio = serializers.IntegerField(allow_null=True)
    program = serializers.IntegerField(allow_null=True)
    business_unit = serializers.IntegerField(allow_null=True)
    owner = serializers.IntegerField(allow_null=True)
    fiscal_year = serializers.IntegerField()
    as_of = serializers.DateField(allow_null=True)


class DashboardHeadlineSerializer(DrillMixin, serializers.Serializer):
    initiatives = serializers.IntegerField()
    planned = money_field(source="money.planned")
    forecast = money_field(source="money.forecast")
    actual = money_field(source="money.actual")
    outturn = money_field(source="money.outturn",
                          help_text="The actual where a month has one, else the forecast.")
    variance = money_field(source="money.variance", help_text="Outturn minus planned.")
    run_rate = money_field(help_text="Annualised, of the recurring benefit lines.")
    drill = serializers.SerializerMethodField()


class DashboardStageSerializer(DrillMixin, serializers.Serializer):
    stage = serializers.ChoiceField(choices=Stage.choices)
    label = serializers.CharField()
    on_gate_path = serializers.BooleanField(
        help_text="False for on hold and cancelled (not in the value-by-stage chart).")
    count = serializers.IntegerField()
    planned = money_field(source="money.planned")
    forecast = money_field(source="money.forecast")
    actual = money_field(source="money.actual")
    outturn = money_field(source="money.outturn")
    run_rate = money_field()
    drill = serializers.SerializerMethodField()

    def drill_params(self, row) -> dict:
        return {"stage": row.stage}


class DashboardMatrixCellSerializer(DrillMixin, serializers.Serializer):
    schedule = colour_field(help_text="Delivery (schedule) status: the matrix's row.")
    financial = colour_field(help_text="Money (financial) status: the matrix's column.")
    count = serializers.IntegerField()
    flagged = serializers.BooleanField(help_text="Green on delivery but red on money.")
    heat = serializers.IntegerField(help_text="0 (empty) to 4 (the fullest cell).")
    drill = serializers.SerializerMethodField()

    def drill_params(self, cell) -> dict:
        return {"schedule_rag": cell.schedule, "financial_rag": cell.financial}


class DashboardVarianceRowSerializer(serializers.Serializer):
    initiative = DashboardInitiativeRefSerializer()
    planned = money_field(source="fy_planned")
    outturn = money_field(source="fy_outturn")
    variance = money_field(source="fy_variance")


class DashboardVariancesSerializer(DrillMixin, serializers.Serializer):
    count = serializers.IntegerField(source="shortfall_count",
                                     help_text="Initiatives whose outturn is below plan.")
    total = money_field(source="shortfall_total", help_text="The sum of their variances.")
    drill = serializers.SerializerMethodField()
    top = DashboardVarianceRowSerializer(source="variances", many=True,
                                         help_text="The largest shortfalls, worst first.")

    def drill_params(self, d) -> dict:
        return {"variance": "shortfall"}


class DashboardStaleRowSerializer(serializers.Serializer):
    initiative = DashboardInitiativeRefSerializer()
    owner = UserSerializer()
    last_update = serializers.DateField(allow_null=True)


class DashboardStaleSerializer(DrillMixin, serializers.Serializer):
    initiatives = serializers.IntegerField(source="stale_count",
                                           help_text="With an overdue status update.")
    kpis = serializers.IntegerField(source="kpi_stale",
                                    help_text="Without a reading for the last period.")
    drill = serializers.SerializerMethodField()
    top = DashboardStaleRowSerializer(source="stale_initiatives", many=True,
                                      help_text="Longest without an update first.")

    def drill_params(self, d) -> dict:
        return {"stale": True}


class DashboardEscalationLevelSerializer(DrillMixin, serializers.Serializer):
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
        return f"{api_url(self.context, 'api_escalation_list')}?state=unresolved" \
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
    colour = colour_field(help_text="The latest status (stale never green).")
    explanation = serializers.CharField()
    stale = serializers.BooleanField()
    latest_period = serializers.DateField(allow_null=True)
    url = serializers.SerializerMethodField(help_text="The KPI in the API.")

    def get_url(self, score) -> str:
        return api_url(self.context, "api_kpi_detail", kpi_id=score.kpi_id)


class DashboardKpisSerializer(serializers.Serializer):
    total = serializers.IntegerField(source="kpi_total")
    counts = DashboardKpiCountsSerializer(
        source="kpi_counts", help_text="KPIs per latest status (stale never green).")
    stale = serializers.IntegerField(source="kpi_stale")
    exceptions = DashboardKpiScoreSerializer(
        source="kpi_exceptions", many=True, help_text="Red, amber or stale KPIs, worst first.")
    url = serializers.SerializerMethodField(help_text="Every KPI in the API.")

    def get_url(self, d) -> str:
        return api_url(self.context, "api_kpi_list")


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
        if comparison is None:
            return None
        return DashboardAsOfSerializer(comparison, context=self.context).data


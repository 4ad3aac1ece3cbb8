"""The drill-down in the API: the initiatives behind a figure (``InitiativeFact`` rows
of ``reporting.selectors.drill_rows``), one page of them with the totals of all."""

from rest_framework import serializers

from cat4.tenancy.api.serializers import UserSerializer
from initiatives.models import Stage

from ... import selectors
from .fields import api_url, colour_field, money_field


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
    schedule = colour_field(source="schedule_rag", help_text="Delivery (schedule) status.")
    financial = colour_field(source="financial_rag", help_text="Money (financial) status.")
    stale = serializers.BooleanField(help_text="Its status update is overdue.")
    last_update = serializers.DateField(allow_null=True,
                                        help_text="When its latest status update was posted.")
    planned = money_field(source="fy_planned")
    forecast = money_field(source="fy_forecast")
    actual = money_field(source="fy_actual")
    outturn = money_field(source="fy_outturn")
    variance = money_field(source="fy_variance", help_text="Outturn minus planned.")
    run_rate = money_field(help_text="Annualised, of the recurring benefit lines.")

    def get_url(self, fact) -> str:
        return api_url(self.context, "api_initiative_detail", initiative_id=fact.initiative_id)


class DashboardDrillTotalsSerializer(serializers.Serializer):
    """``reporting.selectors.drill_totals``: over every page, equal to the figure."""

    count = serializers.IntegerField(help_text="The initiatives behind the figure.")
    planned = money_field(source="money.planned")
    forecast = money_field(source="money.forecast")
    actual = money_field(source="money.actual")
    outturn = money_field(source="money.outturn")
    variance = money_field(source="money.variance", help_text="Outturn minus planned.")
    run_rate = money_field()


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


"""``reporting.history.as_of_comparison`` in the API: the portfolio at the end of a date
beside today. The serializers read the ``AsOfComparison`` itself: ``headline`` by figure
and ``initiatives`` are ``Change`` rows (then, today, change), ``stages`` ``StageChange``
rows (a stage and its row)."""

from rest_framework import serializers

from initiatives.models import Stage

from .fields import money_field


class DashboardThenTodayMoneySerializer(serializers.Serializer):
    then = money_field()
    today = money_field()
    change = money_field()


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
    label = serializers.CharField(source="row.label")
    then = serializers.IntegerField(source="row.then")
    today = serializers.IntegerField(source="row.today")
    change = serializers.IntegerField(source="row.change")


class DashboardAsOfSerializer(serializers.Serializer):
    """``reporting.history.as_of_comparison``: the portfolio at the end of ``date`` (from
    the audit history) beside today, in the dashboard's fiscal year."""

    date = serializers.DateField(source="as_of.when")
    fiscal_year = serializers.IntegerField(source="as_of.fiscal_year")
    fiscal_label = serializers.CharField(source="as_of.fiscal_label")
    headline = DashboardAsOfHeadlineSerializer()
    initiatives = DashboardThenTodayCountSerializer()
    stages = DashboardAsOfStageSerializer(many=True)

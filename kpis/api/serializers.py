from django.utils import timezone
from rest_framework import serializers

from cat4.tenancy.api.serializers import UserSerializer

from ..models import Direction, Frequency, Kpi, KpiLink, KpiReading, KpiSnapshot
from ..selectors import is_stale


class SnapshotSerializer(serializers.ModelSerializer):
    class Meta:
        model = KpiSnapshot
        fields = ["period", "expected", "actual", "variance", "performance", "rag",
                  "explanation", "computed_at"]


class KpiSerializer(serializers.ModelSerializer):
    owner = UserSerializer(read_only=True)
    latest = serializers.SerializerMethodField()
    stale = serializers.SerializerMethodField()

    class Meta:
        model = Kpi
        fields = ["id", "name", "description", "unit", "direction", "frequency", "baseline",
                  "baseline_date", "target", "target_date", "owner", "green_at", "red_below",
                  "latest", "stale", "version"]

    def get_latest(self, kpi) -> dict | None:
        snapshots = getattr(kpi, "recent_snapshots", None)
        return SnapshotSerializer(snapshots[0]).data if snapshots else None

    def get_stale(self, kpi) -> bool:
        readings = getattr(kpi, "all_readings", [])
        return is_stale(latest_period=readings[-1].period if readings else None,
                        frequency=kpi.frequency, today=timezone.localdate())


class KpiWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    unit = serializers.CharField(max_length=30)
    direction = serializers.ChoiceField(choices=Direction.choices)
    frequency = serializers.ChoiceField(choices=Frequency.choices, default=Frequency.MONTHLY)
    # Raw JSON: the service takes decimal strings and refuses floats.
    baseline = serializers.JSONField(help_text="A decimal string, e.g. \"82.5\".")
    baseline_date = serializers.DateField()
    target = serializers.JSONField(help_text="A decimal string.")
    target_date = serializers.DateField()
    owner = serializers.IntegerField()
    green_at = serializers.JSONField(
        required=False, allow_null=True, default=None,
        help_text="A share as a decimal string, e.g. \"0.95\": green at or above it. Give "
                  "both thresholds, or null for both to use the organisation's value rules.")
    red_below = serializers.JSONField(
        required=False, allow_null=True, default=None,
        help_text="A share as a decimal string, e.g. \"0.85\": red below it.")


class ReadingSerializer(serializers.ModelSerializer):
    entered_by = UserSerializer(read_only=True)

    class Meta:
        model = KpiReading
        fields = ["period", "value", "comment", "entered_by", "entered_at"]


class ReadingWriteSerializer(serializers.Serializer):
    period = serializers.DateField()
    value = serializers.JSONField(help_text="A decimal string, e.g. \"41.5\".")
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class LinkTargetSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    title = serializers.CharField()


class KpiLinkSerializer(serializers.ModelSerializer):
    initiative = LinkTargetSerializer(read_only=True, allow_null=True)
    objective = LinkTargetSerializer(read_only=True, allow_null=True)

    class Meta:
        model = KpiLink
        fields = ["id", "initiative", "objective", "weight", "version"]


class KpiLinkWriteSerializer(serializers.Serializer):
    initiative = serializers.IntegerField(required=False, allow_null=True, default=None,
                                          help_text="An initiative id; or give objective.")
    objective = serializers.IntegerField(required=False, allow_null=True, default=None,
                                         help_text="A strategic objective id.")
    weight = serializers.JSONField(required=False, default="1",
                                   help_text="A decimal string above 0, e.g. \"0.5\".")


class PlanRowSerializer(serializers.Serializer):
    period = serializers.DateField()
    label = serializers.CharField()
    planned = serializers.DecimalField(max_digits=18, decimal_places=4, allow_null=True)
    linear = serializers.DecimalField(max_digits=18, decimal_places=4)
    expected = serializers.DecimalField(max_digits=18, decimal_places=4)
    outside = serializers.BooleanField(
        help_text="A planned value outside the KPI's periods (after its definition changed); "
                  "it can only be cleared.")


class PlanSerializer(serializers.Serializer):
    points = PlanRowSerializer(many=True)


class PlanPointWriteSerializer(serializers.Serializer):
    period = serializers.DateField(help_text="The first day of a period of the KPI.")
    value = serializers.JSONField(allow_null=True,
                                  help_text="A decimal string; null or \"\" clears it.")


class PlanWriteSerializer(serializers.Serializer):
    points = PlanPointWriteSerializer(many=True, allow_empty=True)

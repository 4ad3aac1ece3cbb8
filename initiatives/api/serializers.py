from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cat4.tenancy.api.serializers import UserSerializer

from .. import selectors
from ..models import (
    Cadence,
    Confidence,
    ImpactCategory,
    ImpactLine,
    Initiative,
    Milestone,
    Program,
    Risk,
    RiskStatus,
    StatusUpdate,
    ValueKind,
)


class ProgramSerializer(serializers.ModelSerializer):
    portfolio = serializers.CharField(source="portfolio.name", read_only=True)

    class Meta:
        model = Program
        fields = ["id", "name", "portfolio"]


class FreshnessSerializer(serializers.Serializer):
    cadence_days = serializers.IntegerField(help_text="Days between status updates.")
    last_update = serializers.DateField(allow_null=True,
                                        help_text="When the latest status update was posted.")
    next_update_due = serializers.DateField(
        source="due", help_text="One cadence after the latest update (or after creation).")
    expected = serializers.BooleanField(
        help_text="False for closed, cancelled and on-hold initiatives: no updates due.")
    stale = serializers.BooleanField(
        help_text="The next update was due before today; a stale status is never green.")


class InitiativeSerializer(serializers.ModelSerializer):
    owner = UserSerializer(read_only=True)
    sponsor = UserSerializer(read_only=True)
    controller = UserSerializer(read_only=True)
    program = ProgramSerializer(read_only=True)
    business_unit = serializers.CharField(source="business_unit.name", default=None,
                                          read_only=True)
    function = serializers.CharField(source="function.name", default=None, read_only=True)
    freshness = serializers.SerializerMethodField()

    class Meta:
        model = Initiative
        fields = ["id", "code", "title", "description", "stage", "program", "owner", "sponsor",
                  "controller", "business_unit", "function", "start_date", "target_date",
                  "resume_stage", "hold_reason", "cancel_reason", "value_validated_at",
                  "update_cadence_days", "freshness", "version", "created_at", "updated_at"]

    @extend_schema_field(FreshnessSerializer)
    def get_freshness(self, initiative) -> dict:
        # From the latest_update_at annotation of the list / get selectors: no query per row.
        return FreshnessSerializer(selectors.freshness_of(initiative)).data


class InitiativeWriteSerializer(serializers.Serializer):
    """Ids are resolved inside the organisation by the service; an id of another
    organisation is a field error, never a lookup across tenants."""

    code = serializers.CharField(max_length=20)
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    program = serializers.IntegerField()
    owner = serializers.IntegerField()
    sponsor = serializers.IntegerField(required=False, allow_null=True, default=None)
    controller = serializers.IntegerField(required=False, allow_null=True, default=None)
    business_unit = serializers.IntegerField(required=False, allow_null=True, default=None)
    function = serializers.IntegerField(required=False, allow_null=True, default=None)
    objectives = serializers.ListField(child=serializers.IntegerField(), required=False,
                                       default=list)
    start_date = serializers.DateField()
    target_date = serializers.DateField()
    update_cadence_days = serializers.ChoiceField(
        choices=Cadence.choices, required=False,
        help_text="Days between status updates: 7, 14, 30 or 91 (default 30).")

    def validate(self, attrs):
        if attrs.get("start_date") and attrs.get("target_date") and (
                attrs["target_date"] < attrs["start_date"]):
            raise serializers.ValidationError(
                {"target_date": "The target date must not be before the start date."})
        return attrs


class MilestoneSerializer(serializers.ModelSerializer):
    class Meta:
        model = Milestone
        fields = ["id", "title", "due_date", "done_date", "weight", "waived", "waiver_reason",
                  "version"]


class MilestoneWriteSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    due_date = serializers.DateField()
    done_date = serializers.DateField(required=False, allow_null=True, default=None)
    weight = serializers.IntegerField(min_value=0, max_value=100, default=1)
    waived = serializers.BooleanField(default=False)
    waiver_reason = serializers.CharField(required=False, allow_blank=True, default="")


class ImpactLineSerializer(serializers.ModelSerializer):
    values = serializers.SerializerMethodField()

    class Meta:
        model = ImpactLine
        fields = ["id", "category", "description", "recurring", "ebit_relevant", "values",
                  "version"]

    def get_values(self, line) -> dict[str, dict[str, str]]:
        """{"planned": {"2026-01": "1000.00", ...}, "forecast": {...}, "actual": {...}}"""
        out: dict[str, dict[str, str]] = {kind: {} for kind in ValueKind.values}
        for value in line.values.all():
            out[value.kind][f"{value.month:%Y-%m}"] = str(value.amount)
        return out


class ImpactLineWriteSerializer(serializers.Serializer):
    category = serializers.ChoiceField(choices=ImpactCategory.choices)
    description = serializers.CharField(max_length=200)
    recurring = serializers.BooleanField(default=True)
    ebit_relevant = serializers.BooleanField(default=True)


class ValuesWriteSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ValueKind.choices)
    # Raw JSON values: the service accepts decimal strings (or null / "" to clear) and
    # refuses numbers, so a float never becomes money.
    values = serializers.DictField(
        child=serializers.JSONField(allow_null=True),
        help_text='Amounts as decimal strings by month, e.g. {"2026-01": "1250.00"}; '
                  'an empty string or null clears the month.')


class StatusUpdateSerializer(serializers.ModelSerializer):
    author = UserSerializer(read_only=True)

    class Meta:
        model = StatusUpdate
        fields = ["id", "author", "narrative", "confidence", "rag_override", "override_reason",
                  "created_at"]


class StatusUpdateWriteSerializer(serializers.Serializer):
    narrative = serializers.CharField()
    confidence = serializers.ChoiceField(choices=Confidence.choices)
    rag_override = serializers.ChoiceField(choices=["", "green", "amber", "red"], default="",
                                           allow_blank=True)
    override_reason = serializers.CharField(required=False, allow_blank=True, default="")


class DependencySerializer(serializers.Serializer):
    id = serializers.IntegerField(source="dependency.pk")
    direction = serializers.ChoiceField(choices=["needs", "needed_by"])
    other_id = serializers.IntegerField(source="other.pk")
    other_code = serializers.CharField(source="other.code")
    need_by = serializers.DateField(source="dependency.need_by")
    note = serializers.CharField(source="dependency.note")
    late = serializers.BooleanField()
    why = serializers.CharField()


class DependencyWriteSerializer(serializers.Serializer):
    depends_on = serializers.IntegerField()
    need_by = serializers.DateField()
    note = serializers.CharField(required=False, allow_blank=True, default="")


class RiskSerializer(serializers.ModelSerializer):
    owner = UserSerializer(read_only=True)
    score = serializers.IntegerField(read_only=True)

    class Meta:
        model = Risk
        fields = ["id", "description", "probability", "impact", "score", "owner", "mitigation",
                  "status", "version"]


class RiskWriteSerializer(serializers.Serializer):
    description = serializers.CharField()
    probability = serializers.IntegerField(min_value=1, max_value=5)
    impact = serializers.IntegerField(min_value=1, max_value=5)
    owner = serializers.IntegerField()
    mitigation = serializers.CharField(required=False, allow_blank=True, default="")
    status = serializers.ChoiceField(choices=RiskStatus.choices, default=RiskStatus.OPEN)

from rest_framework import serializers

from cat4.tenancy.api.serializers import UserSerializer

from ..conditions import PARAMETERS
from ..models import (
    Approval,
    Condition,
    DecisionLogEntry,
    Delivery,
    GateSubmission,
    Notification,
    NotificationKind,
    StageEvent,
)


class CriterionSerializer(serializers.Serializer):
    criterion_id = serializers.IntegerField()
    label = serializers.CharField()
    rule = serializers.CharField(help_text="Empty for a checklist item the submitter confirms.")
    met = serializers.BooleanField()
    why = serializers.CharField()


class ApprovalSerializer(serializers.ModelSerializer):
    approver = UserSerializer(read_only=True)

    class Meta:
        model = Approval
        fields = ["id", "role", "approver", "decision", "comment", "decided_at"]


class SubmissionSerializer(serializers.ModelSerializer):
    submitted_by = UserSerializer(read_only=True)
    approvals = ApprovalSerializer(many=True, read_only=True)

    class Meta:
        model = GateSubmission
        fields = ["id", "gate", "from_stage", "status", "comment", "submitted_by",
                  "submitted_at", "decided_at", "approvals", "criteria_snapshot"]


class StageEventSerializer(serializers.ModelSerializer):
    actor = UserSerializer(read_only=True)

    class Meta:
        model = StageEvent
        fields = ["id", "from_stage", "to_stage", "actor", "reason", "at"]


class GatePanelSerializer(serializers.Serializer):
    next_gate = serializers.CharField(allow_null=True)
    criteria = CriterionSerializer(many=True, source="results")
    pending = SubmissionSerializer(allow_null=True)
    events = StageEventSerializer(many=True)


class GateSubmitSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="")
    confirmed_checklist = serializers.ListField(child=serializers.IntegerField(),
                                                required=False, default=list)


class DecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["approved", "rejected"])
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField()


class ReviewSerializer(serializers.ModelSerializer):
    initiative_id = serializers.IntegerField(source="submission.initiative_id")
    initiative_code = serializers.CharField(source="submission.initiative.code")
    gate = serializers.CharField(source="submission.gate")
    submitted_at = serializers.DateTimeField(source="submission.submitted_at")

    class Meta:
        model = Approval
        fields = ["id", "role", "initiative_id", "initiative_code", "gate", "submitted_at"]


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "url", "created_at", "read_at"]


class DecisionLogSerializer(serializers.ModelSerializer):
    initiatives = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)

    class Meta:
        model = DecisionLogEntry
        fields = ["id", "date", "forum", "decision", "options_considered", "initiatives",
                  "created_at"]


class DecisionEntrySerializer(serializers.Serializer):
    date = serializers.DateField()
    forum = serializers.CharField(max_length=120)
    decision = serializers.CharField()
    options_considered = serializers.CharField(required=False, allow_blank=True, default="")
    initiatives = serializers.ListField(child=serializers.IntegerField(), required=False,
                                       default=list)


class HistoryEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    what = serializers.CharField()
    label = serializers.CharField()
    changes = serializers.DictField()
    actor = serializers.CharField()


class RebaselineSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reason = serializers.CharField()
    values = serializers.DictField(help_text='{"<line id>": {"YYYY-MM": "amount" or null}}')
    status = serializers.CharField()
    requested_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    comment = serializers.CharField()


class RebaselineRequestSerializer(serializers.Serializer):
    reason = serializers.CharField()
    values = serializers.DictField(
        child=serializers.DictField(child=serializers.JSONField(allow_null=True)),
        help_text='Proposed planned cells: {"<line id>": {"YYYY-MM": "1250.00" or null}}.')


class EvidenceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    file_name = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    description = serializers.CharField()
    submission = serializers.IntegerField(source="submission_id", allow_null=True)
    uploaded_at = serializers.DateTimeField()


class EvidenceUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    description = serializers.CharField(required=False, allow_blank=True, default="")


class GateSettingsSerializer(serializers.Serializer):
    gate = serializers.CharField()
    criteria = serializers.ListField(child=serializers.DictField())
    approvers = serializers.ListField(child=serializers.CharField())


class ChecklistAddSerializer(serializers.Serializer):
    gate = serializers.CharField()
    label = serializers.CharField(max_length=200)


class CriterionActiveSerializer(serializers.Serializer):
    active = serializers.BooleanField()


class ApproversSerializer(serializers.Serializer):
    roles = serializers.ListField(child=serializers.CharField())


class ValueRulesSerializer(serializers.Serializer):
    green_at = serializers.CharField(help_text='A share of plan, e.g. "0.95".')
    red_below = serializers.CharField(help_text='A share of plan, e.g. "0.85".')
    actuals_entry = serializers.CharField()


# --- Escalations ---------------------------------------------------------------------------


class EscalationRuleSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    condition = serializers.CharField()
    condition_label = serializers.CharField(source="get_condition_display")
    threshold = serializers.DecimalField(max_digits=8, decimal_places=2, allow_null=True,
                                         help_text="The condition's N; null for financial_red.")
    unit = serializers.SerializerMethodField(help_text='Of N: "days", "periods", "%" or "".')
    promote_after_days = serializers.IntegerField()
    top_level = serializers.IntegerField(help_text="1 owner, 2 sponsor, 3 steering group.")
    active = serializers.BooleanField()
    version = serializers.IntegerField(help_text='Its ETag is "v" and this number.')
    created_at = serializers.DateTimeField()

    def get_unit(self, rule) -> str:
        parameter = PARAMETERS.get(rule.condition)
        return parameter.unit if parameter else ""


class EscalationRuleWriteSerializer(serializers.Serializer):
    """Types only; the service checks the ranges and names the field it refuses."""

    name = serializers.CharField(max_length=120)
    condition = serializers.ChoiceField(choices=Condition.choices)
    threshold = serializers.DecimalField(
        max_digits=None, decimal_places=None, allow_null=True, required=False, default=None,
        help_text="The condition's N (see conditions in docs/api.md); required unless the "
                  "condition is financial_red, where it is ignored.")
    promote_after_days = serializers.IntegerField(required=False, default=5)
    top_level = serializers.IntegerField(required=False, default=3)
    active = serializers.BooleanField(required=False, default=True)


class EscalationNoticeSerializer(serializers.Serializer):
    level = serializers.IntegerField()
    recipient = UserSerializer()
    notified_at = serializers.DateTimeField()


class EscalationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    rule = serializers.IntegerField(source="rule_id")
    rule_name = serializers.CharField(source="rule.name")
    condition = serializers.CharField(source="rule.condition")
    subject_type = serializers.CharField()
    subject_id = serializers.IntegerField()
    subject_label = serializers.CharField()
    initiative = serializers.IntegerField(source="initiative_id", allow_null=True)
    kpi = serializers.IntegerField(source="kpi_id", allow_null=True)
    period = serializers.CharField()
    inputs = serializers.DictField()
    explanation = serializers.CharField()
    level = serializers.IntegerField()
    level_since = serializers.DateTimeField()
    state = serializers.CharField()
    raised_at = serializers.DateTimeField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    acknowledged_by = UserSerializer(allow_null=True)
    acknowledge_comment = serializers.CharField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    resolved_by = UserSerializer(allow_null=True,
                                 help_text="Null when it resolved by itself (condition cleared).")
    resolution_comment = serializers.CharField()
    auto_resolved = serializers.BooleanField()


class EscalationDetailSerializer(EscalationSerializer):
    notices = EscalationNoticeSerializer(many=True, source="notices.all")


class CommentSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="",
                                    max_length=5000)


def _preference_fields() -> dict:
    return {kind.value: serializers.ChoiceField(
        choices=Delivery.choices, required=False,
        help_text=f"{kind.label}: email at once (immediate) or in the daily digest.")
        for kind in NotificationKind}


# One field per notification kind, {kind: "immediate" | "digest"}; built from the kinds
# so a new kind is in the API (and its schema) without touching this file.
NotificationPreferencesSerializer = type(
    "NotificationPreferencesSerializer", (serializers.Serializer,),
    {"__doc__": "How the caller gets the email of each kind of notification (the inbox "
                "always gets it).", **_preference_fields()})

from rest_framework import serializers

from cat4.tenancy.api.serializers import UserSerializer

from ..models import Approval, DecisionLogEntry, GateSubmission, Notification, StageEvent


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

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

"""Stage gates: per-organisation entry criteria and approvers, submissions and
their approvals, the immutable stage-event log, notifications and the decision log.

Stage events and decided approvals are explicit rows because reports show them;
the stage-event table is protected against UPDATE and DELETE by a trigger.
"""

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q

from cat4.common.audit import audited
from cat4.tenancy.models import TenantModel
from initiatives.models import Initiative, Stage

GATES = [Stage.DETAILED, Stage.DECIDED, Stage.IMPLEMENTED, Stage.CLOSED]
GATE_CHOICES = [(g.value, g.label) for g in GATES]


class Rule(models.TextChoices):
    """Built-in, machine-checked entry criteria (governance/criteria.py checks them)."""

    OWNER_AND_SPONSOR = "owner_and_sponsor", "Owner and sponsor named"
    FIRST_PLANNED_VALUE = "first_planned_value", "A first planned value"
    PLANNED_VALUES = "planned_values", "Planned monthly values (business case)"
    MILESTONES = "milestones", "Milestones planned"
    CONTROLLER_NAMED = "controller_named", "Controller named"
    MILESTONES_COMPLETE = "milestones_complete", "Every milestone done or waived with a reason"
    ACTUALS_COVER_PLAN = "actuals_cover_plan", "Actuals cover the plan horizon"
    VALUE_VALIDATED = "value_validated", "Controller validated the realised value"


class ApproverRole(models.TextChoices):
    SPONSOR = "sponsor", "Sponsor"
    CONTROLLER = "controller", "Controller"


class GateCriterion(TenantModel):
    """One entry criterion of one gate: a built-in rule or a free checklist item
    that the submitter confirms."""

    gate = models.CharField(max_length=20, choices=GATE_CHOICES)
    rule = models.CharField(max_length=40, choices=Rule.choices, blank=True)
    label = models.CharField(max_length=200)
    active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["gate", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "gate", "rule"],
                                    condition=~Q(rule=""),
                                    name="governance_criterion_rule_once_per_gate"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def is_checklist(self) -> bool:
        return not self.rule


class GateApprover(TenantModel):
    """Which of the initiative's named people must approve a gate."""

    gate = models.CharField(max_length=20, choices=GATE_CHOICES)
    role = models.CharField(max_length=20, choices=ApproverRole.choices)

    class Meta:
        ordering = ["gate", "role"]
        constraints = [models.UniqueConstraint(fields=["organization", "gate", "role"],
                                               name="governance_gate_approver_unique")]


class SubmissionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


@audited
class GateSubmission(TenantModel):
    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE,
                                   related_name="gate_submissions")
    gate = models.CharField(max_length=20, choices=GATE_CHOICES)
    from_stage = models.CharField(max_length=20, choices=Stage.choices)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     related_name="+")
    submitted_at = models.DateTimeField(auto_now_add=True)
    comment = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=SubmissionStatus.choices,
                              default=SubmissionStatus.PENDING)
    decided_at = models.DateTimeField(null=True, blank=True)
    # What the criteria said when it was submitted: evidence for the decision.
    criteria_snapshot = models.JSONField(default=list)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["initiative"],
                                    condition=Q(status="pending"),
                                    name="governance_one_pending_submission"),
        ]


class Decision(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


@audited
class Approval(TenantModel):
    submission = models.ForeignKey(GateSubmission, on_delete=models.CASCADE,
                                   related_name="approvals")
    role = models.CharField(max_length=20, choices=ApproverRole.choices)
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                 related_name="+")
    decision = models.CharField(max_length=20, choices=Decision.choices,
                                default=Decision.PENDING)
    comment = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["submission_id", "role"]
        constraints = [
            models.UniqueConstraint(fields=["submission", "role"],
                                    name="governance_one_approval_per_role"),
            models.CheckConstraint(condition=Q(decision="pending") | Q(decided_at__isnull=False),
                                   name="governance_decided_has_time"),
        ]


class StageEvent(TenantModel):
    """An immutable record of one stage change (gate passed, hold, resume, cancel)."""

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE,
                                   related_name="stage_events")
    from_stage = models.CharField(max_length=20, choices=Stage.choices)
    to_stage = models.CharField(max_length=20, choices=Stage.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="+")
    reason = models.TextField(blank=True)
    submission = models.ForeignKey(GateSubmission, on_delete=models.PROTECT, null=True,
                                   blank=True, related_name="+")
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        triggers = [
            pgtrigger.Protect(name="stage_event_append_only",
                              operation=pgtrigger.Update | pgtrigger.Delete),
        ]


class Notification(TenantModel):
    """An in-app inbox entry (email goes out alongside it)."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                  related_name="notifications")
    kind = models.CharField(max_length=40)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"],
                                name="governance_inbox_unread")]


class DecisionLogEntry(TenantModel):
    """A decision of a forum (e.g. the steering committee). Gate decisions are
    logged automatically."""

    date = models.DateField()
    forum = models.CharField(max_length=120)
    decision = models.TextField()
    options_considered = models.TextField(blank=True)
    initiatives = models.ManyToManyField(Initiative, blank=True, related_name="decisions",
                                         through="DecisionLogInitiative")
    approval = models.OneToOneField(Approval, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="log_entry")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "-id"]


class DecisionLogInitiative(TenantModel):
    entry = models.ForeignKey(DecisionLogEntry, on_delete=models.CASCADE)
    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["entry", "initiative"],
                                               name="governance_decision_link_unique")]


def evidence_path(instance, filename) -> str:
    """Stored under a random name: the user's file name is kept in the row, never
    trusted as a path."""
    import uuid

    return f"evidence/{instance.organization_id}/{uuid.uuid4().hex}"


@audited
class Evidence(TenantModel):
    """A document backing an initiative or one of its gate submissions (business case,
    sign-off sheet). Served only through a permission-checked download view."""

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE,
                                   related_name="evidence")
    submission = models.ForeignKey(GateSubmission, on_delete=models.SET_NULL, null=True,
                                   blank=True, related_name="evidence")
    file = models.FileField(upload_to=evidence_path, max_length=200)
    file_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    description = models.CharField(max_length=200, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        verbose_name_plural = "evidence"

    def __str__(self) -> str:
        return self.file_name


@audited
class Rebaseline(TenantModel):
    """A request to change a frozen plan: the proposed planned values, why, and the
    controller's decision. Approval writes the values; both stay on record."""

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE,
                                   related_name="rebaselines")
    reason = models.TextField()
    # {"<line id>": {"YYYY-MM": "1250.00" or null}}: the proposed planned cells.
    values = models.JSONField()
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=20, choices=Decision.choices, default=Decision.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["initiative"], condition=Q(status="pending"),
                                    name="governance_one_pending_rebaseline"),
        ]

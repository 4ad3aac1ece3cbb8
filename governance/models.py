"""Stage gates: per-organisation entry criteria and approvers, submissions and
their approvals, the immutable stage-event log, notifications and the decision log.

Stage events and decided approvals are explicit rows because reports show them;
the stage-event table is protected against UPDATE and DELETE by a trigger.
"""

import uuid

import pgtrigger
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
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
    version = models.PositiveIntegerField(default=1, db_default=1)  # cat4.common.versioning

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


class NotificationKind(models.TextChoices):
    """What a notification is about; users choose per kind how email reaches them."""

    APPROVAL_REQUESTED = "approval_requested", "Approval requested from you"
    GATE_PASSED = "gate_passed", "Gate passed"
    GATE_REJECTED = "gate_rejected", "Gate rejected"
    GATE_APPROVED_PARTLY = "gate_approved_partly", "Gate approved by one of its approvers"
    REBASELINE_REQUESTED = "rebaseline_requested", "Re-baseline requested"
    REBASELINE_APPROVED = "rebaseline_approved", "Re-baseline approved"
    REBASELINE_REJECTED = "rebaseline_rejected", "Re-baseline rejected"
    ESCALATION = "escalation", "Escalation raised or moved up to you"
    ESCALATION_RESOLVED = "escalation_resolved", "Escalation resolved"
    REMINDER = "reminder", "Update due (reminder)"


class Delivery(models.TextChoices):
    IMMEDIATE = "immediate", "Email at once"
    DIGEST = "digest", "In the daily digest"


class Notification(TenantModel):
    """An in-app inbox entry. Its email goes out at once or in the recipient's daily
    digest, as their preference for the kind says; ``emailed_at`` records that it went."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                  related_name="notifications")
    kind = models.CharField(max_length=40, choices=NotificationKind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)
    delivery = models.CharField(max_length=10, choices=Delivery.choices,
                                default=Delivery.IMMEDIATE)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "read_at"], name="governance_inbox_unread"),
            models.Index(fields=["delivery", "emailed_at"],
                         condition=Q(emailed_at__isnull=True),
                         name="governance_email_queue"),
        ]


class NotificationPreference(TenantModel):
    """How one member wants the email of one kind of notification (the inbox always
    gets it). No row means the default: at once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="notification_preferences")
    kind = models.CharField(max_length=40, choices=NotificationKind.choices)
    delivery = models.CharField(max_length=10, choices=Delivery.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user", "kind"],
                                    name="governance_preference_unique"),
            models.CheckConstraint(condition=Q(delivery__in=Delivery.values),
                                   name="governance_preference_delivery_valid"),
        ]


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


# --- Escalations ---------------------------------------------------------------------


class Condition(models.TextChoices):
    """The built-in conditions an escalation rule watches (governance/conditions.py)."""

    FINANCIAL_RED = "financial_red", "Financial RAG red"
    KPI_OFF_TRACK = "kpi_off_track", "KPI off track for N consecutive periods"
    STALE = "stale", "Update overdue (stale) for N days"
    APPROVAL_PENDING = "approval_pending", "Approval pending more than N days"
    MILESTONE_OVERDUE = "milestone_overdue", "Milestone overdue by N days"
    DEPENDENCY_LATE = "dependency_late", "Dependency late past its need-by date"
    RISK_SCORE = "risk_score", "Risk score at or above N"
    ONE_TIME_COST_OVER = "one_time_cost_over", "One-time cost over plan by N %"


class Level(models.IntegerChoices):
    """The escalation path: who is notified at each level (everyone below stays on)."""

    OWNER = 1, "Owner"
    SPONSOR = 2, "Sponsor"
    STEERING = 3, "Steering group"


@audited
class EscalationRule(TenantModel):
    name = models.CharField(max_length=120)
    condition = models.CharField(max_length=30, choices=Condition.choices)
    # The N of the condition (days, periods, score or percent); unused for financial_red.
    threshold = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    # Days at a level, unresolved, before the escalation moves to the next one.
    promote_after_days = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(1), MaxValueValidator(365)])
    top_level = models.PositiveSmallIntegerField(choices=Level.choices, default=Level.STEERING)
    active = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1, db_default=1)  # cat4.common.versioning
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"],
                                    name="governance_rule_unique_name"),
            models.CheckConstraint(condition=Q(condition__in=Condition.values),
                                   name="governance_rule_condition_valid"),
            models.CheckConstraint(condition=Q(top_level__gte=1, top_level__lte=3),
                                   name="governance_rule_top_level_valid"),
            models.CheckConstraint(condition=Q(promote_after_days__gte=1),
                                   name="governance_rule_promote_after_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class SubjectType(models.TextChoices):
    INITIATIVE = "initiative", "Initiative"
    KPI = "kpi", "KPI"
    APPROVAL = "approval", "Approval"
    MILESTONE = "milestone", "Milestone"
    DEPENDENCY = "dependency", "Dependency"
    RISK = "risk", "Risk"
    IMPACT_LINE = "impact_line", "Impact line"


class EscalationState(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


@audited
class Escalation(TenantModel):
    """One firing of one rule for one subject in one period: why it fired (the inputs
    and a sentence), where it stands on the path, and who acknowledged or resolved it.
    Raised at most once per rule, subject and period (unique), and at most one is
    unresolved per rule and subject."""

    rule = models.ForeignKey(EscalationRule, on_delete=models.PROTECT,
                             related_name="escalations")
    subject_type = models.CharField(max_length=20, choices=SubjectType.choices)
    subject_id = models.BigIntegerField()
    subject_label = models.CharField(max_length=300)
    # What the subject belongs to, for links, filters and recipients.
    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, null=True,
                                   blank=True, related_name="escalations")
    kpi = models.ForeignKey("kpis.Kpi", on_delete=models.CASCADE, null=True, blank=True,
                            related_name="escalations")
    period = models.CharField(max_length=20)
    inputs = models.JSONField(default=dict)
    explanation = models.TextField()
    level = models.PositiveSmallIntegerField(choices=Level.choices, default=Level.OWNER)
    level_since = models.DateTimeField()
    state = models.CharField(max_length=20, choices=EscalationState.choices,
                             default=EscalationState.OPEN)
    raised_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                        null=True, blank=True, related_name="+")
    acknowledge_comment = models.TextField(blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # Null with resolved_at set: resolved by itself when the condition cleared.
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+")
    resolution_comment = models.TextField(blank=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "subject_type", "subject_id", "period"],
                                    name="governance_escalation_once_per_period"),
            models.UniqueConstraint(fields=["rule", "subject_type", "subject_id"],
                                    condition=~Q(state="resolved"),
                                    name="governance_escalation_one_unresolved"),
            models.CheckConstraint(condition=Q(state__in=EscalationState.values),
                                   name="governance_escalation_state_valid"),
            models.CheckConstraint(condition=~Q(state="resolved") | Q(resolved_at__isnull=False),
                                   name="governance_escalation_resolved_has_time"),
            models.CheckConstraint(condition=Q(level__gte=1, level__lte=3),
                                   name="governance_escalation_level_valid"),
        ]
        indexes = [models.Index(fields=["organization", "state", "level"],
                                name="governance_escalation_open")]

    @property
    def auto_resolved(self) -> bool:
        return self.state == EscalationState.RESOLVED and self.resolved_by_id is None


class EscalationNotice(TenantModel):
    """Who was notified of an escalation at which level, and when. The unique key
    claims the notice, so a job that runs twice notifies once."""

    escalation = models.ForeignKey(Escalation, on_delete=models.CASCADE,
                                   related_name="notices")
    level = models.PositiveSmallIntegerField(choices=Level.choices)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                  related_name="+")
    notified_at = models.DateTimeField()

    class Meta:
        ordering = ["level", "notified_at", "id"]
        constraints = [models.UniqueConstraint(fields=["escalation", "level", "recipient"],
                                               name="governance_notice_once")]


class ReminderKind(models.TextChoices):
    BEFORE = "before", "Due soon"
    DUE = "due", "Due today"


class Reminder(TenantModel):
    """A reminder sent to an owner that an update (initiative status, KPI reading) is
    due. The unique key makes the daily job send each reminder once."""

    subject_type = models.CharField(max_length=20, choices=SubjectType.choices)
    subject_id = models.BigIntegerField()
    due_date = models.DateField()
    kind = models.CharField(max_length=10, choices=ReminderKind.choices)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                  related_name="+")
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(
            fields=["subject_type", "subject_id", "due_date", "kind"],
            name="governance_reminder_once")]

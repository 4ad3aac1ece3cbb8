"""Portfolios, programs, objectives and initiatives with their milestones, value
lines and monthly values, dependencies, risks and status updates.

Every table is tenant-owned (TenantModel). Rows that hang off an initiative
repeat its organisation; services check that the two agree. History of every
change is kept by django-pghistory triggers (append-only event tables).
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django_fsm import RETURN_VALUE, FSMField, FSMModelMixin, transition

from cat4.common.audit import audited
from cat4.tenancy.models import TenantModel


class Stage(models.TextChoices):
    IDENTIFIED = "identified", "Identified"
    DETAILED = "detailed", "Detailed"
    DECIDED = "decided", "Decided"
    IMPLEMENTED = "implemented", "Implemented"
    CLOSED = "closed", "Closed"
    ON_HOLD = "on_hold", "On hold"
    CANCELLED = "cancelled", "Cancelled"


# The gates in order; each forward move passes exactly one.
GATE_ORDER = [Stage.IDENTIFIED, Stage.DETAILED, Stage.DECIDED, Stage.IMPLEMENTED, Stage.CLOSED]


def next_stage(stage: str) -> str | None:
    if stage not in GATE_ORDER or stage == Stage.CLOSED:
        return None
    return GATE_ORDER[GATE_ORDER.index(stage) + 1]


def stage_reached(stage: str, gate: str) -> bool:
    """Has an initiative in ``stage`` reached ``gate`` (on the gate path)?"""
    return stage in GATE_ORDER and GATE_ORDER.index(stage) >= GATE_ORDER.index(gate)


class Cadence(models.IntegerChoices):
    """How often an initiative's owner posts a status update (in days)."""

    WEEKLY = 7, "Weekly"
    FORTNIGHTLY = 14, "Every two weeks"
    MONTHLY = 30, "Monthly"
    QUARTERLY = 91, "Quarterly"


class ActualsEntry(models.TextChoices):
    OWNER_THEN_CONTROLLER = "owner", "Owners enter actuals, the controller validates them"
    CONTROLLER_ONLY = "controller", "Only controllers enter actuals"


class ValueSettings(TenantModel):
    """Per-organisation value rules: RAG thresholds and who enters actuals."""

    green_at = models.DecimalField(max_digits=4, decimal_places=3, default=Decimal("0.950"),
                                   help_text="Forecast at or above this share of plan is green.")
    red_below = models.DecimalField(max_digits=4, decimal_places=3, default=Decimal("0.850"),
                                    help_text="Forecast below this share of plan is red.")
    actuals_entry = models.CharField(max_length=20, choices=ActualsEntry.choices,
                                     default=ActualsEntry.OWNER_THEN_CONTROLLER)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization"],
                                    name="initiatives_value_settings_one_per_org"),
            models.CheckConstraint(
                condition=Q(red_below__gt=0, red_below__lte=F("green_at"), green_at__lte=1),
                name="initiatives_value_settings_thresholds_ordered"),
        ]


class NamedListItem(TenantModel):
    """A tenant-defined list entry (business units, functions)."""

    name = models.CharField(max_length=120)

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class BusinessUnit(NamedListItem):
    class Meta(NamedListItem.Meta):
        constraints = [models.UniqueConstraint(fields=["organization", "name"],
                                               name="initiatives_bu_unique_name")]


class Function(NamedListItem):
    class Meta(NamedListItem.Meta):
        constraints = [models.UniqueConstraint(fields=["organization", "name"],
                                               name="initiatives_function_unique_name")]


class Portfolio(TenantModel):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"],
                                               name="initiatives_portfolio_unique_name")]

    def __str__(self) -> str:
        return self.name


class Program(TenantModel):
    portfolio = models.ForeignKey(Portfolio, on_delete=models.PROTECT, related_name="programs")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"],
                                               name="initiatives_program_unique_name")]

    def __str__(self) -> str:
        return self.name


class StrategicObjective(TenantModel):
    code = models.CharField(max_length=20)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["organization", "code"],
                                               name="initiatives_objective_unique_code")]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


@audited
class Initiative(FSMModelMixin, TenantModel):
    code = models.CharField(max_length=20, help_text="Unique in the organisation, e.g. NW-042.")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="initiatives")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="owned_initiatives")
    sponsor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                null=True, blank=True, related_name="sponsored_initiatives")
    controller = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="controlled_initiatives")
    business_unit = models.ForeignKey(BusinessUnit, on_delete=models.PROTECT, null=True,
                                      blank=True, related_name="initiatives")
    function = models.ForeignKey(Function, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="initiatives")
    objectives = models.ManyToManyField(StrategicObjective, through="InitiativeObjective",
                                        blank=True, related_name="initiatives")
    start_date = models.DateField()
    target_date = models.DateField()
    # Moved only by governance services (protected: no direct assignment).
    stage = FSMField(default=Stage.IDENTIFIED, choices=Stage.choices, protected=True,
                     db_index=True)
    resume_stage = models.CharField(max_length=20, choices=Stage.choices, blank=True,
                                    help_text="The stage an on-hold initiative resumes to.")
    hold_reason = models.TextField(blank=True)
    cancel_reason = models.TextField(blank=True)
    # A status update is due this many days after the last one (or after creation);
    # past that the initiative is stale and never shows green.
    update_cadence_days = models.PositiveSmallIntegerField(choices=Cadence.choices,
                                                           default=Cadence.MONTHLY)
    # The controller's validation of realised value, required before closure.
    value_validated_at = models.DateTimeField(null=True, blank=True)
    value_validated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                           null=True, blank=True, related_name="+")
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"],
                                    name="initiatives_initiative_unique_code"),
            models.CheckConstraint(condition=Q(target_date__gte=F("start_date")),
                                   name="initiatives_initiative_dates_ordered"),
            models.CheckConstraint(condition=Q(stage__in=Stage.values),
                                   name="initiatives_initiative_stage_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    # Transitions. Only governance services call these, with the row locked.

    @transition(field=stage, source=[Stage.IDENTIFIED, Stage.DETAILED, Stage.DECIDED,
                                     Stage.IMPLEMENTED],
                target=RETURN_VALUE(Stage.DETAILED, Stage.DECIDED, Stage.IMPLEMENTED,
                                    Stage.CLOSED))
    def pass_gate(self):
        """Forward through exactly one gate."""
        return next_stage(self.stage)

    @transition(field=stage, source=[Stage.IDENTIFIED, Stage.DETAILED, Stage.DECIDED,
                                     Stage.IMPLEMENTED], target=Stage.ON_HOLD)
    def hold(self, *, reason: str):
        self.resume_stage = self.stage
        self.hold_reason = reason

    @transition(field=stage, source=Stage.ON_HOLD,
                target=RETURN_VALUE(Stage.IDENTIFIED, Stage.DETAILED, Stage.DECIDED,
                                    Stage.IMPLEMENTED))
    def resume(self):
        stage, self.resume_stage, self.hold_reason = self.resume_stage, "", ""
        return stage

    @transition(field=stage, source=[Stage.IDENTIFIED, Stage.DETAILED, Stage.DECIDED,
                                     Stage.IMPLEMENTED, Stage.ON_HOLD], target=Stage.CANCELLED)
    def cancel(self, *, reason: str):
        self.cancel_reason = reason


class InitiativeObjective(TenantModel):
    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE)
    objective = models.ForeignKey(StrategicObjective, on_delete=models.CASCADE)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["initiative", "objective"],
                                               name="initiatives_objective_link_unique")]


@audited
class Milestone(TenantModel):
    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE,
                                   related_name="milestones")
    title = models.CharField(max_length=200)
    due_date = models.DateField()
    done_date = models.DateField(null=True, blank=True)
    weight = models.PositiveSmallIntegerField(default=1, validators=[MaxValueValidator(100)])
    waived = models.BooleanField(default=False)
    waiver_reason = models.TextField(blank=True)
    # cat4.common.versioning; db_default too, so rows loaded with SQL (bench) start at 1.
    version = models.PositiveIntegerField(default=1, db_default=1)

    class Meta:
        ordering = ["due_date", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(waived=False) | ~Q(waiver_reason=""),
                                   name="initiatives_milestone_waiver_has_reason"),
            models.CheckConstraint(condition=Q(weight__lte=100),
                                   name="initiatives_milestone_weight_max"),
        ]

    def __str__(self) -> str:
        return self.title


class ImpactCategory(models.TextChoices):
    COST_REDUCTION = "cost_reduction", "Cost reduction"
    REVENUE_INCREASE = "revenue_increase", "Revenue increase"
    COST_AVOIDANCE = "cost_avoidance", "Cost avoidance"
    ONE_TIME_COST = "one_time_cost", "One-time cost"


@audited
class ImpactLine(TenantModel):
    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE,
                                   related_name="impact_lines")
    category = models.CharField(max_length=20, choices=ImpactCategory.choices)
    description = models.CharField(max_length=200)
    recurring = models.BooleanField(default=True)
    ebit_relevant = models.BooleanField(default=True)
    # Goes up when the line's monthly values change, too.
    version = models.PositiveIntegerField(default=1, db_default=1)

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(category__in=ImpactCategory.values),
                                              name="initiatives_line_category_valid")]

    def __str__(self) -> str:
        return self.description

    @property
    def is_cost(self) -> bool:
        return self.category == ImpactCategory.ONE_TIME_COST


class ValueKind(models.TextChoices):
    PLANNED = "planned", "Planned"
    FORECAST = "forecast", "Forecast"
    ACTUAL = "actual", "Actual"


# "What changed since" (reporting.history) looks for the values written since a moment.
@audited(indexes=[models.Index(fields=["organization", "pgh_created_at"],
                               name="initiatives_mve_org_created")])
class MonthlyValue(TenantModel):
    """One amount of one kind for one month of one impact line, in the org's currency."""

    line = models.ForeignKey(ImpactLine, on_delete=models.CASCADE, related_name="values")
    month = models.DateField(help_text="The first day of the month.")
    kind = models.CharField(max_length=10, choices=ValueKind.choices)
    amount = models.DecimalField(max_digits=16, decimal_places=2,
                                 validators=[MinValueValidator(0)])

    class Meta:
        ordering = ["line_id", "month", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["line", "month", "kind"],
                                    name="initiatives_value_unique_cell"),
            models.CheckConstraint(condition=Q(amount__gte=0),
                                   name="initiatives_value_not_negative"),
            models.CheckConstraint(condition=Q(month__day=1),
                                   name="initiatives_value_first_of_month"),
            models.CheckConstraint(condition=Q(kind__in=ValueKind.values),
                                   name="initiatives_value_kind_valid"),
        ]


class Dependency(TenantModel):
    """``initiative`` needs ``depends_on`` delivered by ``need_by``."""

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE,
                                   related_name="dependencies")
    depends_on = models.ForeignKey(Initiative, on_delete=models.CASCADE,
                                   related_name="dependents")
    need_by = models.DateField()
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["initiative", "depends_on"],
                                    name="initiatives_dependency_unique"),
            models.CheckConstraint(condition=~Q(initiative=F("depends_on")),
                                   name="initiatives_dependency_not_self"),
        ]


class RiskStatus(models.TextChoices):
    OPEN = "open", "Open"
    MITIGATED = "mitigated", "Mitigated"
    CLOSED = "closed", "Closed"


@audited
class Risk(TenantModel):
    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="risks")
    description = models.TextField()
    probability = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)], help_text="1 (rare) to 5")
    impact = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)], help_text="1 (minor) to 5")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="+")
    mitigation = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=RiskStatus.choices,
                              default=RiskStatus.OPEN)
    version = models.PositiveIntegerField(default=1, db_default=1)

    class Meta:
        ordering = ["-id"]
        constraints = [models.CheckConstraint(
            condition=Q(probability__gte=1, probability__lte=5, impact__gte=1, impact__lte=5),
            name="initiatives_risk_scale")]

    @property
    def score(self) -> int:
        return self.probability * self.impact


class Confidence(models.TextChoices):
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


class StatusUpdate(TenantModel):
    """An owner's periodic update: narrative, confidence, optional RAG override."""

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE,
                                   related_name="status_updates")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                               related_name="+")
    narrative = models.TextField()
    confidence = models.CharField(max_length=10, choices=Confidence.choices)
    rag_override = models.CharField(
        max_length=10, blank=True,
        choices=[("green", "Green"), ("amber", "Amber"), ("red", "Red")])
    override_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(
            condition=Q(rag_override="") | ~Q(override_reason=""),
            name="initiatives_status_override_has_reason")]

"""KPI definitions, their planned series, readings, links to initiatives and
objectives, and the variance snapshots the scheduled jobs compute (issue #4).

A write that changes what a KPI's variance depends on marks the KPI dirty in the
same transaction (``needs_recompute``); the frequent job recomputes dirty KPIs,
oldest first, and the nightly job all of them.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from cat4.common.audit import audited
from cat4.tenancy.models import TenantModel
from initiatives.models import Initiative, StrategicObjective


class Direction(models.TextChoices):
    HIGHER = "higher", "Higher is better"
    LOWER = "lower", "Lower is better"


class Frequency(models.TextChoices):
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"


VALUE = {"max_digits": 18, "decimal_places": 4}


@audited
class Kpi(TenantModel):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    unit = models.CharField(max_length=30, help_text="For example %, days, EUR, t CO2.")
    direction = models.CharField(max_length=10, choices=Direction.choices)
    baseline = models.DecimalField(**VALUE)
    baseline_date = models.DateField()
    target = models.DecimalField(**VALUE)
    target_date = models.DateField()
    frequency = models.CharField(max_length=10, choices=Frequency.choices,
                                 default=Frequency.MONTHLY)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="owned_kpis")
    # Thresholds of this KPI; empty means the organisation's value rules apply.
    green_at = models.DecimalField(max_digits=4, decimal_places=3, null=True, blank=True,
                                   validators=[MinValueValidator(Decimal("0.001")),
                                               MaxValueValidator(Decimal("1"))])
    red_below = models.DecimalField(max_digits=4, decimal_places=3, null=True, blank=True,
                                    validators=[MinValueValidator(Decimal("0.001")),
                                                MaxValueValidator(Decimal("1"))])
    needs_recompute = models.BooleanField(default=True, db_index=True)
    dirty_since = models.DateTimeField(null=True, blank=True)
    # Goes up when the definition or the planned series changes (not with readings or the
    # recompute jobs): cat4.common.versioning. db_default: rows loaded with SQL start at 1.
    version = models.PositiveIntegerField(default=1, db_default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"],
                                    name="kpis_kpi_unique_name"),
            models.CheckConstraint(condition=Q(target_date__gt=F("baseline_date")),
                                   name="kpis_kpi_target_after_baseline"),
            models.CheckConstraint(
                condition=(Q(green_at__isnull=True) & Q(red_below__isnull=True))
                | (Q(green_at__isnull=False) & Q(red_below__isnull=False)
                   & Q(red_below__lte=F("green_at"))),
                name="kpis_kpi_thresholds_both_or_none"),
        ]
        indexes = [models.Index(fields=["needs_recompute", "dirty_since"],
                                name="kpis_kpi_dirty_queue")]

    def __str__(self) -> str:
        return self.name


@audited
class KpiPlanPoint(TenantModel):
    """An explicitly planned value for one period (else the path is linear)."""

    kpi = models.ForeignKey(Kpi, on_delete=models.CASCADE, related_name="plan_points")
    period = models.DateField()
    value = models.DecimalField(**VALUE)

    class Meta:
        ordering = ["period"]
        constraints = [models.UniqueConstraint(fields=["kpi", "period"],
                                               name="kpis_plan_point_unique")]


@audited
class KpiReading(TenantModel):
    """The measured value of a KPI for one period. A correction updates the row; the
    audit history keeps the earlier value, who entered it and when."""

    kpi = models.ForeignKey(Kpi, on_delete=models.CASCADE, related_name="readings")
    period = models.DateField()
    value = models.DecimalField(**VALUE)
    comment = models.TextField(blank=True)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    entered_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-period"]
        constraints = [models.UniqueConstraint(fields=["kpi", "period"],
                                               name="kpis_reading_one_per_period")]


@audited
class KpiLink(TenantModel):
    """A KPI serves an initiative or a strategic objective, with a weight."""

    kpi = models.ForeignKey(Kpi, on_delete=models.CASCADE, related_name="links")
    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, null=True,
                                   blank=True, related_name="kpi_links")
    objective = models.ForeignKey(StrategicObjective, on_delete=models.CASCADE, null=True,
                                  blank=True, related_name="kpi_links")
    weight = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("1"),
                                 validators=[MinValueValidator(Decimal("0.01"))])
    version = models.PositiveIntegerField(default=1, db_default=1)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(initiative__isnull=False) & Q(objective__isnull=True))
                | (Q(initiative__isnull=True) & Q(objective__isnull=False)),
                name="kpis_link_exactly_one_target"),
            models.CheckConstraint(condition=Q(weight__gt=0), name="kpis_link_weight_positive"),
            models.UniqueConstraint(fields=["kpi", "initiative"],
                                    condition=Q(initiative__isnull=False),
                                    name="kpis_link_unique_initiative"),
            models.UniqueConstraint(fields=["kpi", "objective"],
                                    condition=Q(objective__isnull=False),
                                    name="kpis_link_unique_objective"),
        ]


class KpiSnapshot(TenantModel):
    """The computed variance of one KPI for one period (one row, upserted by the jobs)."""

    kpi = models.ForeignKey(Kpi, on_delete=models.CASCADE, related_name="snapshots")
    period = models.DateField()
    expected = models.DecimalField(**VALUE)
    actual = models.DecimalField(**VALUE)
    variance = models.DecimalField(**VALUE)
    performance = models.DecimalField(max_digits=12, decimal_places=4)
    rag = models.CharField(max_length=10)
    explanation = models.TextField()
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["kpi_id", "-period"]
        constraints = [models.UniqueConstraint(fields=["kpi", "period"],
                                               name="kpis_snapshot_one_per_period")]

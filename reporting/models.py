"""Reporting's own tables: the rollups the dashboard reads (maintained by Celery jobs
from the initiatives' values, milestones and updates), board packs built in the
background, and Excel imports with their row-level reports.

Rollups are derived data: the jobs rebuild them from source at any time, so they carry
no history of their own; what changed and the portfolio as of a date come from the
audit history (pghistory events), not from these tables.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from cat4.tenancy.models import TenantModel
from initiatives.models import (
    BusinessUnit,
    ImpactLine,
    Initiative,
    Portfolio,
    Program,
    Stage,
)

MONEY = {"max_digits": 18, "decimal_places": 2}
RAG_CHOICES = [("green", "Green"), ("amber", "Amber"), ("red", "Red"), ("grey", "Grey")]


class InitiativeFact(TenantModel):
    """One row per initiative: its place in the structure, both status colours and its
    value totals over the whole horizon, as the rollup job last computed them."""

    initiative = models.OneToOneField(Initiative, on_delete=models.CASCADE,
                                      related_name="fact")
    stage = models.CharField(max_length=20, choices=Stage.choices)
    portfolio = models.ForeignKey(Portfolio, on_delete=models.CASCADE, related_name="+")
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="+")
    business_unit = models.ForeignKey(BusinessUnit, on_delete=models.SET_NULL, null=True,
                                      blank=True, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                              related_name="+")
    schedule_rag = models.CharField(max_length=10, choices=RAG_CHOICES)
    financial_rag = models.CharField(max_length=10, choices=RAG_CHOICES)
    stale = models.BooleanField(default=False)
    last_update = models.DateField(null=True, blank=True)
    planned = models.DecimalField(**MONEY, default=0)
    forecast = models.DecimalField(**MONEY, default=0)
    actual = models.DecimalField(**MONEY, default=0)
    # Actual where a month has one, the forecast elsewhere: what the initiative will
    # deliver on current knowledge. Compared with ``planned`` for variances and RAG.
    outturn = models.DecimalField(**MONEY, default=0)
    run_rate = models.DecimalField(**MONEY, default=0)
    computed_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["organization", "stage"], name="reporting_fact_stage"),
            models.Index(fields=["organization", "program"], name="reporting_fact_program"),
            models.Index(fields=["organization", "owner"], name="reporting_fact_owner"),
        ]


class InitiativeYearValue(TenantModel):
    """An initiative's planned, forecast, actual and outturn value in one fiscal year of
    its organisation (benefits; one-time costs are kept apart)."""

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE,
                                   related_name="year_values")
    fiscal_year = models.PositiveSmallIntegerField()
    planned = models.DecimalField(**MONEY, default=0)
    forecast = models.DecimalField(**MONEY, default=0)
    actual = models.DecimalField(**MONEY, default=0)
    outturn = models.DecimalField(**MONEY, default=0)
    one_time_cost_planned = models.DecimalField(**MONEY, default=0)
    one_time_cost_outturn = models.DecimalField(**MONEY, default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["initiative", "fiscal_year"],
                                               name="reporting_year_value_unique")]
        indexes = [models.Index(fields=["organization", "fiscal_year"],
                                name="reporting_year_value_fy")]


class LineYearValue(TenantModel):
    """One impact line's value sums in one fiscal year: the first rollup level, so the
    rebuild of the facts and year rows never reads the ~1M raw monthly values. Only the
    lines whose values changed since the last run are summed again (``DirtyLine``).
    ``outturn`` is the actual where a month has one, else the forecast."""

    line = models.ForeignKey(ImpactLine, on_delete=models.CASCADE, related_name="+")
    fiscal_year = models.PositiveSmallIntegerField()
    planned = models.DecimalField(**MONEY, default=0)
    forecast = models.DecimalField(**MONEY, default=0)
    actual = models.DecimalField(**MONEY, default=0)
    outturn = models.DecimalField(**MONEY, default=0)
    forecast_cells = models.PositiveIntegerField(default=0)  # forecast values, zeros too

    class Meta:
        constraints = [models.UniqueConstraint(fields=["line", "fiscal_year"],
                                               name="reporting_line_year_unique")]
        indexes = [models.Index(fields=["organization"], name="reporting_line_year_org")]


class DirtyLine(TenantModel):
    """A mark that a line's monthly values changed and its ``LineYearValue`` rows must
    be summed again. Written by PostgreSQL triggers on every insert, update and delete
    of monthly values (migration 0002), whatever code made the change; taken (deleted)
    by the rollup job in the transaction that sums the lines again. One row per
    statement and line, no unique key: a mark written by a transaction that has not
    committed yet is invisible to the job's delete and stays for the next run."""

    line_id = models.BigIntegerField()  # no foreign key: the line may be gone

    class Meta:
        indexes = [models.Index(fields=["organization"], name="reporting_dirty_line_org")]


class RollupRun(TenantModel):
    """When an organisation's rollups were last rebuilt, how long it took, and which
    fiscal year start the line sums were made with (another start sums every line
    again)."""

    finished_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    initiatives = models.PositiveIntegerField()
    lines_summed = models.PositiveIntegerField(default=0)
    fiscal_year_start_month = models.PositiveSmallIntegerField(null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization"],
                                               name="reporting_rollup_run_one_per_org")]


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


def report_path(instance, filename) -> str:
    """Stored under a random name in the organisation's folder."""
    return f"reports/{instance.organization_id}/{uuid.uuid4().hex}"


class BoardPack(TenantModel):
    """A board pack PDF, built by a Celery job with visible progress. ``snapshot`` is
    the data it was made from (and its SHA-256), so the same pack can be made again."""

    title = models.CharField(max_length=200)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    # The appendix lists what changed since this date.
    changes_since = models.DateField()
    filters = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=JobStatus.choices,
                              default=JobStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    step = models.CharField(max_length=200, blank=True)
    snapshot = models.JSONField(null=True, blank=True)
    snapshot_sha256 = models.CharField(max_length=64, blank=True)
    file = models.FileField(upload_to=report_path, max_length=200, blank=True)
    size = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100),
                                   name="reporting_board_pack_progress_max"),
            models.CheckConstraint(condition=Q(status__in=JobStatus.values),
                                   name="reporting_board_pack_status_valid"),
        ]


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", "Uploaded"
    CHECKING = "checking", "Checking"
    CHECKED = "checked", "Checked (dry run done)"
    IMPORTING = "importing", "Importing"
    IMPORTED = "imported", "Imported"
    FAILED = "failed", "Failed"


class ImportMode(models.TextChoices):
    ALL = "all", "Everything (only when every row is valid)"
    VALID_ONLY = "valid", "Only the valid rows"


class ImportJob(TenantModel):
    """An uploaded workbook: its dry run's row-level report, then the import of all
    rows (only when clean) or of the valid ones, with the rejected rows and their
    reasons downloadable as a workbook."""

    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)
    file = models.FileField(upload_to=report_path, max_length=200)
    file_name = models.CharField(max_length=200)
    size = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=ImportStatus.choices,
                              default=ImportStatus.UPLOADED)
    mode = models.CharField(max_length=10, choices=ImportMode.choices, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    total_rows = models.PositiveIntegerField(default=0)
    valid_rows = models.PositiveIntegerField(default=0)
    # [{"sheet": ..., "row": 7, "column": "target_date", "message": ...}, ...]
    problems = models.JSONField(default=list)
    # A problem with the file as a whole (wrong type, missing sheet, too large).
    file_error = models.TextField(blank=True)
    # {"created": n, "updated": n, "unchanged": n, "rejected": n}
    summary = models.JSONField(default=dict)
    rejected_file = models.FileField(upload_to=report_path, max_length=200, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100),
                                   name="reporting_import_progress_max"),
            models.CheckConstraint(condition=Q(status__in=ImportStatus.values),
                                   name="reporting_import_status_valid"),
        ]

"""Organisations that existed before escalation rules get the default rules
(new organisations get them when they are created: governance/signals.py)."""

from django.db import migrations

# A copy of governance.escalations.DEFAULT_RULES as it was when this ran.
RULES = [
    ("Money red", "financial_red", None, 5),
    ("KPI off track for 2 periods", "kpi_off_track", 2, 7),
    ("Update overdue by a week", "stale", 7, 7),
    ("Approval waiting more than 2 days", "approval_pending", 2, 3),
    ("Milestone overdue by 2 weeks", "milestone_overdue", 14, 7),
    ("Dependency late", "dependency_late", 0, 7),
    ("Risk score 15 or more", "risk_score", 15, 7),
    ("One-time cost 10 % over plan", "one_time_cost_over", 10, 5),
]


def add_defaults(apps, schema_editor):
    Organization = apps.get_model("tenancy", "Organization")
    EscalationRule = apps.get_model("governance", "EscalationRule")
    configured = set(EscalationRule.objects.values_list("organization_id", flat=True))
    for org in Organization.objects.exclude(pk__in=configured):
        EscalationRule.objects.bulk_create([
            EscalationRule(organization=org, name=name, condition=condition,
                           threshold=threshold, promote_after_days=days)
            for name, condition, threshold, days in RULES])


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0006_escalations_preferences_reminders"),
    ]

    operations = [migrations.RunPython(add_defaults, migrations.RunPython.noop)]

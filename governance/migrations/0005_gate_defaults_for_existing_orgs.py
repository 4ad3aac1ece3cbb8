"""Organisations created before gate defaults were made at creation get them now
(before, they were created on the first view of a gate, a write on GET)."""

from django.db import migrations

CRITERIA = {
    "detailed": [("owner_and_sponsor", "Owner and sponsor named"),
                 ("first_planned_value", "A first planned value")],
    "decided": [("planned_values", "Planned monthly values (business case)"),
                ("milestones", "Milestones planned"),
                ("controller_named", "Controller named")],
    "implemented": [("milestones_complete", "Every milestone done or waived with a reason")],
    "closed": [("actuals_cover_plan", "Actuals cover the plan horizon"),
               ("value_validated", "Controller validated the realised value")],
}
APPROVERS = {"detailed": ["sponsor"], "decided": ["sponsor", "controller"],
             "implemented": ["sponsor"], "closed": ["controller"]}


def add_defaults(apps, schema_editor):
    Organization = apps.get_model("tenancy", "Organization")
    GateCriterion = apps.get_model("governance", "GateCriterion")
    GateApprover = apps.get_model("governance", "GateApprover")
    configured = set(GateCriterion.objects.values_list("organization_id", flat=True))
    for org in Organization.objects.exclude(pk__in=configured):
        for gate, rules in CRITERIA.items():
            for position, (rule, label) in enumerate(rules):
                GateCriterion.objects.create(organization=org, gate=gate, rule=rule,
                                             label=label, position=position)
        for gate, roles in APPROVERS.items():
            for role in roles:
                GateApprover.objects.get_or_create(organization=org, gate=gate, role=role)


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0004_rebaseline"),
        ("tenancy", "0001_initial"),
    ]

    operations = [migrations.RunPython(add_defaults, migrations.RunPython.noop)]

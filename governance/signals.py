"""New organisations start with the default gate criteria and approvers, and the
default escalation rules."""

from django.db.models.signals import post_save
from django.dispatch import receiver
from django_scopes import scope

from cat4.tenancy.models import Organization

from .escalations import ensure_rule_defaults
from .services import ensure_gate_defaults


@receiver(post_save, sender=Organization, dispatch_uid="governance_gate_defaults")
def give_new_organisations_gate_defaults(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        with scope(organization=instance):
            ensure_gate_defaults(instance)
            ensure_rule_defaults(instance)

"""Every governance write, one module per seam: gates (submit, decide, hold, resume,
cancel, validate value), gate_settings, decisions, evidence, rebaseline, escalations
and inbox. Callers import them from here: ``from governance import services``.
``ConflictError`` (409) is cat4.common's, importable here for those callers."""

from cat4.common.exceptions import ConflictError

from .decisions import decision_log_add
from .escalations import (
    RULE_FIELDS,
    escalation_acknowledge,
    escalation_resolve,
    escalation_rule_create,
    escalation_rule_update,
    escalation_url,
)
from .evidence import evidence_delete, evidence_upload
from .gate_settings import (
    DEFAULT_APPROVERS,
    DEFAULT_CRITERIA,
    ensure_gate_defaults,
    gate_approvers_set,
    gate_checklist_add,
    gate_criterion_set_active,
)
from .gates import (
    approval_decide,
    gate_submit,
    initiative_cancel,
    initiative_hold,
    initiative_resume,
    value_validate,
)
from .inbox import notification_preferences_set, notifications_mark_read
from .rebaseline import rebaseline_decide, rebaseline_request

__all__ = [
    "DEFAULT_APPROVERS",
    "DEFAULT_CRITERIA",
    "RULE_FIELDS",
    "ConflictError",
    "approval_decide",
    "decision_log_add",
    "ensure_gate_defaults",
    "escalation_acknowledge",
    "escalation_resolve",
    "escalation_rule_create",
    "escalation_rule_update",
    "escalation_url",
    "evidence_delete",
    "evidence_upload",
    "gate_approvers_set",
    "gate_checklist_add",
    "gate_criterion_set_active",
    "gate_submit",
    "initiative_cancel",
    "initiative_hold",
    "initiative_resume",
    "notification_preferences_set",
    "notifications_mark_read",
    "rebaseline_decide",
    "rebaseline_request",
    "value_validate",
]

"""Escalations: the rules admins configure, and what people do with a raised
escalation (acknowledge, resolve). The engine that raises, promotes and auto-resolves
them is governance/escalations.py."""

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from cat4.common.amounts import AmountRules, parse_amount
from cat4.common.exceptions import (
    ApplicationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
)
from cat4.common.versioning import lock_version, save_new_version
from cat4.tenancy.models import Membership, Organization
from cat4.tenancy.scoping import acting_in_org

from ..conditions import PARAMETERS, with_unit
from ..models import (
    Condition,
    Escalation,
    EscalationNotice,
    EscalationRule,
    EscalationState,
    NotificationKind,
)
from ..notifications import notify
from ..permissions import can_act_on_escalation, can_manage_escalation_rules


def _require_rule_admin(membership: Membership) -> None:
    if not can_manage_escalation_rules(membership=membership):
        raise PermissionDeniedError("Only admins configure escalation rules.")


def _clean_threshold(condition: str, threshold) -> Decimal | None:
    """The rule's N, checked against what the condition's parameter allows."""
    parameter = PARAMETERS[condition]
    if parameter is None:
        return None  # the condition has no N (financial RAG red): ignored
    span = (f"{with_unit(parameter.minimum, parameter.unit)} to "
            f"{with_unit(parameter.maximum, parameter.unit)}")
    if threshold is None or (isinstance(threshold, str) and not threshold.strip()):
        raise ApplicationError(f"{parameter.label} is needed for this condition: give N "
                               f"from {span}.", field="threshold")
    number = f"{parameter.label} must be a number from {span}."
    value = parse_amount(threshold, field="threshold", rules=AmountRules(
        places=10, not_text=number, not_a_number=number,
        not_finite=f"{parameter.label} must be from {span}.",
        too_large=f"{parameter.label} must be from {span}.",
        too_precise=f"{parameter.label} takes at most two decimals ({span})."))
    if not parameter.minimum <= value <= parameter.maximum:
        raise ApplicationError(f"{parameter.label} must be from {span}.", field="threshold")
    if parameter.whole and value != value.to_integral_value():
        raise ApplicationError(f"{parameter.label} must be a whole number ({span}).",
                               field="threshold")
    if value != value.quantize(Decimal("0.01")):
        raise ApplicationError(f"{parameter.label} takes at most two decimals ({span}).",
                               field="threshold")
    return value.quantize(Decimal("0.01"))


def _whole_in_range(value, *, field: str, low: int, high: int, message: str) -> int:
    if isinstance(value, bool):
        raise ApplicationError(message, field=field)
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError) as exc:
        raise ApplicationError(message, field=field) from exc
    if not low <= number <= high:
        raise ApplicationError(message, field=field)
    return number


def _clean_rule(*, organization: Organization, values: dict, rule_id=None) -> dict:
    name = " ".join(str(values.get("name") or "").split())
    if not name:
        raise ApplicationError("Give the rule a name, e.g. “Stale initiatives”.", field="name")
    if len(name) > 120:
        raise ApplicationError("A rule's name has at most 120 characters.", field="name")
    clash = EscalationRule.objects.filter(organization=organization, name__iexact=name)
    if rule_id is not None:
        clash = clash.exclude(pk=rule_id)
    if clash.exists():
        raise ApplicationError(f"A rule named “{name}” already exists; choose another name.",
                               field="name")
    condition = values.get("condition")
    if condition not in Condition.values:
        raise ApplicationError("Choose one of the conditions: "
                               + ", ".join(Condition.values) + ".", field="condition")
    return {
        "name": name,
        "condition": condition,
        "threshold": _clean_threshold(condition, values.get("threshold")),
        "promote_after_days": _whole_in_range(
            values.get("promote_after_days"), field="promote_after_days", low=1, high=365,
            message="Promote after a whole number of days from 1 to 365."),
        "top_level": _whole_in_range(
            values.get("top_level"), field="top_level", low=1, high=3,
            message="The top level is 1 (owner), 2 (sponsor) or 3 (steering group)."),
        "active": bool(values.get("active")),
    }


def _save_rule(rule, cleaned: dict, *, new_version: bool = False):
    """Save (a changed rule with its version raised), turning a concurrent duplicate name
    into a field error, not a 500."""
    for key, value in cleaned.items():
        setattr(rule, key, value)
    try:
        with transaction.atomic():
            if new_version:
                save_new_version(rule)
            else:
                rule.save()
    except IntegrityError as exc:
        raise ApplicationError(f"A rule named “{rule.name}” already exists; choose another "
                               "name.", field="name") from exc
    return rule


RULE_FIELDS = ("name", "condition", "threshold", "promote_after_days", "top_level", "active")


@acting_in_org
@transaction.atomic
def escalation_rule_create(*, membership: Membership, name: str, condition: str,
                           threshold=None, promote_after_days=5, top_level=3,
                           active: bool = True):
    """A rule that raises an escalation when its condition holds (admins)."""
    _require_rule_admin(membership)
    org = membership.organization
    cleaned = _clean_rule(organization=org, values={
        "name": name, "condition": condition, "threshold": threshold,
        "promote_after_days": promote_after_days, "top_level": top_level, "active": active})
    return _save_rule(EscalationRule(organization=org), cleaned)


@acting_in_org
@transaction.atomic
def escalation_rule_update(*, membership: Membership, rule_id, version: int | None = None,
                           **changes):
    """Change a rule, or switch it off or on (``active=False``). The condition of a rule
    that has raised escalations stays: their explanations refer to it. ``version`` is the
    one the editor read (StaleVersionError when someone saved since)."""
    _require_rule_admin(membership)
    unknown = sorted(set(changes) - set(RULE_FIELDS))
    if unknown:
        raise ApplicationError(f"A rule has no field {unknown[0]}.", field=unknown[0])
    org = membership.organization
    rule = lock_version(EscalationRule.objects.filter(organization=org), pk=_as_id(rule_id),
                        version=version, what="rule")
    if rule is None:
        raise NotFoundError("No such escalation rule.")
    if ("condition" in changes and changes["condition"] != rule.condition
            and rule.escalations.exists()):
        raise ConflictError("This rule has raised escalations, so its condition stays; "
                            "switch it off and create a new rule instead.")
    values = {key: getattr(rule, key) for key in RULE_FIELDS}
    if changes.get("condition", rule.condition) != rule.condition and "threshold" not in changes:
        values["threshold"] = None  # the old N means something else under a new condition
    values.update(changes)
    return _save_rule(rule, _clean_rule(organization=org, values=values, rule_id=rule.pk),
                      new_version=True)


def _as_id(value) -> int:
    """An id from outside: a positive whole number, or no such object (404)."""
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return 0
    return number if 0 < number < 2**63 else 0


def _lock_escalation(membership: Membership, escalation_id):
    escalation = (Escalation.objects.select_for_update(of=("self",))
                  .select_related("rule", "initiative", "kpi")
                  .filter(organization=membership.organization, pk=_as_id(escalation_id))
                  .first())
    if escalation is None:
        raise NotFoundError("No such escalation.")
    if not can_act_on_escalation(membership=membership, escalation=escalation):
        raise PermissionDeniedError("Only admins, executives, whoever was notified of it, and "
                                    "the owner or sponsor of what it is about act on an "
                                    "escalation.")
    return escalation


def _comment(comment, *, what: str) -> str:
    comment = (comment or "").strip()
    if not comment:
        raise ApplicationError(f"Write a comment: {what}", field="comment")
    return comment


def escalation_url(*, organization: Organization, escalation_id) -> str:
    return reverse("escalation_detail", kwargs={"org_slug": organization.slug,
                                                "escalation_id": escalation_id})


@acting_in_org
@transaction.atomic
def escalation_acknowledge(*, membership: Membership, escalation_id, comment: str):
    """Someone takes the escalation on: it stays on record, unresolved, at its level."""
    escalation = _lock_escalation(membership, escalation_id)
    if escalation.state != EscalationState.OPEN:
        raise ConflictError(f"This escalation is already {escalation.get_state_display().lower()}"
                            "; only an open escalation can be acknowledged.")
    escalation.acknowledge_comment = _comment(comment, what="what is being done about it?")
    escalation.state = EscalationState.ACKNOWLEDGED
    escalation.acknowledged_at = timezone.now()
    escalation.acknowledged_by = membership.user
    escalation.save(update_fields=["state", "acknowledged_at", "acknowledged_by",
                                   "acknowledge_comment"])
    return escalation


@acting_in_org
@transaction.atomic
def escalation_resolve(*, membership: Membership, escalation_id, comment: str):
    """Close an open or acknowledged escalation; everyone notified of it hears so."""
    escalation = _lock_escalation(membership, escalation_id)
    if escalation.state == EscalationState.RESOLVED:
        raise ConflictError("This escalation is already resolved.")
    escalation.resolution_comment = _comment(comment, what="how was it resolved?")
    escalation.state = EscalationState.RESOLVED
    escalation.resolved_at = timezone.now()
    escalation.resolved_by = membership.user
    escalation.save(update_fields=["state", "resolved_at", "resolved_by",
                                   "resolution_comment"])
    org = membership.organization
    notices = (EscalationNotice.objects.filter(organization=org, escalation=escalation)
               .exclude(recipient_id=membership.user_id).select_related("recipient"))
    notify(organization=org, recipients=[notice.recipient for notice in notices],
           kind=NotificationKind.ESCALATION_RESOLVED,
           title=f"Resolved: {escalation.rule.name}: {escalation.subject_label}",
           body=f"{membership.user} resolved it: {escalation.resolution_comment}",
           url=escalation_url(organization=org, escalation_id=escalation.pk))
    return escalation

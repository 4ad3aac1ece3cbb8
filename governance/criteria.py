"""Evaluate a gate's entry criteria for an initiative: each one met or not, and why."""

from dataclasses import asdict, dataclass

from django.db.models import Count, Q

from initiatives.models import Initiative, MonthlyValue, ValueKind

from .models import GateCriterion, Rule


@dataclass(frozen=True)
class CriterionResult:
    criterion_id: int
    label: str
    rule: str
    met: bool
    why: str

    @property
    def is_checklist(self) -> bool:
        return not self.rule

    def as_dict(self) -> dict:
        return asdict(self)


def _facts(initiative: Initiative) -> dict:
    """Everything the built-in rules look at, in a handful of queries."""
    milestones = initiative.milestones.aggregate(
        total=Count("id"),
        open=Count("id", filter=Q(done_date__isnull=True, waived=False)),
    )
    lines = initiative.impact_lines.annotate(
        planned=Count("values", filter=Q(values__kind=ValueKind.PLANNED))).values_list(
        "planned", flat=True)
    planned_cells = set(MonthlyValue.objects.filter(
        line__initiative=initiative, kind=ValueKind.PLANNED).values_list("line_id", "month"))
    actual_cells = set(MonthlyValue.objects.filter(
        line__initiative=initiative, kind=ValueKind.ACTUAL).values_list("line_id", "month"))
    return {
        "milestones": milestones["total"],
        "open_milestones": milestones["open"],
        "lines": len(lines),
        "lines_without_plan": sum(1 for n in lines if n == 0),
        "planned_cells": planned_cells,
        "missing_actuals": planned_cells - actual_cells,
    }


def _check(rule: str, initiative: Initiative, facts: dict) -> tuple[bool, str]:
    if rule == Rule.OWNER_AND_SPONSOR:
        missing = [name for name, value in (("owner", initiative.owner_id),
                                            ("sponsor", initiative.sponsor_id)) if not value]
        return (not missing, "owner and sponsor are named" if not missing
                else f"no {' and no '.join(missing)} named")
    if rule == Rule.FIRST_PLANNED_VALUE:
        n = len(facts["planned_cells"])
        return (n > 0, f"{n} planned monthly value(s)" if n else "no planned value entered")
    if rule == Rule.PLANNED_VALUES:
        if facts["lines"] == 0:
            return False, "no impact line"
        if facts["lines_without_plan"]:
            return False, f"{facts['lines_without_plan']} impact line(s) without planned values"
        return True, f"all {facts['lines']} impact line(s) have planned values"
    if rule == Rule.MILESTONES:
        n = facts["milestones"]
        return (n > 0, f"{n} milestone(s) planned" if n else "no milestone planned")
    if rule == Rule.CONTROLLER_NAMED:
        return (bool(initiative.controller_id),
                "controller named" if initiative.controller_id else "no controller named")
    if rule == Rule.MILESTONES_COMPLETE:
        if facts["milestones"] == 0:
            return False, "no milestone planned"
        n = facts["open_milestones"]
        return (n == 0, "every milestone is done or waived" if n == 0
                else f"{n} milestone(s) neither done nor waived")
    if rule == Rule.ACTUALS_COVER_PLAN:
        if not facts["planned_cells"]:
            return False, "no planned values to cover"
        missing = facts["missing_actuals"]
        if missing:
            first = min(month for _line, month in missing)
            return False, f"{len(missing)} planned month(s) without an actual, from {first:%b %Y}"
        return True, "every planned month has an actual"
    if rule == Rule.VALUE_VALIDATED:
        if initiative.value_validated_at:
            return True, f"validated on {initiative.value_validated_at:%d %b %Y}"
        return False, "the controller has not validated the realised value"
    raise ValueError(f"unknown rule {rule}")


def evaluate(initiative: Initiative, gate: str, *, confirmed_checklist: set[int] = frozenset()
             ) -> list[CriterionResult]:
    criteria = list(GateCriterion.objects.filter(organization_id=initiative.organization_id,
                                                 gate=gate, active=True))
    facts = _facts(initiative) if any(c.rule for c in criteria) else {}
    results = []
    for criterion in criteria:
        if criterion.rule:
            met, why = _check(criterion.rule, initiative, facts)
        else:
            met = criterion.pk in confirmed_checklist
            why = "confirmed by the submitter" if met else "to be confirmed by the submitter"
        results.append(CriterionResult(criterion.pk, criterion.label, criterion.rule, met, why))
    return results

"""Reads for the gate panel, the review queue, the inbox and the decision log."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Prefetch, QuerySet

from cat4.common.months import parse_month_key
from cat4.tenancy.models import Membership, Organization, User
from initiatives import permissions as initiative_permissions
from initiatives.models import (
    BusinessUnit,
    Function,
    Initiative,
    Portfolio,
    Program,
    Stage,
    StrategicObjective,
    next_stage,
)

from . import criteria, permissions
from .criteria import CriterionResult
from .models import (
    GATE_CHOICES,
    Approval,
    ApproverRole,
    Decision,
    DecisionLogEntry,
    Delivery,
    Escalation,
    EscalationNotice,
    EscalationRule,
    EscalationState,
    Evidence,
    GateApprover,
    GateCriterion,
    GateSubmission,
    Notification,
    NotificationKind,
    NotificationPreference,
    Rebaseline,
    StageEvent,
    SubmissionStatus,
)


@dataclass
class GatePanel:
    next_gate: str | None
    next_gate_label: str
    results: list[CriterionResult]
    pending: GateSubmission | None
    approvals: list[Approval] = field(default_factory=list)
    last_rejected: GateSubmission | None = None
    can_submit: bool = False
    my_approval: Approval | None = None
    events: list[StageEvent] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return all(r.met or r.is_checklist for r in self.results)

    @property
    def checklist(self) -> list[CriterionResult]:
        return [r for r in self.results if r.is_checklist]


def gate_status(*, initiative: Initiative, confirmed_checklist=frozenset()):
    """The next gate and its criteria (met or not, and why), or (None, [])."""
    gate = next_stage(initiative.stage)
    if gate is None:
        return None, []
    return gate, criteria.evaluate(initiative, gate, confirmed_checklist=set(confirmed_checklist))


def gate_panel(*, initiative: Initiative, membership: Membership) -> GatePanel:
    gate, results = gate_status(initiative=initiative)
    submissions = list(GateSubmission.objects.filter(initiative=initiative)
                       .prefetch_related("approvals__approver")[:10])
    pending = next((s for s in submissions if s.status == SubmissionStatus.PENDING), None)
    # A rejection matters while the initiative still waits at that gate.
    rejected = next((s for s in submissions if s.status == SubmissionStatus.REJECTED
                     and s.gate == gate and s.from_stage == initiative.stage), None)
    if rejected and any(s.submitted_at > rejected.submitted_at for s in submissions):
        rejected = None
    approvals = list(pending.approvals.all()) if pending else []
    mine = next((a for a in approvals if a.decision == Decision.PENDING
                 and permissions.can_decide(membership=membership, approval=a,
                                            initiative=initiative)), None)
    return GatePanel(
        next_gate=gate, next_gate_label=Stage(gate).label if gate else "",
        results=results, pending=pending, approvals=approvals, last_rejected=rejected,
        can_submit=(gate is not None and pending is None
                    and initiative_permissions.can_edit_initiative(membership=membership,
                                                                   initiative=initiative)),
        my_approval=mine,
        events=list(initiative.stage_events.select_related("actor")[:20]),
    )


def reviews_for(*, organization: Organization, user: User) -> QuerySet[Approval]:
    """Approvals waiting for ``user``, oldest first."""
    return (Approval.objects.filter(organization=organization, approver=user,
                                    decision=Decision.PENDING,
                                    submission__status=SubmissionStatus.PENDING)
            .select_related("submission__initiative__owner", "submission__submitted_by")
            .order_by("submission__submitted_at", "id"))


def decided_by(*, organization: Organization, user: User, limit: int = 20):
    return (Approval.objects.filter(organization=organization, approver=user)
            .exclude(decision=Decision.PENDING)
            .select_related("submission__initiative").order_by("-decided_at")[:limit])


def inbox_for(*, organization: Organization, user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(organization=organization, recipient=user)


def unread_count(*, organization: Organization, user: User) -> int:
    return inbox_for(organization=organization, user=user).filter(read_at__isnull=True).count()


def decision_log(*, organization: Organization) -> QuerySet[DecisionLogEntry]:
    return (DecisionLogEntry.objects.filter(organization=organization)
            .select_related("recorded_by").prefetch_related("initiatives"))


def evidence_of(*, initiative: Initiative):
    return (Evidence.objects.filter(organization_id=initiative.organization_id,
                                    initiative=initiative)
            .select_related("uploaded_by", "submission"))


def rebaselines_for(*, organization: Organization, user: User) -> QuerySet[Rebaseline]:
    """Re-baselines waiting for ``user`` as the initiative's controller."""
    return (Rebaseline.objects.filter(organization=organization, status=Decision.PENDING,
                                      initiative__controller=user)
            .exclude(initiative__owner=user)
            .select_related("initiative", "requested_by").order_by("requested_at", "id"))


@dataclass
class RebaselineChange:
    line: str
    month: str
    before: object
    after: object


def pending_rebaseline(*, initiative: Initiative, grids) -> tuple[Rebaseline | None, list]:
    """The pending re-baseline of an initiative and its cells, current -> proposed."""
    rebaseline = (Rebaseline.objects.filter(initiative=initiative, status=Decision.PENDING)
                  .select_related("requested_by").first())
    if rebaseline is None:
        return None, []
    by_line = {str(g.line.pk): g for g in grids}
    changes = []
    for line_id, cells in rebaseline.values.items():
        grid = by_line.get(line_id)
        if grid is None:
            continue
        for month, amount in cells.items():
            month_date = parse_month_key(month)
            changes.append(RebaselineChange(
                grid.line.description, f"{month_date:%b %Y}",
                grid.cells.get((month_date, "planned")),
                None if amount is None else Decimal(amount)))
    return rebaseline, changes


def settings_overview(*, organization: Organization) -> dict:
    """What the governance settings page shows: each gate's criteria and approver roles,
    and the organisation's lists (a fixed number of queries)."""
    criteria_rows = list(GateCriterion.objects.filter(organization=organization))
    approvers = set(GateApprover.objects.filter(organization=organization)
                    .values_list("gate", "role"))
    gates = [{"value": gate, "label": label,
              "criteria": [c for c in criteria_rows if c.gate == gate],
              "roles": [role for role, _ in ApproverRole.choices if (gate, role) in approvers]}
             for gate, label in GATE_CHOICES]
    lists = {
        "business_unit": BusinessUnit.objects.filter(organization=organization),
        "function": Function.objects.filter(organization=organization),
        "portfolio": Portfolio.objects.filter(organization=organization),
        "program": Program.objects.filter(organization=organization).select_related(
            "portfolio"),
        "objective": StrategicObjective.objects.filter(organization=organization),
    }
    return {"gates": gates, "lists": lists}


# --- Escalations -----------------------------------------------------------------------

UNRESOLVED = "unresolved"
ESCALATION_STATE_FILTERS = (UNRESOLVED, "open", "acknowledged", "resolved")


def escalation_list(*, organization: Organization, state: str = "", level=None, rule=None):
    """The organisation's escalations, newest first. ``state`` is one of
    open / acknowledged / resolved, "unresolved" (open or acknowledged) or "" (all);
    ``level`` a level number; ``rule`` a rule id. Rows carry what a list shows, in
    one query."""
    qs = (Escalation.objects.filter(organization=organization)
          .select_related("rule", "initiative", "kpi", "acknowledged_by", "resolved_by"))
    if state == UNRESOLVED:
        qs = qs.exclude(state=EscalationState.RESOLVED)
    elif state:
        qs = qs.filter(state=state)
    if level:
        qs = qs.filter(level=level)
    if rule:
        qs = qs.filter(rule_id=getattr(rule, "pk", rule))
    return qs


def escalation_get(*, organization: Organization, escalation_id):
    """One escalation of the organisation with its notices, or None."""
    try:
        escalation_id = int(escalation_id)
    except (TypeError, ValueError):
        return None
    notices = EscalationNotice.objects.filter(organization=organization).select_related(
        "recipient")
    return (Escalation.objects.filter(organization=organization, pk=escalation_id)
            .select_related("rule", "initiative__owner", "initiative__sponsor", "kpi__owner",
                            "acknowledged_by", "resolved_by")
            .prefetch_related(Prefetch("notices", queryset=notices)).first())


def open_escalation_count(*, organization: Organization) -> int:
    """Unresolved escalations of the organisation (one COUNT on the state index)."""
    return (Escalation.objects.filter(organization=organization)
            .exclude(state=EscalationState.RESOLVED).count())


def escalation_rules(*, organization: Organization):
    return EscalationRule.objects.filter(organization=organization)


def notification_preferences_of(*, organization: Organization, user: User) -> dict[str, str]:
    """Every notification kind with the member's delivery for it (default: at once)."""
    chosen = dict(NotificationPreference.objects.filter(organization=organization, user=user)
                  .values_list("kind", "delivery"))
    return {kind: chosen.get(kind, Delivery.IMMEDIATE.value) for kind in NotificationKind.values}

"""The escalation engine: raise, promote and resolve escalations from the rules.

For each active rule of an organisation, governance/conditions.py says what fires it
now. Then, in one transaction per rule:

- a firing with no unresolved escalation is raised at level 1 (the owner), unless the
  rule already fired for that subject and period (the unique key says so, so a rerun
  or a second worker raises nothing twice);
- a firing whose escalation is still unresolved refreshes its inputs and sentence, and
  moves one level up the path (owner -> sponsor -> steering group) once it has spent
  the rule's ``promote_after_days`` at its level, up to the rule's top level;
- an unresolved escalation that no longer fires resolves itself.

Who was notified at which level is an EscalationNotice row with a unique key: the
notice is claimed in the same transaction as the inbox entry, so nobody is told twice.
A worker killed mid-run rolls back the rule it was on; the next run redoes it.
"""

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from cat4.common.locks import try_org_job_lock
from cat4.tenancy.models import Organization, User

from . import conditions
from .models import (
    Condition,
    Escalation,
    EscalationNotice,
    EscalationRule,
    EscalationState,
    Level,
    NotificationKind,
)
from .notifications import notify

JOB = "governance.evaluate_escalations"

# The rules a new organisation starts with: (name, condition, N, days per level).
DEFAULT_RULES = [
    ("Money red", Condition.FINANCIAL_RED, None, 5),
    ("KPI off track for 2 periods", Condition.KPI_OFF_TRACK, 2, 7),
    ("Update overdue by a week", Condition.STALE, 7, 7),
    ("Approval waiting more than 2 days", Condition.APPROVAL_PENDING, 2, 3),
    ("Milestone overdue by 2 weeks", Condition.MILESTONE_OVERDUE, 14, 7),
    ("Dependency late", Condition.DEPENDENCY_LATE, 0, 7),
    ("Risk score 15 or more", Condition.RISK_SCORE, 15, 7),
    ("One-time cost 10 % over plan", Condition.ONE_TIME_COST_OVER, 10, 5),
]


def ensure_rule_defaults(organization: Organization) -> None:
    """Give an organisation the default escalation rules if it has none."""
    if EscalationRule.objects.filter(organization=organization).exists():
        return
    EscalationRule.objects.bulk_create([
        EscalationRule(organization=organization, name=name, condition=condition,
                       threshold=threshold, promote_after_days=days)
        for name, condition, threshold, days in DEFAULT_RULES])


def organisations() -> list[int]:
    """The organisations with an active rule or an unresolved escalation."""
    with scopes_disabled():  # which organisations have work: across tenants on purpose
        ids = set(EscalationRule.objects.filter(active=True)
                  .values_list("organization_id", flat=True))
        ids |= set(Escalation.objects.exclude(state=EscalationState.RESOLVED)
                   .values_list("organization_id", flat=True))
    return sorted(ids)


def local_today(organization: Organization, now: datetime | None = None) -> date:
    """The date in the organisation's own time zone (now, or at ``now``)."""
    return (now or timezone.now()).astimezone(ZoneInfo(organization.time_zone)).date()


@dataclass
class Outcome:
    raised: int = 0
    promoted: int = 0
    resolved: int = 0
    notified: int = 0

    def add(self, other: "Outcome") -> None:
        self.raised += other.raised
        self.promoted += other.promoted
        self.resolved += other.resolved
        self.notified += other.notified


def evaluate_org(organization_id: int, *, now: datetime | None = None) -> dict:
    """Evaluate every rule of one organisation (see the module docstring)."""
    now = now or timezone.now()
    with try_org_job_lock(JOB, organization_id) as acquired:
        if not acquired:
            return {"organization": organization_id, "skipped": "another run holds the lock"}
        org = Organization.objects.get(pk=organization_id)
        total = Outcome()
        with scope(organization=org):
            steering = conditions.steering_group(org)
            for rule in EscalationRule.objects.filter(organization=org).order_by("pk"):
                total.add(evaluate_rule(rule, now=now, steering=steering))
    return {"organization": organization_id, **total.__dict__}


@transaction.atomic
def evaluate_rule(rule: EscalationRule, *, now: datetime, steering: list[int]) -> Outcome:
    org = rule.organization
    outcome = Outcome()
    unresolved = {(e.subject_type, e.subject_id): e for e in
                  Escalation.objects.select_for_update().filter(rule=rule)
                  .exclude(state=EscalationState.RESOLVED).order_by("pk")}
    if not rule.active:
        for escalation in unresolved.values():
            _resolve(escalation, now=now, comment="The rule was switched off.")
            outcome.resolved += 1
        return outcome
    today = local_today(org, now)
    for firing in conditions.find(rule, organization=org, today=today, now=now):
        escalation = unresolved.pop((firing.subject_type, firing.subject_id), None)
        if escalation is None:
            escalation = _raise(rule, firing, now=now)
            if escalation is None:
                continue  # already raised (and resolved) for this period
            outcome.raised += 1
        else:
            _refresh(escalation, firing)
            if not _promotion_due(escalation, rule, now=now):
                continue
            escalation.level += 1
            escalation.level_since = now
            escalation.save(update_fields=["level", "level_since"])
            outcome.promoted += 1
        outcome.notified += _notify_level(escalation, firing, steering=steering, now=now)
    for escalation in unresolved.values():
        _resolve(escalation, now=now, comment="Resolved by itself: the condition cleared.")
        outcome.resolved += 1
    return outcome


def _raise(rule: EscalationRule, firing: conditions.Firing, *, now: datetime
           ) -> Escalation | None:
    if Escalation.objects.filter(rule=rule, subject_type=firing.subject_type,
                                 subject_id=firing.subject_id, period=firing.period).exists():
        return None
    try:
        with transaction.atomic():  # a savepoint: a concurrent insert loses cleanly
            return Escalation.objects.create(
                organization=rule.organization, rule=rule, subject_type=firing.subject_type,
                subject_id=firing.subject_id, subject_label=firing.subject_label[:300],
                initiative_id=firing.initiative_id, kpi_id=firing.kpi_id,
                period=firing.period, inputs=firing.inputs, explanation=firing.explanation,
                level=Level.OWNER, level_since=now, raised_at=now)
    except IntegrityError:
        return None


def _refresh(escalation: Escalation, firing: conditions.Firing) -> None:
    if (escalation.inputs, escalation.explanation) != (firing.inputs, firing.explanation):
        escalation.inputs, escalation.explanation = firing.inputs, firing.explanation
        escalation.subject_label = firing.subject_label[:300]
        escalation.save(update_fields=["inputs", "explanation", "subject_label"])


def _promotion_due(escalation: Escalation, rule: EscalationRule, *, now: datetime) -> bool:
    if escalation.level >= rule.top_level:
        return False
    return (now - escalation.level_since).days >= rule.promote_after_days


def recipients_at(level: int, firing: conditions.Firing, *, steering: list[int]) -> list[int]:
    """Who is told when an escalation reaches ``level``: the owners, then also the
    sponsors, then also the steering group (organisation admins and executives). A
    level with nobody on it (a KPI serving no sponsored initiative) passes the
    escalation on to the next one's people."""
    people = list(firing.owners)
    if level >= Level.SPONSOR:
        people += firing.sponsors
    if level >= Level.STEERING or (level == Level.SPONSOR and not firing.sponsors):
        people += steering
    seen: list[int] = []
    for user_id in people:
        if user_id is not None and user_id not in seen:
            seen.append(user_id)
    return seen


def _url(escalation: Escalation) -> str:
    return reverse("escalation_detail", kwargs={"org_slug": escalation.organization.slug,
                                                "escalation_id": escalation.pk})


def _notify_level(escalation: Escalation, firing: conditions.Firing, *,
                  steering: list[int], now: datetime) -> int:
    """Tell this level's people, each once (the notice row is the claim)."""
    new = []
    for user_id in recipients_at(escalation.level, firing, steering=steering):
        _notice, created = EscalationNotice.objects.get_or_create(
            organization=escalation.organization, escalation=escalation,
            level=escalation.level, recipient_id=user_id, defaults={"notified_at": now})
        if created:
            new.append(user_id)
    if not new:
        return 0
    level = Level(escalation.level).label.lower()
    title = (f"Escalation: {escalation.subject_label}" if escalation.level == Level.OWNER
             else f"Escalated to the {level}: {escalation.subject_label}")
    notify(organization=escalation.organization, recipients=User.objects.filter(pk__in=new),
           kind=NotificationKind.ESCALATION, title=title,
           body=f"{escalation.rule.name}. {escalation.explanation}", url=_url(escalation))
    return len(new)


def _resolve(escalation: Escalation, *, now: datetime, comment: str) -> None:
    escalation.state = EscalationState.RESOLVED
    escalation.resolved_at = now
    escalation.resolved_by = None
    escalation.resolution_comment = comment
    escalation.save(update_fields=["state", "resolved_at", "resolved_by",
                                   "resolution_comment"])
    told = User.objects.filter(pk__in=escalation.notices.values("recipient_id"))
    notify(organization=escalation.organization, recipients=told,
           kind=NotificationKind.ESCALATION_RESOLVED,
           title=f"Resolved: {escalation.subject_label}",
           body=f"{escalation.rule.name}. {comment}", url=_url(escalation))

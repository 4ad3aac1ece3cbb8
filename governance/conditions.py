"""The built-in escalation conditions: what each one's parameter N means, and the
reads that find what fires a rule now.

Each ``find_<condition>`` returns ``Firing`` records for one rule: the subject, the
period the firing belongs to (a rule fires at most once per subject and period), the
input values and a sentence that explains them, and who stands at each level of the
escalation path. They only read; governance/escalations.py writes.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Max
from django.utils import timezone

from cat4.common.money import format_money
from cat4.common.rag import RagColour
from cat4.tenancy.models import Membership, Organization, Role
from initiatives import calculations as icalc
from initiatives.models import (
    Dependency,
    ImpactCategory,
    ImpactLine,
    Initiative,
    Milestone,
    MonthlyValue,
    Risk,
    RiskStatus,
    Stage,
    ValueKind,
)
from initiatives.selectors import ACTIVE_STAGES, thresholds_for
from kpis import calculations as kcalc
from kpis.models import Kpi, KpiLink, KpiSnapshot

from .models import Approval, Condition, Decision, SubjectType, SubmissionStatus


@dataclass(frozen=True)
class Parameter:
    """What the N of a condition means, and the values it may take."""

    label: str  # e.g. "Days pending"
    unit: str  # shown after the number: "days", "periods", "%", ""
    minimum: Decimal
    maximum: Decimal
    default: Decimal | None
    whole: bool = True  # only whole numbers


PARAMETERS: dict[str, Parameter | None] = {
    Condition.FINANCIAL_RED: None,
    Condition.KPI_OFF_TRACK: Parameter("Consecutive periods off track", "periods",
                                       Decimal(1), Decimal(24), Decimal(2)),
    Condition.STALE: Parameter("Days overdue", "days", Decimal(0), Decimal(365), Decimal(7)),
    Condition.APPROVAL_PENDING: Parameter("Days pending", "days", Decimal(1), Decimal(365),
                                          Decimal(2)),
    Condition.MILESTONE_OVERDUE: Parameter("Days overdue", "days", Decimal(0), Decimal(365),
                                           Decimal(14)),
    Condition.DEPENDENCY_LATE: Parameter("Days past the need-by date", "days", Decimal(0),
                                         Decimal(365), Decimal(0)),
    Condition.RISK_SCORE: Parameter("Risk score (probability × impact)", "", Decimal(1),
                                    Decimal(25), Decimal(15)),
    Condition.ONE_TIME_COST_OVER: Parameter("Percent over plan", "%", Decimal("0.01"),
                                            Decimal(1000), Decimal(10), whole=False),
}



@dataclass
class Firing:
    subject_type: str
    subject_id: int
    subject_label: str
    period: str
    inputs: dict
    explanation: str
    initiative_id: int | None = None
    kpi_id: int | None = None
    # Level 1 (owner) and level 2 (sponsor) recipients, as user ids; level 3 is the
    # organisation's admins and executives.
    owners: list[int] = field(default_factory=list)
    sponsors: list[int] = field(default_factory=list)


def _n(threshold: Decimal | None, condition: str) -> Decimal:
    parameter = PARAMETERS[condition]
    if threshold is not None:
        return threshold
    return parameter.default if parameter else Decimal(0)


def number_text(value: Decimal) -> str:
    """A parameter as people write it: 3 rather than 3.00; never an exponent."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def with_unit(value: Decimal, unit: str) -> str:
    """``14 days``, ``10.5 %``, or the bare number when the parameter has no unit."""
    return f"{number_text(value)} {unit}" if unit else number_text(value)


def day_text(day: date) -> str:
    """1 Dec 2026 (no leading zero)."""
    return f"{day.day} {day:%b %Y}"


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _active_initiatives(organization: Organization):
    return Initiative.objects.filter(organization=organization, stage__in=ACTIVE_STAGES)


def steering_group(organization: Organization) -> list[int]:
    return list(Membership.objects.filter(organization=organization,
                                          role__in=[Role.ADMIN, Role.EXECUTIVE])
                .order_by("user_id").values_list("user_id", flat=True))


# --- initiative money ------------------------------------------------------------------


def _line_outturns(organization: Organization, initiative_ids) -> dict[int, dict]:
    """Per impact line: its initiative, category, planned total and outturn (actual
    where a month has one, the forecast elsewhere), in one query."""
    lines: dict[int, dict] = {}
    cells: dict[tuple[int, date], dict[str, Decimal]] = {}
    rows = (MonthlyValue.objects.filter(organization=organization,
                                        line__initiative_id__in=initiative_ids)
            .values_list("line_id", "line__initiative_id", "line__category", "month", "kind",
                         "amount"))
    for line_id, initiative_id, category, month, kind, amount in rows:
        lines.setdefault(line_id, {"initiative": initiative_id, "category": category,
                                   "planned": Decimal(0), "has_forecast": False})
        if kind == ValueKind.PLANNED:
            lines[line_id]["planned"] += amount
        else:
            cells.setdefault((line_id, month), {})[kind] = amount
            if kind == ValueKind.FORECAST:
                lines[line_id]["has_forecast"] = True
    for line in lines.values():
        line["outturn"] = Decimal(0)
    for (line_id, _month), kinds in cells.items():
        lines[line_id]["outturn"] += kinds.get(ValueKind.ACTUAL, kinds.get(ValueKind.FORECAST,
                                                                           Decimal(0)))
    return lines


def find_financial_red(organization: Organization, rule, *, today: date) -> list[Firing]:
    initiatives = {i.pk: i for i in _active_initiatives(organization)}
    thresholds = thresholds_for(organization)
    by_initiative: dict[int, list[dict]] = {}
    for line in _line_outturns(organization, list(initiatives)).values():
        by_initiative.setdefault(line["initiative"], []).append(line)
    firings = []
    for initiative_id, lines in by_initiative.items():
        if not any(line["has_forecast"] for line in lines):
            continue  # no forecast yet: grey, not red
        rag = icalc.combine_financial(
            [icalc.LineTotals(planned=line["planned"], forecast=line["outturn"],
                              is_cost=line["category"] == ImpactCategory.ONE_TIME_COST)
             for line in lines],
            thresholds=thresholds, currency=organization.base_currency)
        if rag.colour is not RagColour.RED:
            continue
        initiative = initiatives[initiative_id]
        firings.append(Firing(
            SubjectType.INITIATIVE, initiative.pk, str(initiative), f"{today:%Y-%m}",
            {"colour": "red", "rule": rag.explanation},
            f"{initiative.code} is red on money: {rag.explanation}.",
            initiative_id=initiative.pk, owners=[initiative.owner_id],
            sponsors=[initiative.sponsor_id] if initiative.sponsor_id else []))
    return firings


def find_one_time_cost_over(organization: Organization, rule, *, today: date) -> list[Firing]:
    n = _n(rule.threshold, Condition.ONE_TIME_COST_OVER)
    initiatives = {i.pk: i for i in _active_initiatives(organization)}
    lines = _line_outturns(organization, list(initiatives))
    names = dict(ImpactLine.objects.filter(pk__in=list(lines)).values_list("pk", "description"))
    firings = []
    for line_id, line in lines.items():
        if line["category"] != ImpactCategory.ONE_TIME_COST or line["planned"] <= 0:
            continue
        over = (line["outturn"] - line["planned"]) / line["planned"] * 100
        if over < n:
            continue
        initiative = initiatives[line["initiative"]]
        currency = organization.base_currency
        over_text = f"{over.quantize(Decimal('0.1'))} %"
        firings.append(Firing(
            SubjectType.IMPACT_LINE, line_id, f"{initiative.code}: {names[line_id]}",
            f"{today:%Y-%m}",
            {"planned": str(line["planned"]), "outturn": str(line["outturn"]),
             "over_percent": str(over.quantize(Decimal("0.01"))), "threshold": number_text(n)},
            f"One-time cost “{names[line_id]}” of {initiative.code} is heading for "
            f"{format_money(line['outturn'], currency)} against a plan of "
            f"{format_money(line['planned'], currency)}: {over_text} over, "
            f"rule: {number_text(n)} % or more.",
            initiative_id=initiative.pk, owners=[initiative.owner_id],
            sponsors=[initiative.sponsor_id] if initiative.sponsor_id else []))
    return firings


# --- delivery ----------------------------------------------------------------------------


def find_milestone_overdue(organization: Organization, rule, *, today: date) -> list[Firing]:
    n = max(int(_n(rule.threshold, Condition.MILESTONE_OVERDUE)), 1)
    rows = (Milestone.objects.filter(organization=organization, done_date__isnull=True,
                                     waived=False, due_date__lte=today - timedelta(days=n),
                                     initiative__stage__in=ACTIVE_STAGES)
            .select_related("initiative"))
    firings = []
    for m in rows:
        late, i = (today - m.due_date).days, m.initiative
        firings.append(Firing(
            SubjectType.MILESTONE, m.pk, f"{i.code}: {m.title}", m.due_date.isoformat(),
            {"due_date": m.due_date.isoformat(), "days_overdue": late, "threshold": n},
            f"Milestone “{m.title}” of {i.code} was due on {day_text(m.due_date)} and is "
            f"{_days(late)} overdue, rule: {_days(n)} or more.",
            initiative_id=i.pk, owners=[i.owner_id],
            sponsors=[i.sponsor_id] if i.sponsor_id else []))
    return firings


def find_dependency_late(organization: Organization, rule, *, today: date) -> list[Firing]:
    """A dependency is late when, past its need-by date (plus N days), the initiative it
    depends on is neither closed nor implemented, or was cancelled."""
    n = int(_n(rule.threshold, Condition.DEPENDENCY_LATE))
    rows = (Dependency.objects.filter(organization=organization,
                                      initiative__stage__in=ACTIVE_STAGES,
                                      need_by__lt=today - timedelta(days=n))
            .exclude(depends_on__stage__in=[Stage.IMPLEMENTED, Stage.CLOSED])
            .select_related("initiative", "depends_on"))
    firings = []
    for d in rows:
        i, supplier = d.initiative, d.depends_on
        late = (today - d.need_by).days
        state = Stage(supplier.stage).label.lower()
        firings.append(Firing(
            SubjectType.DEPENDENCY, d.pk, f"{i.code} needs {supplier.code}",
            d.need_by.isoformat(),
            {"need_by": d.need_by.isoformat(), "supplier": supplier.code,
             "supplier_stage": supplier.stage, "days_late": late, "threshold": n},
            f"{i.code} needed {supplier.code} delivered by {day_text(d.need_by)}; it is still "
            f"{state}, {_days(late)} later" + (f" (rule: more than {_days(n)})." if n else "."),
            initiative_id=i.pk, owners=[i.owner_id],
            sponsors=[i.sponsor_id] if i.sponsor_id else []))
    return firings


def find_risk_score(organization: Organization, rule, *, today: date) -> list[Firing]:
    n = int(_n(rule.threshold, Condition.RISK_SCORE))
    rows = (Risk.objects.filter(organization=organization, status=RiskStatus.OPEN,
                                initiative__stage__in=ACTIVE_STAGES)
            .select_related("initiative"))
    firings = []
    for r in rows:
        if r.score < n:
            continue
        i = r.initiative
        text = r.description if len(r.description) <= 80 else r.description[:77] + "…"
        firings.append(Firing(
            SubjectType.RISK, r.pk, f"{i.code}: {text}", f"{today:%Y-%m}",
            {"probability": r.probability, "impact": r.impact, "score": r.score,
             "threshold": n},
            f"Risk “{text}” of {i.code} scores {r.score} (probability {r.probability} × "
            f"impact {r.impact}), rule: {n} or more.",
            initiative_id=i.pk, owners=[r.owner_id, i.owner_id],
            sponsors=[i.sponsor_id] if i.sponsor_id else []))
    return firings


def find_approval_pending(organization: Organization, rule, *, today: date,
                          now: datetime) -> list[Firing]:
    n = int(_n(rule.threshold, Condition.APPROVAL_PENDING))
    rows = (Approval.objects.filter(organization=organization, decision=Decision.PENDING,
                                    submission__status=SubmissionStatus.PENDING,
                                    submission__submitted_at__lt=now - timedelta(days=n))
            .select_related("submission__initiative", "approver"))
    firings = []
    for a in rows:
        s, i = a.submission, a.submission.initiative
        waiting = (now - s.submitted_at).days
        gate = Stage(s.gate).label
        firings.append(Firing(
            SubjectType.APPROVAL, a.pk, f"{i.code}: {gate} gate, {a.get_role_display()}",
            s.submitted_at.date().isoformat(),
            {"submitted_at": s.submitted_at.isoformat(), "days_waiting": waiting,
             "approver": str(a.approver), "threshold": n},
            f"The {a.get_role_display().lower()} approval of {i.code} for the {gate} gate "
            f"has waited {_days(waiting)} for {a.approver} (submitted "
            f"{day_text(s.submitted_at)}), rule: more than {_days(n)}.",
            initiative_id=i.pk, owners=[a.approver_id, i.owner_id],
            sponsors=[i.sponsor_id] if i.sponsor_id else []))
    return firings


# --- freshness ---------------------------------------------------------------------------


def kpi_reading_due(*, latest_period: date | None, baseline_date: date, frequency: str
                    ) -> date:
    """When the next reading of a KPI is due: the first period without a reading is
    due when that period has ended (the start of the period after it)."""
    if latest_period is None:
        missing = kcalc.period_start(baseline_date, frequency)
    else:
        missing = kcalc.next_period(latest_period, frequency)
    return kcalc.next_period(missing, frequency)


def find_stale(organization: Organization, rule, *, today: date) -> list[Firing]:
    n = int(_n(rule.threshold, Condition.STALE))
    zone = ZoneInfo(organization.time_zone)
    firings = []
    initiatives = (_active_initiatives(organization)
                   .annotate(last_update=Max("status_updates__created_at")))
    for i in initiatives:
        last = timezone.localdate(i.last_update, zone) if i.last_update else None
        due = icalc.update_due(last_update=last, created=timezone.localdate(i.created_at, zone),
                               cadence_days=i.update_cadence_days)
        overdue = (today - due).days
        if overdue <= 0 or overdue < n:
            continue
        since = f"the last on {day_text(last)}" if last else "none posted yet"
        firings.append(Firing(
            SubjectType.INITIATIVE, i.pk, str(i), due.isoformat(),
            {"due": due.isoformat(), "last_update": last.isoformat() if last else None,
             "cadence_days": i.update_cadence_days, "days_overdue": overdue, "threshold": n},
            f"{i.code}'s status update was due on {day_text(due)} "
            f"({i.get_update_cadence_days_display().lower()}, {since}) and is "
            f"{_days(overdue)} overdue, rule: {_days(n)} or more.",
            initiative_id=i.pk, owners=[i.owner_id],
            sponsors=[i.sponsor_id] if i.sponsor_id else []))
    kpis = Kpi.objects.filter(organization=organization).annotate(
        latest_period=Max("readings__period"))
    sponsors = _kpi_sponsors(organization)
    for k in kpis:
        due = kpi_reading_due(latest_period=k.latest_period, baseline_date=k.baseline_date,
                              frequency=k.frequency)
        overdue = (today - due).days
        if overdue <= 0 or overdue < n or due > k.target_date + timedelta(days=366):
            continue
        since = (f"the latest is for {kcalc.period_label(k.latest_period, k.frequency)}"
                 if k.latest_period else "none entered yet")
        firings.append(Firing(
            SubjectType.KPI, k.pk, k.name, due.isoformat(),
            {"due": due.isoformat(),
             "latest_period": k.latest_period.isoformat() if k.latest_period else None,
             "frequency": k.frequency, "days_overdue": overdue, "threshold": n},
            f"KPI “{k.name}” needed a reading by {day_text(due)} ({since}); it is "
            f"{_days(overdue)} overdue, rule: {_days(n)} or more.",
            kpi_id=k.pk, owners=[k.owner_id], sponsors=sponsors.get(k.pk, [])))
    return firings


def _kpi_sponsors(organization: Organization) -> dict[int, list[int]]:
    sponsors: dict[int, list[int]] = {}
    for kpi_id, sponsor_id in (KpiLink.objects.filter(
            organization=organization, initiative__sponsor__isnull=False)
            .values_list("kpi_id", "initiative__sponsor_id")):
        if sponsor_id not in sponsors.setdefault(kpi_id, []):
            sponsors[kpi_id].append(sponsor_id)
    return sponsors


def find_kpi_off_track(organization: Organization, rule, *, today: date) -> list[Firing]:
    n = int(_n(rule.threshold, Condition.KPI_OFF_TRACK))
    kpis = {k.pk: k for k in Kpi.objects.filter(organization=organization)}
    series: dict[int, list[KpiSnapshot]] = {}
    for s in (KpiSnapshot.objects.filter(organization=organization)
              .order_by("kpi_id", "period")):
        series.setdefault(s.kpi_id, []).append(s)
    sponsors = _kpi_sponsors(organization)
    firings = []
    for kpi_id, snapshots in series.items():
        streak = kcalc.consecutive_off_track([s.rag for s in snapshots])
        if streak < n:
            continue
        k, latest = kpis[kpi_id], snapshots[-1]
        first = snapshots[-streak]
        span = (kcalc.period_label(latest.period, k.frequency) if streak == 1 else
                f"{kcalc.period_label(first.period, k.frequency)} to "
                f"{kcalc.period_label(latest.period, k.frequency)}")
        firings.append(Firing(
            SubjectType.KPI, k.pk, k.name, latest.period.isoformat(),
            {"periods_off_track": streak, "latest_period": latest.period.isoformat(),
             "actual": str(latest.actual), "expected": str(latest.expected),
             "threshold": n},
            f"KPI “{k.name}” has been off track (red) for {streak} consecutive "
            f"period{'s' if streak != 1 else ''} ({span}), rule: {n} or more; latest "
            f"{kcalc.format_value(latest.actual, k.unit)} against an expected "
            f"{kcalc.format_value(latest.expected.quantize(Decimal('0.01')), k.unit)}.",
            kpi_id=k.pk, owners=[k.owner_id], sponsors=sponsors.get(k.pk, [])))
    return firings


def find(rule, *, organization: Organization, today: date, now: datetime) -> list[Firing]:
    """What fires ``rule`` now."""
    condition = rule.condition
    if condition == Condition.APPROVAL_PENDING:
        return find_approval_pending(organization, rule, today=today, now=now)
    finder = {
        Condition.FINANCIAL_RED: find_financial_red,
        Condition.KPI_OFF_TRACK: find_kpi_off_track,
        Condition.STALE: find_stale,
        Condition.MILESTONE_OVERDUE: find_milestone_overdue,
        Condition.DEPENDENCY_LATE: find_dependency_late,
        Condition.RISK_SCORE: find_risk_score,
        Condition.ONE_TIME_COST_OVER: find_one_time_cost_over,
    }[condition]
    return finder(organization, rule, today=today)


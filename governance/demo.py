"""Believable demo portfolios for the demo organisations, built through the real
services so that history, stage events, approvals and decisions are genuine.

Deterministic (a seeded random generator) and idempotent: an organisation that
already has initiatives is left as it is.
"""

import random
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from cat4.common.months import add_months, month_range
from cat4.tenancy.models import Membership, Organization, Role
from initiatives import services as initiative_services
from initiatives.models import (
    BusinessUnit,
    Function,
    ImpactCategory,
    Initiative,
    Portfolio,
    Program,
    StrategicObjective,
    ValueKind,
)

from . import services
from .escalations import evaluate_org
from .models import (
    Approval,
    Decision,
    Escalation,
    EscalationState,
    GateSubmission,
    SubmissionStatus,
)

STRUCTURE = {
    "northwind": {
        "prefix": "NW",
        "portfolios": {
            "Operational excellence 2027": ["Network & fleet", "Warehousing", "Procurement"],
            "Digital logistics": ["Customer platform", "Data & analytics"],
        },
        "units": ["Road freight", "Contract logistics", "Air & ocean", "Group functions"],
        "functions": ["Operations", "Procurement", "IT", "Finance", "Sales", "HR"],
        "objectives": [("SO1", "Cut cost-to-serve by 12 %"), ("SO2", "Grow contract revenue"),
                       ("SO3", "Halve CO2 per shipment")],
        "titles": [
            "Linehaul network redesign", "Fuel card consolidation", "Telematics-based routing",
            "Subcontractor rate renegotiation", "Yard management automation",
            "Pick-path optimisation Hamburg", "Returns centre consolidation",
            "Packaging material tender", "Tyre supplier consolidation", "IT licence clean-up",
            "Self-service tracking portal", "Dynamic pricing for spot freight",
            "Invoice automation (P2P)", "Driver scheduling optimisation", "Cross-dock Leipzig",
            "Empty-run reduction", "Electric vans pilot Berlin", "Warehouse energy retrofit",
            "Customs brokerage in-sourcing", "Claims handling redesign",
            "Forklift fleet leasing", "Shift model harmonisation", "Sales territory redesign",
            "Key account cross-selling", "Data platform consolidation",
            "Demand forecasting model", "Facility footprint review",
            "Insurance programme retender", "Travel policy tightening", "Print & office supplies",
            "Temporary labour framework", "Route density pricing", "Pallet pooling",
            "Automated dock scheduling", "Control tower", "Carbon reporting automation",
            "Intermodal rail shift", "Spare parts stock reduction", "Call centre automation",
            "Legacy TMS decommissioning",
        ],
    },
    "aurora": {
        "prefix": "AH",
        "portfolios": {
            "Clinical productivity": ["Theatre efficiency", "Outpatients", "Workforce"],
            "Back-office transformation": ["Procurement", "Finance & estates"],
        },
        "units": ["Acute hospitals", "Community care", "Diagnostics", "Corporate services"],
        "functions": ["Clinical", "Nursing", "Procurement", "Estates", "Finance", "Digital"],
        "objectives": [("SO1", "Release 8 % of clinical capacity"),
                       ("SO2", "Reduce agency spend by half"), ("SO3", "Net zero estate by 2040")],
        "titles": [
            "Theatre scheduling optimisation", "Day-case conversion", "Agency nurse reduction",
            "E-rostering roll-out", "Outpatient virtual clinics", "Did-not-attend reduction",
            "Medicines optimisation", "Consumables catalogue rationalisation",
            "Orthopaedic implant tender", "Energy contract retender", "LED lighting retrofit",
            "Pathology network consolidation", "Imaging reporting insourcing",
            "Discharge lounge expansion", "Bed management system",
            "Locum doctor framework", "Estate disposals (phase 1)", "Car parking redesign",
            "Patient transport retender", "Catering redesign", "Linen services tender",
            "Digital dictation", "Clinical coding improvement", "Waste management contract",
            "Temporary staffing bank", "Sickness absence programme", "Procurement shared service",
            "Finance process automation", "Payroll consolidation", "Print management",
            "Community hub co-location", "Pharmacy automation", "Endoscopy productivity",
            "Cancer pathway redesign", "Stroke pathway redesign", "Frailty unit",
            "Outpatient letter automation", "Estates maintenance retender",
            "Sterile services consolidation", "Interpreting services contract",
        ],
    },
}

# Final stage of each of the 40 demo initiatives, in order.
STAGE_PLAN = (["identified"] * 8 + ["detailed"] * 8 + ["decided"] * 8 + ["implemented"] * 7
              + ["closed"] * 5 + ["on_hold"] * 2 + ["cancelled"] * 2)
HOLD_REASONS = ["Budget freeze until the next planning round",
                "Waiting for the works council's agreement"]
CANCEL_REASONS = ["Merged into a larger programme", "Business case no longer holds"]


def _members(org: Organization) -> dict[str, list]:
    by_role: dict[str, list] = {}
    for m in Membership.objects.filter(organization=org).select_related("user").order_by("pk"):
        by_role.setdefault(m.role, []).append(m)
    return by_role


def seed_portfolio(org: Organization, *, today: date | None = None) -> int:
    """Create the demo structure and 40 initiatives for ``org``; returns how many."""
    spec = STRUCTURE.get(org.slug)
    if spec is None or Initiative.objects.filter(organization=org).exists():
        return 0
    today = today or timezone.localdate()
    rng = random.Random(f"cat4-demo-{org.slug}")  # noqa: S311 (demo data, not security)

    programs = []
    for portfolio_name, program_names in spec["portfolios"].items():
        portfolio = Portfolio.objects.create(organization=org, name=portfolio_name)
        programs += [Program.objects.create(organization=org, portfolio=portfolio, name=name)
                     for name in program_names]
    units = [BusinessUnit.objects.create(organization=org, name=n) for n in spec["units"]]
    functions = [Function.objects.create(organization=org, name=n) for n in spec["functions"]]
    objectives = [StrategicObjective.objects.create(organization=org, code=c, title=t)
                  for c, t in spec["objectives"]]

    members = _members(org)
    admin = members[Role.ADMIN][0]
    owner = members[Role.OWNER][0]
    sponsor = members[Role.EXECUTIVE][0]
    controller = members[Role.CONTROLLER][0]

    for index, (title, final) in enumerate(zip(spec["titles"], STAGE_PLAN, strict=True)):
        _one_initiative(org, rng, today, index, title, final, programs=programs, units=units,
                        functions=functions, objectives=objectives, admin=admin, owner=owner,
                        sponsor=sponsor, controller=controller)
    _links_and_risks(org, rng, owner=owner, controller=controller)
    return len(STAGE_PLAN)


RISKS = [
    ("Key supplier may not accept the new terms", 3, 4, "Second-source negotiation started"),
    ("Works council approval could delay the roll-out", 2, 3, "Early briefing scheduled"),
    ("Volumes drop below the business-case baseline", 3, 3, "Monthly volume tracking"),
    ("IT release slot not confirmed", 2, 2, ""),
]


def _links_and_risks(org, rng, *, owner, controller):
    """Dependencies (some slipping), risks, and one re-baseline waiting for the controller."""
    active = list(Initiative.objects.filter(
        organization=org, stage__in=["identified", "detailed", "decided", "implemented"])
        .order_by("code"))
    for index in range(0, min(len(active) - 1, 12), 2):
        needs, supplier = active[index], active[index + 1]
        # Half of them need the supplier before its target date: flagged as late.
        slip = rng.choice([-60, 45])
        initiative_services.dependency_add(
            membership=owner, initiative_id=needs.pk, depends_on=supplier.pk,
            need_by=supplier.target_date - timedelta(days=slip),
            note=f"Needs {supplier.title.lower()} in place")
    for initiative in active[::3]:
        description, probability, impact, mitigation = rng.choice(RISKS)
        initiative_services.risk_add(
            membership=owner, initiative_id=initiative.pk, description=description,
            probability=probability, impact=impact, owner=owner.user, mitigation=mitigation)
    decided = next((i for i in active if i.stage == "decided"), None)
    if decided is not None:
        line = decided.impact_lines.first()
        planned = dict(line.values.filter(kind="planned").values_list("month", "amount"))
        later = sorted(planned)[-3:]
        services.rebaseline_request(
            membership=owner, initiative_id=decided.pk,
            reason="Go-live moved by a quarter after the supplier's delay; the last months "
                   "of savings shift accordingly.",
            values={line.pk: {m: str((planned[m] * Decimal("0.8")).quantize(Decimal("0.01")))
                              for m in later}})


def _one_initiative(org, rng, today, index, title, final, *, programs, units, functions,
                    objectives, admin, owner, sponsor, controller):
    # Later stages started earlier; every initiative runs 12 to 24 months.
    order = ["identified", "detailed", "decided", "implemented", "closed"]
    depth = order.index(final) if final in order else rng.randint(1, 3)
    start = (today.replace(day=1) - timedelta(days=30 * (4 + depth * 5 + rng.randint(0, 3))))
    start = start.replace(day=1)
    months = 12 + rng.randint(0, 12) if final != "closed" else 12
    target = add_months(start, months) - timedelta(days=1)
    if final == "closed":
        target = min(target, add_months(today.replace(day=1), -1) - timedelta(days=1))
        start = add_months(target.replace(day=1), -11)

    initiative = initiative_services.initiative_create(
        membership=admin, code=f"{STRUCTURE[org.slug]['prefix']}-{index + 1:03d}", title=title,
        description=f"{title}: scope, baseline and approach agreed with the business.",
        program=rng.choice(programs), owner=owner.user, sponsor=sponsor.user,
        controller=controller.user, business_unit=rng.choice(units),
        function=rng.choice(functions), start_date=start, target_date=target,
        objectives=[rng.choice(objectives)])

    horizon = month_range(start, target)
    monthly = Decimal(rng.randrange(8, 90) * 1000)
    lines = [(initiative_services.impact_line_create(
        membership=admin, initiative_id=initiative.pk, category=ImpactCategory.COST_REDUCTION,
        description="Recurring saving", recurring=True), monthly)]
    if rng.random() < 0.5:
        lines.append((initiative_services.impact_line_create(
            membership=admin, initiative_id=initiative.pk,
            category=rng.choice([ImpactCategory.REVENUE_INCREASE, ImpactCategory.COST_AVOIDANCE]),
            description="Additional benefit", recurring=True), (monthly / 3).quantize(Decimal(1))))
    if rng.random() < 0.4:
        lines.append((initiative_services.impact_line_create(
            membership=admin, initiative_id=initiative.pk,
            category=ImpactCategory.ONE_TIME_COST, description="Implementation cost",
            recurring=False), (monthly * 2).quantize(Decimal(1))))

    # Plan: benefits ramp up over the first months; costs fall in the first quarter.
    for line, amount in lines:
        if line.is_cost:
            values = {m: str(amount) for m in horizon[:3]}
        else:
            values = {m: str((amount * min(Decimal(i + 1) / 4, 1)).quantize(Decimal("0.01")))
                      for i, m in enumerate(horizon)}
        initiative_services.monthly_values_set(membership=admin, line_id=line.pk,
                                               kind=ValueKind.PLANNED, values=values)

    milestone_count = rng.randint(3, 5)
    for i in range(milestone_count):
        due = horizon[min(len(horizon) - 1, (i + 1) * len(horizon) // (milestone_count + 1))]
        initiative_services.milestone_create(
            membership=admin, initiative_id=initiative.pk,
            title=["Baseline agreed", "Supplier shortlist", "Pilot live", "Roll-out complete",
                   "Benefits tracked"][i], due_date=due.replace(day=28),
            weight=rng.choice([1, 2, 3]))

    target_stage = final if final in order else order[depth]
    _advance(initiative, target_stage, rng=rng, today=today, owner=owner, sponsor=sponsor,
             controller=controller, lines=lines, horizon=horizon)

    if final == "on_hold":
        services.initiative_hold(membership=sponsor, initiative_id=initiative.pk,
                                 reason=HOLD_REASONS[index % 2])
    elif final == "cancelled":
        services.initiative_cancel(membership=sponsor, initiative_id=initiative.pk,
                                   reason=CANCEL_REASONS[index % 2])
    elif final in ("identified", "detailed", "decided") and rng.random() < 0.5:
        # A pending approval for the reviewers' queues.
        try:
            _complete_criteria(initiative, rng=rng, today=today, owner=owner, lines=lines,
                               horizon=horizon)
            services.gate_submit(membership=owner, initiative_id=initiative.pk,
                                 comment="Ready for review.")
        except services.ApplicationError:
            pass
    if final not in ("identified", "closed", "cancelled"):
        initiative_services.status_update_create(
            membership=owner, initiative_id=initiative.pk,
            narrative=rng.choice([
                "On track. Supplier workshops done; first savings visible in the ledger.",
                "Slight delay on the pilot; recovery plan agreed with operations.",
                "Benefits below plan this quarter because volumes dropped; forecast adjusted.",
                "Roll-out ahead of schedule in two of three regions."]),
            confidence=rng.choice(["high", "medium", "medium", "low"]))


def _complete_criteria(initiative, *, rng, today, owner, lines, horizon):
    stage = Initiative.objects.get(pk=initiative.pk).stage
    if stage == "decided":
        for milestone in initiative.milestones.all():
            if milestone.due_date <= today or rng.random() < 0.7:
                initiative_services.milestone_update(
                    membership=owner, milestone_id=milestone.pk,
                    done_date=min(milestone.due_date, today))
            else:
                initiative_services.milestone_update(
                    membership=owner, milestone_id=milestone.pk, waived=True,
                    waiver_reason="Descoped by the steering committee")


def _decide_all(initiative, people: dict):
    for approval in Approval.objects.filter(submission__initiative=initiative,
                                            decision=Decision.PENDING):
        services.approval_decide(membership=people[approval.role], approval_id=approval.pk,
                                 decision="approved", comment="Agreed.")


def _advance(initiative, target_stage, *, rng, today, owner, sponsor, controller, lines,
             horizon):
    people = {"sponsor": sponsor, "controller": controller}
    order = ["identified", "detailed", "decided", "implemented", "closed"]
    while order.index(Initiative.objects.get(pk=initiative.pk).stage) < order.index(target_stage):
        stage = Initiative.objects.get(pk=initiative.pk).stage
        if stage == "detailed" and rng.random() < 0.25:
            # Some business cases are sent back once before they pass.
            services.gate_submit(membership=owner, initiative_id=initiative.pk)
            approval = Approval.objects.get(submission__initiative=initiative,
                                            decision=Decision.PENDING, role="sponsor")
            services.approval_decide(membership=sponsor, approval_id=approval.pk,
                                     decision="rejected",
                                     comment="Quantify the saving per site before deciding.")
        if stage == "decided":
            _complete_criteria(initiative, rng=rng, today=today, owner=owner, lines=lines,
                               horizon=horizon)
        if stage == "implemented":
            for line, _amount in lines:
                planned = {v.month: v.amount for v in line.values.filter(kind="planned")}
                factor = Decimal(rng.choice(["0.8", "0.92", "0.97", "1.0", "1.05"]))
                initiative_services.monthly_values_set(
                    membership=controller, line_id=line.pk, kind=ValueKind.ACTUAL,
                    values={m: str((a * factor).quantize(Decimal("0.01")))
                            for m, a in planned.items()})
            services.value_validate(membership=controller, initiative_id=initiative.pk)
        services.gate_submit(membership=owner, initiative_id=initiative.pk)
        _decide_all(initiative, people)
        if Initiative.objects.get(pk=initiative.pk).stage == "implemented" and (
                target_stage == "implemented"):
            # Actuals so far, entered by the owner, waiting for the controller.
            for line, _amount in lines:
                planned = {v.month: v.amount for v in line.values.filter(kind="planned")
                           if v.month <= today}
                factor = Decimal(rng.choice(["0.75", "0.9", "0.98", "1.02"]))
                initiative_services.monthly_values_set(
                    membership=owner, line_id=line.pk, kind=ValueKind.ACTUAL,
                    values={m: str((a * factor).quantize(Decimal("0.01")))
                            for m, a in planned.items()})
        if Initiative.objects.get(pk=initiative.pk).stage == "decided":
            # Forecasts from the Decided gate on: some initiatives drift below plan.
            factor = Decimal(rng.choice(["0.7", "0.82", "0.9", "0.96", "1.0", "1.04"]))
            for line, _amount in lines:
                planned = {v.month: v.amount for v in line.values.filter(kind="planned")}
                initiative_services.monthly_values_set(
                    membership=owner, line_id=line.pk, kind=ValueKind.FORECAST,
                    values={m: str((a * factor).quantize(Decimal("0.01")))
                            for m, a in planned.items()})


ACKNOWLEDGEMENTS = [
    "Discussed with the owner; recovery plan due at the next steering committee.",
    "Known: waiting for the supplier's revised offer, expected within two weeks.",
]


def seed_escalations(org: Organization, *, now=None) -> int:
    """Let the demo organisation's escalations come about as they would have: a few
    initiatives whose owners stopped posting updates and a few approvals left waiting,
    then the engine run as it would have run over the last two weeks, so escalations
    were raised on different days and stand at different levels. Returns how many are
    unresolved; an organisation that already has escalations is left as it is."""
    if Escalation.objects.filter(organization=org).exists():
        return 0
    now = now or timezone.now()
    active = list(Initiative.objects.filter(
        organization=org, stage__in=["identified", "detailed", "decided", "implemented"])
        .order_by("code"))
    for days, initiative in zip((75, 60, 52, 45), active[3::7], strict=False):
        then = now - timedelta(days=days)
        Initiative.objects.filter(pk=initiative.pk).update(created_at=then)
        initiative.status_updates.update(created_at=then)
    for days, submission in zip((9, 5, 3), GateSubmission.objects.filter(
            organization=org, status=SubmissionStatus.PENDING).order_by("pk"), strict=False):
        GateSubmission.objects.filter(pk=submission.pk).update(
            submitted_at=now - timedelta(days=days))
    for days_ago in (16, 11, 6, 0):
        evaluate_org(org.pk, now=now - timedelta(days=days_ago))
    # The sponsor has seen two of those that reached them and said what happens next.
    sponsor = _members(org)[Role.EXECUTIVE][0]
    reached = Escalation.objects.filter(organization=org, level__gte=2,
                                        state=EscalationState.OPEN).order_by("pk")
    for escalation, comment in zip(reached, ACKNOWLEDGEMENTS, strict=False):
        services.escalation_acknowledge(membership=sponsor, escalation_id=escalation.pk,
                                        comment=comment)
    return Escalation.objects.filter(organization=org).exclude(
        state=EscalationState.RESOLVED).count()

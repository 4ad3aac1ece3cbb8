"""The escalation engine (governance/escalations.py) on the real database: every
built-in condition fires with a sentence that explains it, a rerun changes nothing
and tells nobody twice, an escalation resolves itself when its condition clears, is
raised once per rule, subject and period, and moves up owner -> sponsor -> steering
group after the rule's days. Time is controlled by passing ``now``."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone
from django_scopes import scopes_disabled

from cat4.tenancy.models import Role
from governance import escalations
from governance.models import (
    Approval,
    Condition,
    Escalation,
    EscalationNotice,
    EscalationRule,
    EscalationState,
    GateSubmission,
    Level,
    Notification,
    NotificationKind,
)
from initiatives.models import Dependency, Initiative, MonthlyValue, Risk
from kpis.models import Kpi, KpiSnapshot
from tests.factories import (
    ImpactLineFactory,
    InitiativeFactory,
    MilestoneFactory,
    OrganizationFactory,
)

NOW = timezone.now()


@pytest.fixture
def rule(world):
    """Replace org A's default rules by the one rule under test."""

    def make(condition, threshold=None, *, promote_after_days=3, top_level=Level.STEERING):
        with scopes_disabled():
            EscalationRule.objects.filter(organization=world.org_a).delete()
            return EscalationRule.objects.create(
                organization=world.org_a, name="Rule under test", condition=condition,
                threshold=threshold, promote_after_days=promote_after_days,
                top_level=top_level)

    return make


def today(world, now=NOW) -> dt.date:
    return escalations.local_today(world.org_a, now)


def run(world, now=NOW) -> dict:
    return escalations.evaluate_org(world.org_a.pk, now=now)


def rows(world) -> list[Escalation]:
    with scopes_disabled():
        return list(Escalation.objects.filter(organization=world.org_a).order_by("pk"))


def notices(world) -> list[tuple[int, str]]:
    with scopes_disabled():
        return sorted(EscalationNotice.objects.filter(organization=world.org_a)
                      .values_list("level", "recipient__email"))


def inbox(world, kind=NotificationKind.ESCALATION) -> list[str]:
    with scopes_disabled():
        return sorted(Notification.objects.filter(organization=world.org_a, kind=kind)
                      .values_list("recipient__email", flat=True))


def overdue_milestone(world, days=20, title="Carrier shortlist"):
    with scopes_disabled():
        return MilestoneFactory(initiative=world.initiative, title=title,
                                due_date=today(world) - dt.timedelta(days=days))


# --- every condition fires, with its reasons -------------------------------------------


def test_milestone_overdue_fires_for_the_owner_with_a_sentence(world, rule, mailoutbox,
                                                               django_capture_on_commit_callbacks):
    rule(Condition.MILESTONE_OVERDUE, 14)
    overdue_milestone(world, days=20)
    overdue_milestone(world, days=5, title="Not late enough")
    with django_capture_on_commit_callbacks(execute=True):
        result = run(world)
    assert result["raised"] == 1 and result["notified"] == 1
    (esc,) = rows(world)
    assert esc.level == Level.OWNER and esc.state == EscalationState.OPEN
    assert esc.initiative_id == world.initiative.pk
    assert "“Carrier shortlist” of AC-100" in esc.explanation
    assert "20 days overdue, rule: 14 days or more" in esc.explanation
    assert esc.inputs["days_overdue"] == 20 and esc.inputs["threshold"] == 14
    assert notices(world) == [(1, "owner@acme.test")]
    assert inbox(world) == ["owner@acme.test"]
    assert [m.to for m in mailoutbox] == [["owner@acme.test"]]
    assert "Carrier shortlist" in mailoutbox[0].body


def _plan_and_forecast(initiative, *, planned, forecast, category="cost_reduction", months=3):
    with scopes_disabled():
        line = ImpactLineFactory(initiative=initiative, category=category,
                                 description="Freight rates")
        for m in range(1, months + 1):
            for kind, amount in (("planned", planned), ("forecast", forecast)):
                MonthlyValue.objects.create(organization=initiative.organization, line=line,
                                            month=dt.date(2026, m, 1), kind=kind,
                                            amount=Decimal(amount))
        return line


def test_financial_red_fires_with_the_rag_rule(world, rule):
    rule(Condition.FINANCIAL_RED)
    _plan_and_forecast(world.initiative, planned="1000.00", forecast="500.00")
    run(world)
    (esc,) = rows(world)
    assert esc.subject_type == "initiative" and esc.subject_id == world.initiative.pk
    assert esc.explanation.startswith("AC-100 is red on money: ")
    assert "50" in esc.explanation and "%" in esc.explanation
    assert esc.period == f"{today(world):%Y-%m}"


def test_financial_amber_or_green_does_not_fire(world, rule):
    rule(Condition.FINANCIAL_RED)
    _plan_and_forecast(world.initiative, planned="1000.00", forecast="990.00")
    run(world)
    assert rows(world) == []


def test_one_time_cost_over_plan(world, rule):
    rule(Condition.ONE_TIME_COST_OVER, Decimal("10"))
    line = _plan_and_forecast(world.initiative, planned="100.00", forecast="120.00",
                              category="one_time_cost")
    other = InitiativeFactory(program=world.initiative.program, owner=world.initiative.owner)
    _plan_and_forecast(other, planned="100.00", forecast="105.00", category="one_time_cost")
    run(world)
    (esc,) = rows(world)
    assert (esc.subject_type, esc.subject_id) == ("impact_line", line.pk)
    assert esc.inputs["over_percent"] == "20.00"
    assert "20.0 % over, rule: 10 % or more" in esc.explanation


def test_kpi_off_track_for_consecutive_periods(world, rule):
    rule(Condition.KPI_OFF_TRACK, 2)
    with scopes_disabled():
        kpi = Kpi.objects.create(
            organization=world.org_a, name="On-time delivery", unit="%", direction="higher",
            baseline=Decimal(80), baseline_date=dt.date(2025, 1, 1), target=Decimal(95),
            target_date=dt.date(2027, 1, 1), owner=world.a[Role.OWNER].user)
        for month, rag in ((7, "green"), (8, "red"), (9, "red"), (10, "red")):
            KpiSnapshot.objects.create(
                organization=world.org_a, kpi=kpi, period=dt.date(2026, month, 1),
                expected=Decimal(90), actual=Decimal("82.5"), variance=Decimal("-7.5"),
                performance=Decimal("0.9"), rag=rag, explanation="", computed_at=NOW)
    run(world)
    (esc,) = rows(world)
    assert esc.kpi_id == kpi.pk and esc.period == "2026-10-01"
    assert "off track (red) for 3 consecutive periods (2026-08 to 2026-10)" in esc.explanation
    assert "rule: 2 or more" in esc.explanation
    # The owner of the KPI is level 1.
    assert notices(world) == [(1, "owner@acme.test")]


def test_stale_initiative_and_kpi(world, rule):
    rule(Condition.STALE, 7)
    with scopes_disabled():
        Initiative.objects.filter(pk=world.initiative.pk).update(
            created_at=NOW - dt.timedelta(days=60))
        kpi = Kpi.objects.create(
            organization=world.org_a, name="Claims backlog", unit="cases", direction="lower",
            baseline=Decimal(500), baseline_date=today(world) - dt.timedelta(days=120),
            target=Decimal(100), target_date=today(world) + dt.timedelta(days=365),
            owner=world.a[Role.ADMIN].user)
    run(world)
    by_type = {e.subject_type: e for e in rows(world)}
    assert set(by_type) == {"initiative", "kpi"}
    assert "status update was due on" in by_type["initiative"].explanation
    assert "30 days overdue, rule: 7 days or more" in by_type["initiative"].explanation
    assert by_type["kpi"].kpi_id == kpi.pk
    assert "none entered yet" in by_type["kpi"].explanation


def test_approval_pending_tells_the_approver_and_the_owner(world, rule):
    rule(Condition.APPROVAL_PENDING, 2)
    with scopes_disabled():
        submission = GateSubmission.objects.create(
            organization=world.org_a, initiative=world.initiative, gate="detailed",
            from_stage="identified", submitted_by=world.a[Role.OWNER].user)
        GateSubmission.objects.filter(pk=submission.pk).update(
            submitted_at=NOW - dt.timedelta(days=5))
        Approval.objects.create(organization=world.org_a, submission=submission,
                                role="sponsor", approver=world.a[Role.EXECUTIVE].user)
    run(world)
    (esc,) = rows(world)
    assert esc.subject_type == "approval"
    assert "has waited 5 days for Acme Executive" in esc.explanation
    assert notices(world) == [(1, "executive@acme.test"), (1, "owner@acme.test")]


def test_dependency_late(world, rule):
    rule(Condition.DEPENDENCY_LATE, 0)
    with scopes_disabled():
        supplier = InitiativeFactory(program=world.initiative.program, code="AC-200",
                                     owner=world.initiative.owner)
        delivered = InitiativeFactory(program=world.initiative.program, code="AC-300",
                                      owner=world.initiative.owner)
        Initiative.objects.filter(pk=delivered.pk).update(stage="implemented")
        for other in (supplier, delivered):
            Dependency.objects.create(organization=world.org_a, initiative=world.initiative,
                                      depends_on=other,
                                      need_by=today(world) - dt.timedelta(days=10))
    run(world)
    (esc,) = rows(world)
    assert "AC-100 needed AC-200 delivered by" in esc.explanation
    assert "still identified, 10 days later" in esc.explanation


def test_risk_score(world, rule):
    rule(Condition.RISK_SCORE, 15)
    with scopes_disabled():
        high = Risk.objects.create(organization=world.org_a, initiative=world.initiative,
                                   description="Carrier insolvency", probability=4, impact=5,
                                   owner=world.a[Role.CONTROLLER].user)
        Risk.objects.create(organization=world.org_a, initiative=world.initiative,
                            description="Minor delay", probability=2, impact=3,
                            owner=world.a[Role.OWNER].user)
    run(world)
    (esc,) = rows(world)
    assert esc.subject_id == high.pk
    assert "scores 20 (probability 4 × impact 5), rule: 15 or more" in esc.explanation
    # The risk's owner and the initiative's owner are level 1.
    assert notices(world) == [(1, "controller@acme.test"), (1, "owner@acme.test")]


def test_closed_cancelled_and_held_initiatives_do_not_escalate(world, rule):
    rule(Condition.MILESTONE_OVERDUE, 1)
    overdue_milestone(world)
    with scopes_disabled():
        for stage in ("on_hold", "cancelled", "closed"):
            Initiative.objects.filter(pk=world.initiative.pk).update(stage=stage)
            run(world)
    assert rows(world) == []


# --- idempotency, once per period, auto-resolution ----------------------------------------


def test_a_second_run_changes_nothing_and_tells_nobody_again(
        world, rule, mailoutbox, django_capture_on_commit_callbacks):
    rule(Condition.MILESTONE_OVERDUE, 14)
    overdue_milestone(world)
    with django_capture_on_commit_callbacks(execute=True):
        run(world)
    before = ([(e.pk, e.level, e.state, e.explanation) for e in rows(world)], notices(world),
              inbox(world), len(mailoutbox))
    with django_capture_on_commit_callbacks(execute=True):
        result = run(world)
    assert result == {"organization": world.org_a.pk, "raised": 0, "promoted": 0,
                      "resolved": 0, "notified": 0}
    after = ([(e.pk, e.level, e.state, e.explanation) for e in rows(world)], notices(world),
             inbox(world), len(mailoutbox))
    assert after == before


def test_resolves_itself_when_the_condition_clears(world, rule):
    rule(Condition.MILESTONE_OVERDUE, 14)
    milestone = overdue_milestone(world)
    run(world)
    with scopes_disabled():
        milestone.done_date = today(world)
        milestone.save()
    assert run(world)["resolved"] == 1
    (esc,) = rows(world)
    assert esc.state == EscalationState.RESOLVED and esc.auto_resolved
    assert esc.resolution_comment == "Resolved by itself: the condition cleared."
    assert inbox(world, NotificationKind.ESCALATION_RESOLVED) == ["owner@acme.test"]
    assert run(world)["resolved"] == 0


def test_never_raised_twice_for_the_same_rule_subject_and_period(world, rule):
    rule(Condition.MILESTONE_OVERDUE, 14)
    milestone = overdue_milestone(world)
    run(world)
    with scopes_disabled():
        Escalation.objects.update(state=EscalationState.RESOLVED, resolved_at=NOW,
                                  resolved_by=world.a[Role.ADMIN].user)
    assert run(world)["raised"] == 0  # still overdue, same period: not raised again
    assert len(rows(world)) == 1
    with scopes_disabled():  # a new due date is a new period
        milestone.due_date -= dt.timedelta(days=1)
        milestone.save()
    assert run(world)["raised"] == 1
    assert len(rows(world)) == 2


def test_switching_the_rule_off_resolves_its_escalations(world, rule):
    r = rule(Condition.MILESTONE_OVERDUE, 14)
    overdue_milestone(world)
    run(world)
    with scopes_disabled():
        EscalationRule.objects.filter(pk=r.pk).update(active=False)
    assert run(world)["resolved"] == 1
    assert rows(world)[0].resolution_comment == "The rule was switched off."


# --- the escalation path -------------------------------------------------------------------


def test_moves_up_to_sponsor_then_steering_after_the_rules_days(world, rule):
    rule(Condition.MILESTONE_OVERDUE, 14, promote_after_days=3)
    overdue_milestone(world)
    run(world)
    assert run(world, NOW + dt.timedelta(days=2, hours=23))["promoted"] == 0
    assert rows(world)[0].level == Level.OWNER

    assert run(world, NOW + dt.timedelta(days=3))["promoted"] == 1
    (esc,) = rows(world)
    assert esc.level == Level.SPONSOR and esc.level_since == NOW + dt.timedelta(days=3)
    assert notices(world) == [(1, "owner@acme.test"), (2, "executive@acme.test"),
                              (2, "owner@acme.test")]

    assert run(world, NOW + dt.timedelta(days=6))["promoted"] == 1
    assert rows(world)[0].level == Level.STEERING
    assert [n for n in notices(world) if n[0] == 3] == [
        (3, "admin@acme.test"), (3, "executive@acme.test"), (3, "owner@acme.test")]

    assert run(world, NOW + dt.timedelta(days=30))["promoted"] == 0  # the top of the path


def test_the_rules_top_level_caps_the_path(world, rule):
    rule(Condition.MILESTONE_OVERDUE, 14, promote_after_days=1, top_level=Level.SPONSOR)
    overdue_milestone(world)
    for day in range(0, 6):
        run(world, NOW + dt.timedelta(days=day))
    assert rows(world)[0].level == Level.SPONSOR


def test_a_level_without_people_passes_to_the_steering_group(world, rule):
    rule(Condition.MILESTONE_OVERDUE, 14, promote_after_days=1)
    with scopes_disabled():
        Initiative.objects.filter(pk=world.initiative.pk).update(sponsor=None)
    overdue_milestone(world)
    run(world)
    run(world, NOW + dt.timedelta(days=1))
    assert [n for n in notices(world) if n[0] == 2] == [
        (2, "admin@acme.test"), (2, "executive@acme.test"), (2, "owner@acme.test")]


# --- tenants and concurrency ---------------------------------------------------------------


def test_each_organisation_escalates_only_its_own_data(world, rule):
    rule(Condition.MILESTONE_OVERDUE, 14)
    with scopes_disabled():
        other = InitiativeFactory(program__organization=world.org_b,
                                  program__portfolio__organization=world.org_b,
                                  owner=world.b_executive.user)
        MilestoneFactory(initiative=other, due_date=today(world) - dt.timedelta(days=30))
    run(world)
    assert [e.initiative_id for e in rows(world)] == []  # org A has no overdue milestone
    escalations.evaluate_org(world.org_b.pk, now=NOW)
    with scopes_disabled():
        (esc,) = Escalation.objects.all()
        assert esc.organization_id == world.org_b.pk
        assert set(esc.notices.values_list("recipient__email", flat=True)) == {
            "executive@globex.test"}


def test_new_organisations_get_the_default_rules(db):
    org = OrganizationFactory()
    with scopes_disabled():
        conditions = set(EscalationRule.objects.filter(organization=org)
                         .values_list("condition", flat=True))
    assert conditions == set(Condition.values)


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_have_one_effect(world, rule):
    rule(Condition.MILESTONE_OVERDUE, 14)
    overdue_milestone(world)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def evaluate():
        try:
            barrier.wait(timeout=10)
            results.append(run(world))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=evaluate) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sum(r.get("raised", 0) for r in results) == 1
    assert len(rows(world)) == 1 and notices(world) == [(1, "owner@acme.test")]
    assert inbox(world) == ["owner@acme.test"]


def test_a_run_that_dies_mid_rule_leaves_nothing_half_done(world, rule, monkeypatch):
    """A worker killed while notifying (here: an error on the second notification)
    rolls back that rule's transaction: no escalation without its notice. The next run
    raises and notifies everything exactly once."""
    rule(Condition.MILESTONE_OVERDUE, 14)
    overdue_milestone(world, title="Carrier shortlist")
    overdue_milestone(world, title="Rate card agreed")
    real = escalations._notify_level
    calls = []

    def dies_on_the_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("worker killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(escalations, "_notify_level", dies_on_the_second)
    with pytest.raises(RuntimeError):
        run(world)
    assert rows(world) == [] and notices(world) == [] and inbox(world) == []

    monkeypatch.setattr(escalations, "_notify_level", real)
    assert run(world)["raised"] == 2
    assert notices(world) == [(1, "owner@acme.test"), (1, "owner@acme.test")]
    assert inbox(world) == ["owner@acme.test", "owner@acme.test"]
    assert run(world)["raised"] == 0

"""The dashboard rollups: rebuilt from source, equal to independently computed sums,
the same colours as the initiative page, idempotent, and fiscal years cut at the
organisation's own start month."""

import datetime as dt
import io
import threading
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from initiatives import calculations as calc
from initiatives import selectors as initiative_selectors
from initiatives.models import ImpactLine, Initiative, MonthlyValue, StatusUpdate
from reporting import rollups
from reporting.models import (
    DirtyLine,
    InitiativeFact,
    InitiativeYearValue,
    LineYearValue,
    RollupRun,
)
from reporting.tasks import refresh_rollups_for
from tests.factories import (
    ImpactLineFactory,
    InitiativeFactory,
    MilestoneFactory,
    OrganizationFactory,
    ProgramFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 15)
D = Decimal


def value(line, month, kind, amount):
    MonthlyValue.objects.create(organization=line.organization, line=line, month=month,
                                kind=kind, amount=D(amount))


def set_stage(initiative, stage):
    Initiative.objects.filter(pk=initiative.pk).update(stage=stage)
    initiative.refresh_from_db()


@pytest.fixture
def org_april():
    """An organisation whose fiscal year starts in April, with a small portfolio whose
    values straddle the fiscal-year boundary."""
    with scopes_disabled():
        org = OrganizationFactory(fiscal_year_start_month=4, slug="april")
        program = ProgramFactory(organization=org, portfolio__organization=org)
        owner = UserFactory()
        a = InitiativeFactory(program=program, owner=owner, code="AP-1")
        set_stage(a, "decided")
        benefit = ImpactLineFactory(initiative=a, category="cost_reduction", recurring=True)
        cost = ImpactLineFactory(initiative=a, category="one_time_cost", recurring=False)
        # March 2026 is FY2026, April 2026 is FY2027.
        value(benefit, dt.date(2026, 3, 1), "planned", "1000")
        value(benefit, dt.date(2026, 3, 1), "forecast", "900")
        value(benefit, dt.date(2026, 3, 1), "actual", "800")
        value(benefit, dt.date(2026, 4, 1), "planned", "1000")
        value(benefit, dt.date(2026, 4, 1), "forecast", "600")
        value(benefit, dt.date(2026, 12, 1), "planned", "500")  # after TODAY
        value(cost, dt.date(2026, 4, 1), "planned", "300")
        value(cost, dt.date(2026, 4, 1), "forecast", "450")
        MilestoneFactory(initiative=a, due_date=dt.date(2026, 9, 1))  # 75 days overdue
        b = InitiativeFactory(program=program, owner=owner, code="AP-2")  # no values
        MilestoneFactory(initiative=b, due_date=dt.date(2027, 1, 1))
        c = InitiativeFactory(program=program, owner=owner, code="AP-3")
        line_c = ImpactLineFactory(initiative=c, category="revenue_increase", recurring=True)
        value(line_c, dt.date(2027, 3, 1), "planned", "200")  # FY2027
        value(line_c, dt.date(2027, 3, 1), "forecast", "210")
    return org


def raw_expectations(org, start_month):
    """Independently computed totals per initiative and fiscal year from the raw rows."""
    cells = {}
    with scopes_disabled():
        for v in MonthlyValue.objects.filter(organization=org).select_related("line"):
            key = (v.line.initiative_id, v.line_id, v.line.category == "one_time_cost",
                   v.month)
            cells.setdefault(key, {})[v.kind] = v.amount
    years = {}
    for (initiative_id, _line, is_cost, month), kinds in cells.items():
        fy = month.year + (1 if start_month != 1 and month.month >= start_month else 0)
        row = years.setdefault((initiative_id, fy), dict.fromkeys(
            ["planned", "forecast", "actual", "outturn", "otc_planned", "otc_outturn"], D(0)))
        outturn = kinds.get("actual", kinds.get("forecast", D(0)))
        if is_cost:
            row["otc_planned"] += kinds.get("planned", D(0))
            row["otc_outturn"] += outturn
        else:
            for kind in ("planned", "forecast", "actual"):
                row[kind] += kinds.get(kind, D(0))
            row["outturn"] += outturn
    return years


def year_rows(org):
    with scopes_disabled():
        return {(y.initiative_id, y.fiscal_year): {
            "planned": y.planned, "forecast": y.forecast, "actual": y.actual,
            "outturn": y.outturn, "otc_planned": y.one_time_cost_planned,
            "otc_outturn": y.one_time_cost_outturn}
            for y in InitiativeYearValue.objects.filter(organization=org)}


def test_year_values_equal_raw_sums_with_an_april_fiscal_year(org_april):
    rollups.rebuild(organization=org_april, today=TODAY)
    assert year_rows(org_april) == raw_expectations(org_april, 4)
    with scopes_disabled():
        a = Initiative.objects.get(code="AP-1")
        rows = {y.fiscal_year: y for y in InitiativeYearValue.objects.filter(initiative=a)}
    # The boundary: March 2026 -> FY2026, April and December 2026 -> FY2027.
    assert rows[2026].planned == D("1000") and rows[2026].outturn == D("800")
    assert rows[2027].planned == D("1500") and rows[2027].outturn == D("600")
    assert rows[2027].one_time_cost_planned == D("300")
    assert rows[2027].one_time_cost_outturn == D("450")


def test_facts_hold_whole_horizon_benefit_totals_and_run_rate(org_april):
    rollups.rebuild(organization=org_april, today=TODAY)
    with scopes_disabled():
        fact = InitiativeFact.objects.get(initiative__code="AP-1")
        empty = InitiativeFact.objects.get(initiative__code="AP-2")
        future = InitiativeFact.objects.get(initiative__code="AP-3")
    assert (fact.planned, fact.forecast, fact.actual, fact.outturn) == (
        D("2500"), D("1500"), D("800"), D("1400"))  # costs kept apart
    # Latest month up to November 2026 with a value: April, best knowledge forecast 600.
    assert fact.run_rate == D("7200")
    assert (empty.planned, empty.outturn, empty.run_rate) == (0, 0, 0)
    assert future.run_rate == 0  # its only month lies after today
    assert fact.stage == "decided" and fact.program_id == fact.initiative.program_id


def test_colours_equal_the_initiative_page(org_april):
    with scopes_disabled():
        # Make one initiative stale (created long ago, no update) and give another a
        # fresh update, so staleness is exercised both ways.
        Initiative.objects.filter(code="AP-1").update(
            created_at=timezone.now() - dt.timedelta(days=200))
        b = Initiative.objects.get(code="AP-2")
        StatusUpdate.objects.create(organization=org_april, initiative=b, author=b.owner,
                                    narrative="ok", confidence="high")
    today = timezone.localdate()
    rollups.rebuild(organization=org_april, today=today)
    with scope(organization=org_april):
        facts = {f.initiative_id: f for f in InitiativeFact.objects.all()}
        assert len(facts) == 3
        for initiative in Initiative.objects.filter(organization=org_april):
            _months, grids = initiative_selectors.value_grid(initiative=initiative)
            status = initiative_selectors.initiative_status(initiative=initiative,
                                                            grids=grids, today=today)
            fact = facts[initiative.pk]
            assert fact.schedule_rag == status.schedule.colour, initiative.code
            assert fact.financial_rag == status.financial.colour, initiative.code
            assert fact.stale == status.freshness.stale, initiative.code
        assert facts[Initiative.objects.get(code="AP-1").pk].stale


def test_rebuild_is_idempotent_and_removes_vanished_years(org_april):
    rollups.rebuild(organization=org_april, today=TODAY)
    with scopes_disabled():
        first = sorted(InitiativeFact.objects.filter(organization=org_april)
                       .values_list("id", "initiative_id", "planned", "outturn",
                                    "schedule_rag", "financial_rag"))
    years = year_rows(org_april)
    rollups.rebuild(organization=org_april, today=TODAY)
    with scopes_disabled():
        second = sorted(InitiativeFact.objects.filter(organization=org_april)
                        .values_list("id", "initiative_id", "planned", "outturn",
                                     "schedule_rag", "financial_rag"))
        assert RollupRun.objects.filter(organization=org_april).count() == 1
    assert first == second and year_rows(org_april) == years
    with scopes_disabled():
        MonthlyValue.objects.filter(organization=org_april, month__lt=dt.date(2026, 4, 1)).delete()
        a = Initiative.objects.get(code="AP-1")
    rollups.rebuild(organization=org_april, today=TODAY)
    assert (a.pk, 2026) not in year_rows(org_april)
    assert year_rows(org_april) == raw_expectations(org_april, 4)


def test_other_organisations_are_untouched(org_april, world):
    rollups.rebuild(organization=world.org_a, today=TODAY)
    rollups.rebuild(organization=org_april, today=TODAY)
    with scopes_disabled():
        assert InitiativeFact.objects.filter(organization=world.org_a).count() == 1
        rollups.rebuild(organization=world.org_a, today=TODAY)
        assert InitiativeFact.objects.filter(organization=org_april).count() == 3


def line_sums(org):
    with scopes_disabled():
        return sorted(LineYearValue.objects.filter(organization=org).values_list(
            "line_id", "fiscal_year", "planned", "forecast", "actual", "outturn",
            "forecast_cells"))


def test_only_changed_lines_are_summed_again_and_match_a_full_rebuild(org_april):
    first = rollups.rebuild(organization=org_april, today=TODAY)
    assert first.lines_summed == 3  # the first run sums every line
    assert rollups.rebuild(organization=org_april, today=TODAY).lines_summed == 0
    with scopes_disabled():
        a = Initiative.objects.get(code="AP-1")
        benefit = a.impact_lines.get(category="cost_reduction")
        # An actual for April replaces its forecast in the outturn.
        value(benefit, dt.date(2026, 4, 1), "actual", "650")
        MonthlyValue.objects.filter(line=benefit, month=dt.date(2026, 3, 1),
                                    kind="planned").update(amount=D("1100"))
    run = rollups.rebuild(organization=org_april, today=TODAY)
    assert run.lines_summed == 1
    assert year_rows(org_april) == raw_expectations(org_april, 4)
    assert year_rows(org_april)[(a.pk, 2027)]["outturn"] == D("650")
    incremental = line_sums(org_april)
    with scopes_disabled():
        assert not DirtyLine.objects.filter(organization=org_april).exists()
    rollups.rebuild(organization=org_april, today=TODAY, full=True)
    assert line_sums(org_april) == incremental


def test_deleted_values_and_lines_leave_the_sums(org_april):
    rollups.rebuild(organization=org_april, today=TODAY)
    with scopes_disabled():
        a = Initiative.objects.get(code="AP-1")
        a.impact_lines.get(category="one_time_cost").delete()
        MonthlyValue.objects.filter(line__initiative=a, month=dt.date(2026, 3, 1)).delete()
    rollups.rebuild(organization=org_april, today=TODAY)
    assert year_rows(org_april) == raw_expectations(org_april, 4)
    assert (a.pk, 2026) not in year_rows(org_april)
    assert year_rows(org_april)[(a.pk, 2027)]["otc_planned"] == 0
    with scopes_disabled():
        assert set(LineYearValue.objects.filter(organization=org_april)
                   .values_list("line__initiative__code", flat=True)) == {"AP-1", "AP-3"}


def test_a_new_fiscal_year_start_sums_every_line_again(org_april):
    rollups.rebuild(organization=org_april, today=TODAY)
    org_april.fiscal_year_start_month = 1
    org_april.save(update_fields=["fiscal_year_start_month"])
    run = rollups.rebuild(organization=org_april, today=TODAY)
    assert run.lines_summed == 3 and run.fiscal_year_start_month == 1
    assert year_rows(org_april) == raw_expectations(org_april, 1)


def test_one_statement_marks_each_of_its_lines_once(org_april):
    with scopes_disabled():
        DirtyLine.objects.filter(organization=org_april).delete()
        lines = list(ImpactLine.objects.filter(organization=org_april).order_by("pk"))
        MonthlyValue.objects.bulk_create(
            [MonthlyValue(organization=org_april, line=line, month=dt.date(2028, m, 1),
                          kind="planned", amount=D("1")) for line in lines for m in (1, 2)])
        marks = sorted(DirtyLine.objects.filter(organization=org_april)
                       .values_list("line_id", flat=True))
    assert marks == sorted(line.pk for line in lines)


@pytest.mark.django_db(transaction=True)
def test_a_change_committed_during_a_run_is_summed_by_the_next_one(org_april):
    """A writer's mark is invisible to a run until the writer commits, so the run
    leaves it for the next one: no change is lost between two runs."""
    rollups.rebuild(organization=org_april, today=TODAY)
    with scopes_disabled():
        a = Initiative.objects.get(code="AP-1")
        benefit = a.impact_lines.get(category="cost_reduction")
    written, release = threading.Event(), threading.Event()
    errors: list = []

    def writer():
        try:
            with scopes_disabled(), transaction.atomic():
                MonthlyValue.objects.filter(line=benefit, month=dt.date(2026, 4, 1),
                                            kind="planned").update(amount=D("5000"))
                written.set()
                assert release.wait(10)
        except Exception as exc:  # asserted below
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    assert written.wait(10)
    during = rollups.rebuild(organization=org_april, today=TODAY)
    release.set()
    thread.join(10)
    assert not errors and not thread.is_alive()
    assert during.lines_summed == 0
    assert year_rows(org_april)[(a.pk, 2027)]["planned"] == D("1500")  # not committed yet
    after = rollups.rebuild(organization=org_april, today=TODAY)
    assert after.lines_summed == 1
    assert year_rows(org_april)[(a.pk, 2027)]["planned"] == D("5500")
    assert year_rows(org_april) == raw_expectations(org_april, 4)


def test_judge_gives_the_same_colours_without_the_sentences(org_april):
    """The rollups judge without writing the money sentence; the colours must be the
    ones the explained judgement gives."""
    base = rollups.InitiativeInput(
        initiative_id=1, stage="decided", created=TODAY, last_update=TODAY,
        cadence_days=30, benefit_lines=1, cost_lines=1, milestones=2, overdue=1,
        oldest_overdue_due=TODAY - dt.timedelta(days=10), oldest_overdue_title="Pilot",
        planned=D("1000"), outturn=D("900"), cost_planned=D("100"),
        cost_outturn=D("100"), forecast_cells=3)
    cases = [base, base._replace(outturn=D("500")), base._replace(cost_outturn=D("130")),
             base._replace(cost_outturn=D("99")), base._replace(planned=D("0")),
             base._replace(forecast_cells=0), base._replace(benefit_lines=0),
             base._replace(created=TODAY - dt.timedelta(days=90), last_update=None)]
    for case in cases:
        explained = rollups.judge(case, thresholds=calc.Thresholds(), currency="EUR",
                                  today=TODAY)
        plain = rollups.judge(case, thresholds=calc.Thresholds(), currency="EUR",
                              today=TODAY, explain=False)
        assert (plain.schedule, plain.stale) == (explained.schedule, explained.stale)
        assert plain.financial.colour == explained.financial.colour, case


def test_task_rebuilds_under_the_lock(org_april):
    result = refresh_rollups_for(org_april.pk)
    assert result["initiatives"] == 3
    with scopes_disabled():
        assert InitiativeFact.objects.filter(organization=org_april).aggregate(
            s=Sum("planned"))["s"] == D("2700")
    from cat4.common.locks import try_org_job_lock

    with try_org_job_lock(rollups.JOB, org_april.pk):
        pass  # the lock is free again after the run


def test_the_command_repairs_line_sums_changed_around_the_triggers(org_april):
    rollups.rebuild(organization=org_april, today=TODAY)
    expected = year_rows(org_april)
    with scopes_disabled():  # as if edited with the triggers off: no dirty mark
        LineYearValue.objects.filter(organization=org_april).update(planned=D("1"))
    out = io.StringIO()
    call_command("rebuild_rollups", "april", stdout=out)
    assert "0 lines summed" in out.getvalue() and year_rows(org_april) != expected
    call_command("rebuild_rollups", "--full", "april", stdout=out)
    assert "3 lines summed" in out.getvalue()
    assert year_rows(org_april) == raw_expectations(org_april, 4)
    with pytest.raises(CommandError, match="No organisation nowhere"):
        call_command("rebuild_rollups", "nowhere")

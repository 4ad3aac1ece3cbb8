"""What changed since a date, and the portfolio as of a date (reporting.history), over
a scripted history.

How time is controlled: everything is done through the real services (initiative
create, impact lines, monthly values, milestones, gate submit and approve), so the
pghistory triggers and the StageEvent rows are the genuine ones. A test runs in one
transaction, where ``NOW()`` (the triggers' ``pgh_created_at``) never moves, so after each
phase of the script the rows that phase wrote are moved to the phase's date: the
pghistory events (``pgh_created_at``) and stage events (``at``) with an id above the
watermark taken before the phase. Those tables are append-only (pgtrigger Protect), so
this test-only UPDATE runs inside ``pgtrigger.ignore()``. Escalations carry their own
``raised_at`` / ``resolved_at`` and are created with them.

The script (organisation A of the personas, fiscal year = calendar year, 2026):

- 10 Jan  A (AC-100, the world's initiative): cost line, plan 1,000 a month Jan-Jun;
          milestone due 31 Mar.  B (AC-200, another program): plan 500 a month Jan-Jun;
          milestone due 20 Feb.  Escalation E1 raised on B (still open), E2 raised on A.
- 10 Feb  A passes Detailed and Decided; forecast 1,000 a month (100 % of plan, green).
- since = 1 Mar
- 15 Mar  A: forecast cut to 800 a month (80 %: red); milestone done; passes Implemented.
          B: plan raised to 600 a month.  C (AC-300, A's program) created with a plan of
          100 a month.  E2 resolved; E3 raised on B.

Expectations by hand:
- stage moves since 1 Mar: A decided -> implemented (one move; the 10 Feb ones are before).
- values: A forecast 6,000 -> 4,800; B planned 3,000 -> 3,600; C planned 0 -> 600.
- RAG: A money green -> red; B delivery amber (9 days overdue on 1 Mar) -> red (40 days
  on 1 Apr, "today" of the report); A delivery green -> green (no change).
- escalations: raised E3; resolved E2.
- as of 28 Feb: identified 1 (B), decided 1 (A); planned 9,000, forecast 6,000,
  outturn 6,000, actual 0.  As of 1 Apr (after everything): identified 2 (B, C),
  implemented 1 (A); planned 10,200, forecast 4,800, outturn 4,800.
  (A, B and C were created "now", by the real clock, so none of them is ever stale here.)

A second script (``staleness``) turns colours by the staleness rule alone, as the
dashboard does: two initiatives created on 10 Jan, Decided on 10 Feb with a forecast of
100 % of plan and a milestone due 30 Jun, so green on money and delivery throughout; the
update cadence is monthly. G (AC-400) posted a status update on 20 Feb (due again 22 Mar):
fresh on 1 Mar, overdue on 1 Apr, so green -> amber on both. H (AC-500) posted none until
15 Mar (due since 9 Feb): overdue on 1 Mar, fresh on 1 Apr (due 14 Apr), so amber -> green.
"""

import datetime as dt
from decimal import Decimal

import pghistory.models  # noqa: F401 (event models registered)
import pgtrigger
import pytest
from django.apps import apps
from django.db import connection
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from cat4.tenancy.models import Role
from governance.models import Escalation, StageEvent
from initiatives import services
from initiatives.models import Initiative, Milestone, StatusUpdate
from reporting import history, rollups
from reporting.models import InitiativeFact
from tests.conftest import client_for
from tests.factories import EscalationFactory, EscalationRuleFactory, ProgramFactory
from tests.initiatives.support import pass_next_gate

pytestmark = pytest.mark.django_db

EVENT_MODELS = ["initiatives.InitiativeEvent", "initiatives.ImpactLineEvent",
                "initiatives.MonthlyValueEvent", "initiatives.MilestoneEvent"]
UTC = dt.UTC
JAN, FEB, MAR = (dt.datetime(2026, 1, 10, 12, tzinfo=UTC), dt.datetime(2026, 2, 10, 12, tzinfo=UTC),
                 dt.datetime(2026, 3, 15, 12, tzinfo=UTC))
SINCE = dt.date(2026, 3, 1)
TODAY = dt.date(2026, 4, 1)
HALF_YEAR = [dt.date(2026, m, 1) for m in range(1, 7)]


class Clock:
    """Moves what a phase of the script wrote to the phase's time."""

    def __init__(self):
        self.marks = {}

    def _tables(self):
        tables = [(apps.get_model(label)._meta.db_table, "pgh_id", "pgh_created_at")
                  for label in EVENT_MODELS]
        return [*tables, (StageEvent._meta.db_table, "id", "at")]

    def start(self, *, everything: bool = False):
        """From here on; or, with ``everything``, including what the fixtures wrote."""
        with connection.cursor() as cursor:
            for table, key, _column in self._tables():
                cursor.execute(f'SELECT COALESCE(MAX("{key}"), 0) FROM "{table}"')  # noqa: S608
                self.marks[table] = 0 if everything else cursor.fetchone()[0]

    def stop(self, at: dt.datetime):
        with pgtrigger.ignore(), connection.cursor() as cursor:
            for table, key, column in self._tables():
                cursor.execute(f'UPDATE "{table}" SET "{column}" = %s WHERE "{key}" > %s',  # noqa: S608
                               [at, self.marks[table]])


def _values(membership, line, kind, amount):
    services.monthly_values_set(membership=membership, line_id=line.pk, kind=kind,
                                values={m: amount for m in HALF_YEAR})


@pytest.fixture
def script(world):
    org = world.org_a
    admin = world.a[Role.ADMIN].membership
    owner = world.a[Role.OWNER].membership
    clock = Clock()
    a = world.initiative
    with scopes_disabled():
        other_program = ProgramFactory(organization=org, portfolio__organization=org,
                                       name="Acme Warehousing")
        rule = EscalationRuleFactory(organization=org, name="Stale initiatives")
        milestone_rule = EscalationRuleFactory(organization=org, name="Overdue milestones",
                                               condition="milestone_overdue")

    # 10 Jan (the world's initiative, created by its factory, included)
    clock.start(everything=True)
    line_a = services.impact_line_create(membership=owner, initiative_id=a.pk,
                                         category="cost_reduction", description="Freight")
    _values(owner, line_a, "planned", "1000")
    services.milestone_create(membership=owner, initiative_id=a.pk, title="Tender issued",
                              due_date=dt.date(2026, 3, 31))
    b = services.initiative_create(
        membership=admin, code="AC-200", title="Acme warehouse lights", program=other_program,
        owner=owner.user, sponsor=world.a[Role.EXECUTIVE].user,
        controller=world.a[Role.CONTROLLER].user, start_date=dt.date(2026, 1, 1),
        target_date=dt.date(2026, 12, 31))
    line_b = services.impact_line_create(membership=owner, initiative_id=b.pk,
                                         category="cost_reduction", description="Energy")
    _values(owner, line_b, "planned", "500")
    services.milestone_create(membership=owner, initiative_id=b.pk, title="LED tender",
                              due_date=dt.date(2026, 2, 20))
    clock.stop(JAN)
    with scopes_disabled():
        e1 = EscalationFactory(rule=rule, initiative=b, period="p1", raised_at=JAN,
                               level_since=JAN)
        e2 = EscalationFactory(rule=rule, initiative=a, period="p2", raised_at=JAN,
                               level_since=JAN)

    # 10 Feb
    clock.start()
    pass_next_gate(a, owner)
    pass_next_gate(a, owner)
    assert a.stage == "decided"
    _values(owner, line_a, "forecast", "1000")
    clock.stop(FEB)

    # 15 Mar
    clock.start()
    _values(owner, line_a, "forecast", "800")
    with scopes_disabled():
        milestone = Milestone.objects.get(initiative=a)
    services.milestone_update(membership=owner, milestone_id=milestone.pk,
                              done_date=dt.date(2026, 3, 10))
    pass_next_gate(a, owner)
    assert a.stage == "implemented"
    _values(owner, line_b, "planned", "600")
    c = services.initiative_create(
        membership=admin, code="AC-300", title="Acme pallet pooling", program=a.program,
        owner=owner.user, start_date=dt.date(2026, 1, 1), target_date=dt.date(2026, 12, 31))
    line_c = services.impact_line_create(membership=owner, initiative_id=c.pk,
                                         category="revenue_increase", description="Pallets")
    _values(owner, line_c, "planned", "100")
    clock.stop(MAR)
    with scopes_disabled():
        Escalation.objects.filter(pk=e2.pk).update(state="resolved", resolved_at=MAR)
        e3 = EscalationFactory(rule=milestone_rule, initiative=b, period="p3", raised_at=MAR,
                               level_since=MAR)
    return {"org": org, "a": a, "b": b, "c": c, "e1": e1, "e2": e2, "e3": e3,
            "program_b": other_program}


def _backdate_creation(initiative, at: dt.datetime):
    """The initiative and its events say it was created at ``at`` (no event for this)."""
    with pgtrigger.ignore(), connection.cursor() as cursor:
        for table, key in ((Initiative._meta.db_table, "id"),
                           (apps.get_model("initiatives.InitiativeEvent")._meta.db_table,
                            "pgh_obj_id")):
            cursor.execute(f'UPDATE "{table}" SET "created_at" = %s WHERE "{key}" = %s',  # noqa: S608
                           [at, initiative.pk])


def _status_update(membership, initiative, at: dt.datetime):
    update = services.status_update_create(membership=membership, initiative_id=initiative.pk,
                                           narrative="On track.", confidence="high")
    with scopes_disabled():
        StatusUpdate.objects.filter(pk=update.pk).update(created_at=at)


def _colours(org, codes) -> dict[str, tuple[str, str]]:
    """(schedule, financial) of the rollups' facts, as the dashboard shows them."""
    with scopes_disabled():
        return {f.initiative.code: (f.schedule_rag, f.financial_rag)
                for f in InitiativeFact.objects.filter(organization=org,
                                                       initiative__code__in=codes)
                .select_related("initiative")}


@pytest.fixture
def staleness(world):
    org = world.org_a
    admin = world.a[Role.ADMIN].membership
    owner = world.a[Role.OWNER].membership
    clock = Clock()
    clock.start()
    made = {}
    for code, title in (("AC-400", "Acme route planning"), ("AC-500", "Acme cross-docking")):
        initiative = services.initiative_create(
            membership=admin, code=code, title=title, program=world.initiative.program,
            owner=owner.user, sponsor=world.a[Role.EXECUTIVE].user,
            controller=world.a[Role.CONTROLLER].user, start_date=dt.date(2026, 1, 1),
            target_date=dt.date(2026, 12, 31))
        line = services.impact_line_create(membership=owner, initiative_id=initiative.pk,
                                           category="cost_reduction", description="Savings")
        _values(owner, line, "planned", "1000")
        services.milestone_create(membership=owner, initiative_id=initiative.pk,
                                  title="Go live", due_date=dt.date(2026, 6, 30))
        made[code] = (initiative, line)
    clock.stop(JAN)
    clock.start()
    for initiative, line in made.values():
        pass_next_gate(initiative, owner)
        pass_next_gate(initiative, owner)
        assert initiative.stage == "decided"
        _values(owner, line, "forecast", "1000")
    clock.stop(FEB)
    g, h = made["AC-400"][0], made["AC-500"][0]
    for initiative in (g, h):
        _backdate_creation(initiative, JAN)
    _status_update(owner, g, dt.datetime(2026, 2, 20, 12, tzinfo=UTC))
    # What the dashboard showed on 1 Mar, before anything of the later phases.
    rollups.rebuild(organization=org, today=SINCE)
    on_since = _colours(org, ["AC-400", "AC-500"])
    _status_update(owner, h, dt.datetime(2026, 3, 15, 12, tzinfo=UTC))
    rollups.rebuild(organization=org, today=TODAY)
    return {"org": org, "g": g, "h": h, "on_since": on_since,
            "on_today": _colours(org, ["AC-400", "AC-500"])}


def _changes(org, **kwargs):
    with scope(organization=org):
        return history.changes_since(organization=org, since=SINCE, today=TODAY, **kwargs)


def _as_of(org, when, **kwargs):
    with scope(organization=org):
        return history.portfolio_as_of(organization=org, when=when, fiscal_year=2026, **kwargs)


def test_stage_moves_since_the_date(script, world):
    report = _changes(script["org"])
    assert [(m.initiative.code, m.from_stage, m.to_stage, m.at) for m in report.stage_moves] \
        == [("AC-100", "decided", "implemented", MAR)]
    assert report.stage_moves[0].actor  # a person's name


def test_value_changes_then_and_now(script):
    report = _changes(script["org"])
    got = {c.initiative.code: c for c in report.value_changes}
    assert set(got) == {"AC-100", "AC-200", "AC-300"}
    assert (got["AC-100"].then.forecast, got["AC-100"].now.forecast) == (
        Decimal("6000"), Decimal("4800"))
    assert got["AC-100"].then.planned == got["AC-100"].now.planned == Decimal("6000")
    assert (got["AC-200"].then.planned, got["AC-200"].now.planned) == (
        Decimal("3000"), Decimal("3600"))
    assert (got["AC-300"].then.planned, got["AC-300"].now.planned) == (Decimal("0"),
                                                                         Decimal("600"))
    assert got["AC-100"].delta.forecast == Decimal("-1200")


def test_rag_changes(script):
    report = _changes(script["org"])
    got = {(c.initiative.code, c.kind): (c.then.colour, c.now.colour)
           for c in report.rag_changes}
    assert got == {("AC-100", "financial"): ("green", "red"),
                   ("AC-200", "schedule"): ("amber", "red")}


def _rag(report, codes=("AC-400", "AC-500")):
    return {(c.initiative.code, c.kind): (c.then.colour, c.now.colour)
            for c in report.rag_changes if c.initiative.code in codes}


def test_an_update_going_overdue_turns_green_to_amber_and_a_new_one_back(staleness):
    report = _changes(staleness["org"])
    assert _rag(report) == {("AC-400", "financial"): ("green", "amber"),
                            ("AC-400", "schedule"): ("green", "amber"),
                            ("AC-500", "financial"): ("amber", "green"),
                            ("AC-500", "schedule"): ("amber", "green")}
    why = {(c.initiative.code, c.kind): (c.then.explanation, c.now.explanation)
           for c in report.rag_changes}
    assert why[("AC-400", "financial")][1].endswith(
        "; last update on 2026-02-20 is overdue, so not green")
    assert why[("AC-500", "schedule")][0].endswith("; no status update yet, so not green")
    assert "forecast EUR 6.0 k is 100 % of plan" in why[("AC-400", "financial")][1]
    # Nothing about the money itself changed.
    assert not {c.initiative.code for c in report.value_changes} & {"AC-400", "AC-500"}
    # The same with a filter (other statements), and in the flat entries.
    narrowed = _changes(staleness["org"], filters={"program": staleness["g"].program_id})
    assert _rag(narrowed) == _rag(report)
    details = {e.detail for e in report if e.subject.startswith("AC-400")}
    assert "financial green → amber: " + why[("AC-400", "financial")][1] in details


def test_rag_colours_are_the_dashboards_on_both_dates(staleness):
    """Then: the rollups' facts rebuilt on 1 Mar, before the later phases; now: rebuilt
    on the report's today. Each side of every RAG change is the dashboard's colour."""
    assert staleness["on_since"] == {"AC-400": ("green", "green"), "AC-500": ("amber", "amber")}
    assert staleness["on_today"] == {"AC-400": ("amber", "amber"), "AC-500": ("green", "green")}
    dashboard = {(code, kind): (staleness["on_since"][code][column],
                                staleness["on_today"][code][column])
                 for code in ("AC-400", "AC-500")
                 for column, kind in enumerate(("schedule", "financial"))}
    assert _rag(_changes(staleness["org"])) == {
        key: colours for key, colours in dashboard.items() if colours[0] != colours[1]}


def test_staleness_that_did_not_change_is_no_change(staleness):
    """On 1 Apr both are judged as they were on 25 Mar: G is already overdue (since 22
    Mar) and H fresh (since 15 Mar), so since 25 Mar no colour changed."""
    with scope(organization=staleness["org"]):
        report = history.changes_since(organization=staleness["org"],
                                       since=dt.date(2026, 3, 25), today=TODAY)
    assert _rag(report) == {}


def test_escalations_raised_and_resolved(script):
    report = _changes(script["org"])
    assert [e.escalation_id for e in report.escalations_raised] == [script["e3"].pk]
    assert [e.escalation_id for e in report.escalations_resolved] == [script["e2"].pk]


def test_filters_narrow_every_kind_of_change(script):
    report = _changes(script["org"], filters={"program": script["program_b"].pk})
    assert report.stage_moves == []
    assert [c.initiative.code for c in report.value_changes] == ["AC-200"]
    assert [(c.initiative.code, c.kind) for c in report.rag_changes] == [("AC-200", "schedule")]
    assert [e.escalation_id for e in report.escalations_raised] == [script["e3"].pk]
    assert report.escalations_resolved == []
    owner_report = _changes(script["org"], filters={"owner": script["b"].owner_id})
    assert {c.initiative.code for c in owner_report.value_changes} == {
        "AC-100", "AC-200", "AC-300"}


def test_nothing_changed_since_after_the_script(script):
    with scope(organization=script["org"]):
        report = history.changes_since(organization=script["org"], since=dt.date(2026, 3, 16),
                                       today=dt.date(2026, 3, 16))
    assert report.stage_moves == [] and report.value_changes == []
    assert report.escalations_raised == [] and report.escalations_resolved == []


def test_report_iterates_as_flat_entries(script):
    entries = list(_changes(script["org"]))
    kinds = [e.kind for e in entries]
    assert kinds[:3] == ["escalation_raised", "escalation_resolved", "stage"]
    assert "value" in kinds and "rag_financial" in kinds
    assert all(e.subject and e.detail for e in entries)


def test_portfolio_as_of_a_past_date(script):
    then = _as_of(script["org"], dt.date(2026, 2, 28))
    assert (then.count("identified"), then.count("decided"), then.initiatives) == (1, 1, 2)
    assert (then.headline.planned, then.headline.forecast, then.headline.outturn,
            then.headline.actual) == (Decimal("9000"), Decimal("6000"), Decimal("6000"),
                                      Decimal("0"))
    # The world's initiative was created by its factory; its events moved to 10 Jan.
    assert _as_of(script["org"], dt.date(2026, 1, 5)).initiatives == 0


def test_portfolio_as_of_today_matches_the_current_rows(script):
    now = _as_of(script["org"], dt.date.today())
    assert (now.count("identified"), now.count("implemented"), now.initiatives) == (2, 1, 3)
    assert (now.headline.planned, now.headline.forecast, now.headline.outturn) == (
        Decimal("10200"), Decimal("4800"), Decimal("4800"))


def test_portfolio_as_of_with_filters(script):
    then = _as_of(script["org"], dt.date(2026, 2, 28), filters={"program": script["a"].program_id})
    assert (then.initiatives, then.count("decided"), then.headline.planned) == (
        1, 1, Decimal("6000"))
    portfolio = _as_of(script["org"], dt.date.today(),
                       filters={"portfolio": script["program_b"].portfolio_id})
    assert (portfolio.initiatives, portfolio.headline.planned) == (1, Decimal("3600"))


def test_changes_page_for_a_viewer_and_an_executive(script, world):
    url = reverse("changes", kwargs={"org_slug": "acme"})
    viewer = client_for(world.a[Role.VIEWER].user)
    response = viewer.get(url, {"since": "2026-03-01", "as_of": "2026-02-28"})
    assert response.status_code == 200
    body = response.content.decode()
    detail = reverse("initiative_detail", kwargs={"org_slug": "acme",
                                                  "initiative_id": script["a"].pk})
    assert detail in body
    assert "Portfolio as of 28 Feb 2026" in body
    assert "New escalations" not in body  # viewers do not see escalations
    assert "Both dates are judged with today's thresholds" in body
    executive = client_for(world.a[Role.EXECUTIVE].user).get(url, {"since": "2026-03-01"})
    assert "New escalations" in executive.content.decode()
    assert 'id="asof-title"' not in executive.content.decode()  # no date, no comparison


def test_changes_page_defaults_and_empty_states(world):
    client = client_for(world.a[Role.EXECUTIVE].user)
    response = client.get(reverse("changes", kwargs={"org_slug": "acme"}))
    assert response.status_code == 200
    default = (dt.date.today() - dt.timedelta(days=30)).isoformat()
    body = response.content.decode()
    assert f'value="{default}"' in body
    assert "No initiative changed stage" in body
    assert "No escalation was raised" in body
    future = client.get(reverse("changes", kwargs={"org_slug": "acme"}),
                        {"since": "2999-01-01"})
    assert future.status_code == 400

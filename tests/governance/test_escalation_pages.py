"""The escalation pages: the filtered list (htmx partial, paginated, constant query
count), the detail with acknowledge / resolve forms, and the rules admin."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from cat4.tenancy.models import Role
from governance.models import Escalation, EscalationRule, EscalationState
from kpis.models import Kpi
from tests.conftest import client_for
from tests.factories import (
    EscalationFactory,
    EscalationNoticeFactory,
    EscalationRuleFactory,
    InitiativeFactory,
)

pytestmark = pytest.mark.django_db


def url(name, **kwargs):
    return reverse(name, kwargs={"org_slug": "acme", **kwargs})


def text(response) -> str:
    return response.content.decode()


@pytest.fixture
def rule(world):
    with scopes_disabled():
        return EscalationRuleFactory(organization=world.org_a, name="Stale initiatives")


def raise_one(world, rule, *, initiative=None, **kwargs):
    with scopes_disabled():
        if initiative is None:
            initiative = InitiativeFactory(program=world.initiative.program,
                                           owner=world.a[Role.OWNER].user)
        kwargs.setdefault("subject_label", f"{initiative.code} {initiative.title}")
        return EscalationFactory(rule=rule, initiative=initiative, **kwargs)


# --- List ---------------------------------------------------------------------------------


def test_the_list_shows_unresolved_by_default_with_everything_a_row_needs(world, rule):
    open_one = raise_one(world, rule, initiative=world.initiative,
                         explanation="No status update for 9 days; the rule allows 7.")
    raise_one(world, rule, state=EscalationState.RESOLVED, resolved_at=timezone.now(),
              subject_label="AC-999 Long gone")
    response = client_for(world.a[Role.CONTROLLER].user).get(url("escalation_list"))
    assert response.status_code == 200
    body = text(response)
    assert "Stale initiatives" in body
    assert "No status update for 9 days; the rule allows 7." in body
    assert url("initiative_detail", initiative_id=world.initiative.pk) in body
    assert url("escalation_detail", escalation_id=open_one.pk) in body
    assert "Owner" in body and "since" in body and "Open" in body
    assert "AC-999 Long gone" not in body
    assert "1 escalation" in body


def test_a_kpi_subject_links_to_the_kpi(world, rule):
    with scopes_disabled():
        kpi = Kpi.objects.create(organization=world.org_a, name="On-time delivery", unit="%",
                                 direction="higher", baseline="80",
                                 baseline_date=world.initiative.start_date, target="90",
                                 target_date=world.initiative.target_date,
                                 owner=world.a[Role.OWNER].user)
        EscalationFactory(rule=rule, kpi=kpi, subject_type="kpi")
    body = text(client_for(world.a[Role.ADMIN].user).get(url("escalation_list")))
    assert url("kpi_detail", kpi_id=kpi.pk) in body and "On-time delivery" in body


@pytest.mark.parametrize(("query", "expected"), [
    ({}, {"open", "acknowledged"}),
    ({"state": "unresolved"}, {"open", "acknowledged"}),
    ({"state": "open"}, {"open"}),
    ({"state": "acknowledged"}, {"acknowledged"}),
    ({"state": "resolved"}, {"resolved"}),
    ({"state": "all"}, {"open", "acknowledged", "resolved"}),
])
def test_the_state_filter(world, rule, query, expected):
    for state in ("open", "acknowledged", "resolved"):
        raise_one(world, rule, state=state, subject_label=f"Subject-{state}",
                  resolved_at=timezone.now() if state == "resolved" else None)
    body = text(client_for(world.a[Role.ADMIN].user).get(url("escalation_list"), query))
    shown = {s for s in ("open", "acknowledged", "resolved") if f"Subject-{s}" in body}
    assert shown == expected


def test_the_level_and_rule_filters(world, rule):
    with scopes_disabled():
        other = EscalationRuleFactory(organization=world.org_a, name="Risky business",
                                      condition="risk_score", threshold=15)
    raise_one(world, rule, level=1, subject_label="Subject-one")
    raise_one(world, rule, level=2, subject_label="Subject-two")
    raise_one(world, other, level=3, subject_label="Subject-three")
    client = client_for(world.a[Role.ADMIN].user)
    body = text(client.get(url("escalation_list"), {"level": "2"}))
    assert "Subject-two" in body and "Subject-one" not in body and "Subject-three" not in body
    body = text(client.get(url("escalation_list"), {"rule": other.pk}))
    assert "Subject-three" in body and "Subject-one" not in body
    body = text(client.get(url("escalation_list"), {"rule": rule.pk, "level": "1"}))
    assert "Subject-one" in body and "Subject-two" not in body


def test_nothing_matching_says_so(world, rule):
    raise_one(world, rule, level=1)
    body = text(client_for(world.a[Role.ADMIN].user).get(url("escalation_list"),
                                                         {"level": "3"}))
    assert "No escalations match these filters." in body


@pytest.mark.parametrize("query", [{"level": "9"}, {"level": "x"}, {"state": "lost"},
                                   {"rule": "abc"}, {"rule": "99999999"}])
def test_bad_filters_answer_400_on_the_field(world, rule, query):
    response = client_for(world.a[Role.ADMIN].user).get(url("escalation_list"), query)
    assert response.status_code == 400
    assert "Select a valid choice" in text(response)


def test_another_organisations_rule_is_no_filter(world):
    with scopes_disabled():
        theirs = EscalationRuleFactory(organization=world.org_b, name="Theirs")
    response = client_for(world.a[Role.ADMIN].user).get(url("escalation_list"),
                                                        {"rule": theirs.pk})
    assert response.status_code == 400
    assert "Theirs" not in text(response)


def test_htmx_gets_only_the_results(world, rule):
    raise_one(world, rule, subject_label="Subject-htmx")
    response = client_for(world.a[Role.ADMIN].user).get(
        url("escalation_list"), {"state": "open"}, HTTP_HX_REQUEST="true")
    body = text(response)
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="results"')
    assert "Subject-htmx" in body and "<html" not in body and 'role="search"' not in body


def test_the_list_is_paginated_and_keeps_the_filters(world, rule):
    for n in range(27):
        raise_one(world, rule, level=2, subject_label=f"Subject-{n}")
    body = text(client_for(world.a[Role.ADMIN].user).get(url("escalation_list"),
                                                         {"level": "2"}))
    assert "27 escalations" in body and "Page 1 of 2" in body
    assert "?level=2&amp;page=2" in body


def _count(client, address) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(address).status_code == 200
    return len(captured.captured_queries)


def test_the_list_query_count_does_not_grow_with_rows(world, rule,
                                                      django_assert_num_queries):
    client = client_for(world.a[Role.EXECUTIVE].user)
    address = url("escalation_list")
    client.get(address)  # warm the session
    with scopes_disabled():
        kpi = Kpi.objects.create(organization=world.org_a, name="On-time delivery", unit="%",
                                 direction="higher", baseline="80",
                                 baseline_date=world.initiative.start_date, target="90",
                                 target_date=world.initiative.target_date,
                                 owner=world.a[Role.OWNER].user)
    raise_one(world, rule)
    one = _count(client, address)
    with scopes_disabled():
        for n in range(19):
            if n % 3 == 0:
                EscalationFactory(rule=rule, kpi=kpi, subject_type="kpi", subject_id=1000 + n)
            else:
                raise_one(world, rule, state="acknowledged" if n % 2 else "open",
                          acknowledged_by=world.a[Role.ADMIN].user)
    with django_assert_num_queries(one):
        response = client.get(address)
    assert "20 escalations" in text(response)


# --- Detail and actions -------------------------------------------------------------------


def test_the_detail_shows_inputs_notices_and_the_forms(world, rule):
    escalation = raise_one(world, rule, initiative=world.initiative,
                           inputs={"days_overdue": 9, "threshold": 7})
    with scopes_disabled():
        EscalationNoticeFactory(escalation=escalation, level=1,
                                recipient=world.a[Role.OWNER].user)
    response = client_for(world.a[Role.OWNER].user).get(
        url("escalation_detail", escalation_id=escalation.pk))
    body = text(response)
    assert response.status_code == 200
    assert "Days overdue" in body and ">9<" in body
    assert "Acme Owner" in body  # notified at level 1
    assert url("escalation_acknowledge", escalation_id=escalation.pk) in body
    assert url("escalation_resolve", escalation_id=escalation.pk) in body


def test_who_may_not_act_sees_no_forms(world, rule):
    escalation = raise_one(world, rule, initiative=world.initiative)
    body = text(client_for(world.a[Role.CONTROLLER].user).get(
        url("escalation_detail", escalation_id=escalation.pk)))
    assert url("escalation_acknowledge", escalation_id=escalation.pk) not in body
    assert url("escalation_resolve", escalation_id=escalation.pk) not in body


def test_acknowledge_then_resolve_by_post(world, rule):
    escalation = raise_one(world, rule, initiative=world.initiative)
    client = client_for(world.a[Role.OWNER].user)
    response = client.post(url("escalation_acknowledge", escalation_id=escalation.pk),
                           {"comment": "Chasing the carrier"})
    assert response.status_code == 302
    body = text(client.get(response["Location"]))
    assert "Acknowledged by Acme Owner" in body and "Chasing the carrier" in body
    assert url("escalation_acknowledge", escalation_id=escalation.pk) not in body
    response = client.post(url("escalation_resolve", escalation_id=escalation.pk),
                           {"comment": "New contract signed"})
    assert response.status_code == 302
    body = text(client.get(response["Location"]))
    assert "Resolved by Acme Owner" in body and "New contract signed" in body
    with scopes_disabled():
        assert Escalation.objects.get(pk=escalation.pk).state == EscalationState.RESOLVED


@pytest.mark.parametrize(("name", "message"), [
    ("escalation_acknowledge", "what is being done about it"),
    ("escalation_resolve", "how was it resolved")])
def test_a_missing_comment_is_shown_on_the_field(world, rule, name, message):
    escalation = raise_one(world, rule, initiative=world.initiative)
    response = client_for(world.a[Role.ADMIN].user).post(
        url(name, escalation_id=escalation.pk), {"comment": "   "})
    assert response.status_code == 400
    body = text(response)
    assert message in body and 'class="field has-error"' in body
    with scopes_disabled():
        assert Escalation.objects.get(pk=escalation.pk).state == EscalationState.OPEN


def test_a_wrong_state_answers_409_and_keeps_the_input(world, rule):
    escalation = raise_one(world, rule, initiative=world.initiative,
                           state=EscalationState.RESOLVED, resolved_at=timezone.now())
    response = client_for(world.a[Role.ADMIN].user).post(
        url("escalation_resolve", escalation_id=escalation.pk), {"comment": "My words"})
    assert response.status_code == 409
    body = text(response)
    assert "already resolved" in body and "My words</textarea>" in body
    assert "Resolved by itself when the condition cleared" in body


def test_acknowledging_twice_answers_409(world, rule):
    escalation = raise_one(world, rule, initiative=world.initiative)
    client = client_for(world.a[Role.ADMIN].user)
    client.post(url("escalation_acknowledge", escalation_id=escalation.pk), {"comment": "A"})
    response = client.post(url("escalation_acknowledge", escalation_id=escalation.pk),
                           {"comment": "Second thoughts"})
    assert response.status_code == 409
    body = text(response)
    assert "already acknowledged" in body and "Second thoughts</textarea>" in body


def test_an_outsiders_escalation_is_not_found(world):
    with scopes_disabled():
        theirs = EscalationFactory(rule__organization=world.org_b,
                                   initiative=InitiativeFactory(
                                       program__organization=world.org_b,
                                       program__portfolio__organization=world.org_b,
                                       owner=world.b_executive.user))
    client = client_for(world.a[Role.ADMIN].user)
    assert client.get(url("escalation_detail", escalation_id=theirs.pk)).status_code == 404
    for name in ("escalation_acknowledge", "escalation_resolve"):
        assert client.post(url(name, escalation_id=theirs.pk),
                           {"comment": "x"}).status_code == 404
    with scopes_disabled():
        assert Escalation.objects.get(pk=theirs.pk).state == EscalationState.OPEN


def test_the_nav_links_escalations_with_the_unresolved_count(world, rule):
    raise_one(world, rule)
    raise_one(world, rule)
    body = text(client_for(world.a[Role.CONTROLLER].user).get(url("initiative_list")))
    assert url("escalation_list") in body and 'aria-label="2 unresolved"' in body
    body = text(client_for(world.a[Role.VIEWER].user).get(url("initiative_list")))
    assert url("escalation_list") not in body


# --- Rules admin ---------------------------------------------------------------------------

RULE = {"name": "Overdue milestones", "condition": "milestone_overdue", "threshold": "14",
        "promote_after_days": "5", "top_level": "3", "active": "on"}


def test_the_rules_page_lists_rules_with_n_and_unit(world, rule):
    response = client_for(world.a[Role.ADMIN].user).get(url("escalation_rules"))
    body = text(response)
    assert response.status_code == 200
    assert "Stale initiatives" in body and "7 days" in body and "5 days" in body
    assert url("escalation_rule_edit", rule_id=rule.pk) in body
    assert "Days past the need-by date" in body  # the table of what N means


def test_the_governance_settings_page_links_the_rules(world):
    body = text(client_for(world.a[Role.ADMIN].user).get(url("governance_settings")))
    assert url("escalation_rules") in body


def test_an_admin_creates_a_rule(world):
    response = client_for(world.a[Role.ADMIN].user).post(url("escalation_rules"), RULE)
    assert response.status_code == 302
    with scopes_disabled():
        rule = EscalationRule.objects.get(organization=world.org_a, name="Overdue milestones")
    assert (rule.condition, rule.threshold, rule.active) == ("milestone_overdue", 14, True)


@pytest.mark.parametrize(("change", "message"), [
    ({"name": ""}, "Give the rule a name"),
    ({"threshold": ""}, "Days overdue is needed for this condition"),
    ({"threshold": "400"}, "Days overdue must be from 0 days to 365 days"),
    ({"threshold": "1.5"}, "must be a whole number"),
    ({"threshold": "lots"}, "Enter a number"),
    ({"condition": "weather"}, "Select a valid choice"),
    ({"promote_after_days": "0"}, "from 1 to 365"),
    ({"top_level": "7"}, "Select a valid choice"),
])
def test_bad_rules_are_refused_on_the_field_and_the_input_kept(world, change, message):
    with scopes_disabled():
        before = EscalationRule.objects.filter(organization=world.org_a).count()
    response = client_for(world.a[Role.ADMIN].user).post(url("escalation_rules"),
                                                         {**RULE, **change})
    assert response.status_code == 400
    body = text(response)
    assert message in body and "has-error" in body
    assert 'value="Overdue milestones"' in body or change.get("name") == ""
    with scopes_disabled():
        assert EscalationRule.objects.filter(organization=world.org_a).count() == before


def test_a_duplicate_name_is_a_field_error_not_a_500(world, rule):
    response = client_for(world.a[Role.ADMIN].user).post(
        url("escalation_rules"), {**RULE, "name": "Stale initiatives"})
    assert response.status_code == 400
    assert "already exists" in text(response)


def test_an_admin_edits_and_switches_a_rule(world, rule):
    client = client_for(world.a[Role.ADMIN].user)
    page = text(client.get(url("escalation_rule_edit", rule_id=rule.pk)))
    assert 'value="Stale initiatives"' in page and 'value="7"' in page
    assert 'name="version" value="1"' in page
    response = client.post(url("escalation_rule_edit", rule_id=rule.pk),
                           {**RULE, "name": "Stale for ten days", "condition": "stale",
                            "threshold": "10", "version": "1"})
    assert response.status_code == 302
    response = client.post(url("escalation_rule_edit", rule_id=rule.pk),
                           {**RULE, "condition": "stale", "threshold": "-1", "version": "2"})
    assert response.status_code == 400 and "from 0 days to 365 days" in text(response)
    client.post(url("escalation_rule_toggle", rule_id=rule.pk),
                {"active": "false", "version": "2"})
    with scopes_disabled():
        rule.refresh_from_db()
    assert (rule.name, rule.threshold, rule.active) == ("Stale for ten days", 10, False)


def test_a_rule_with_escalations_keeps_its_condition_409(world, rule):
    raise_one(world, rule)
    response = client_for(world.a[Role.ADMIN].user).post(
        url("escalation_rule_edit", rule_id=rule.pk),
        {**RULE, "name": rule.name, "condition": "risk_score", "threshold": "12",
         "version": "1"})
    assert response.status_code == 409
    assert "switch it off and create a new rule" in text(response)


def test_another_organisations_rule_cannot_be_edited(world):
    with scopes_disabled():
        theirs = EscalationRuleFactory(organization=world.org_b, name="Theirs")
    client = client_for(world.a[Role.ADMIN].user)
    assert client.get(url("escalation_rule_edit", rule_id=theirs.pk)).status_code == 404
    assert client.post(url("escalation_rule_toggle", rule_id=theirs.pk),
                       {"active": "false", "version": "1"}).status_code == 404

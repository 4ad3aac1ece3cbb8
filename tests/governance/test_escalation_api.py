"""The escalation API: rules (admins write), the filtered list, the detail with its
notices, acknowledge and resolve; 400 on the field, 403, 404 across organisations,
409 for the wrong state."""

import pytest
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from cat4.tenancy.models import Role
from governance.models import Escalation, EscalationRule, EscalationState
from tests.conftest import api_client_for
from tests.factories import (
    EscalationFactory,
    EscalationNoticeFactory,
    EscalationRuleFactory,
    InitiativeFactory,
)

pytestmark = pytest.mark.django_db


def url(name, **kwargs):
    return reverse(name, kwargs={"org_slug": "acme", **kwargs})


@pytest.fixture
def rule(world):
    with scopes_disabled():
        return EscalationRuleFactory(organization=world.org_a, name="Stale initiatives")


def raise_one(world, rule, **kwargs):
    with scopes_disabled():
        kwargs.setdefault("initiative", world.initiative)
        return EscalationFactory(rule=rule, **kwargs)


def admin(world):
    return api_client_for(world.a[Role.ADMIN].user)


# --- Rules ----------------------------------------------------------------------------------


def test_rules_list_and_detail(world, rule):
    client = api_client_for(world.a[Role.CONTROLLER].user)
    response = client.get(url("api_escalation_rule_list"))
    assert response.status_code == 200
    mine = next(r for r in response.json()["results"] if r["id"] == rule.pk)
    assert mine == {**mine, "name": "Stale initiatives", "condition": "stale",
                    "threshold": "7.00", "unit": "days", "promote_after_days": 5,
                    "top_level": 3, "active": True}
    response = client.get(url("api_escalation_rule_detail", rule_id=rule.pk))
    assert response.json()["name"] == "Stale initiatives"


def test_create_a_rule(world):
    response = admin(world).post(url("api_escalation_rule_list"),
                                 {"name": "Big risks", "condition": "risk_score",
                                  "threshold": "20", "top_level": 2}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["threshold"], body["top_level"], body["promote_after_days"]) == ("20.00", 2, 5)
    assert body["unit"] == ""


@pytest.mark.parametrize(("body", "field", "message"), [
    ({"condition": "stale", "threshold": 7}, "name", "required"),
    ({"name": "", "condition": "stale", "threshold": 7}, "name", "blank"),
    ({"name": "x" * 121, "condition": "stale", "threshold": 7}, "name", "120"),
    ({"name": "Update overdue by a week", "condition": "stale", "threshold": 7}, "name",
     "already exists"),
    ({"name": "R", "condition": "eclipse", "threshold": 7}, "condition", "valid choice"),
    ({"name": "R"}, "condition", "required"),
    ({"name": "R", "condition": "stale"}, "threshold", "Days overdue is needed"),
    ({"name": "R", "condition": "stale", "threshold": None}, "threshold",
     "Days overdue is needed"),
    ({"name": "R", "condition": "stale", "threshold": "many"}, "threshold",
     "valid number"),
    ({"name": "R", "condition": "stale", "threshold": "NaN"}, "threshold", "valid number"),
    ({"name": "R", "condition": "stale", "threshold": 400}, "threshold",
     "Days overdue must be from 0 days to 365 days"),
    ({"name": "R", "condition": "stale", "threshold": "2.5"}, "threshold", "whole number"),
    ({"name": "R", "condition": "kpi_off_track", "threshold": 0}, "threshold",
     "from 1 periods to 24 periods"),
    ({"name": "R", "condition": "risk_score", "threshold": 30}, "threshold", "from 1 to 25"),
    ({"name": "R", "condition": "one_time_cost_over", "threshold": "0.001"}, "threshold",
     "from 0.01 % to 1000 %"),
    ({"name": "R", "condition": "stale", "threshold": 7, "promote_after_days": 0},
     "promote_after_days", "from 1 to 365"),
    ({"name": "R", "condition": "stale", "threshold": 7, "promote_after_days": "soon"},
     "promote_after_days", "valid integer"),
    ({"name": "R", "condition": "stale", "threshold": 7, "top_level": 5}, "top_level",
     "steering group"),
    ({"name": "R", "condition": "stale", "threshold": 7, "active": "perhaps"}, "active",
     "valid boolean"),
])
def test_bad_rules_answer_400_on_the_field(world, body, field, message):
    with scopes_disabled():
        before = EscalationRule.objects.filter(organization=world.org_a).count()
    response = admin(world).post(url("api_escalation_rule_list"), body, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert field in errors and message in " ".join(errors[field]), errors
    with scopes_disabled():
        assert EscalationRule.objects.filter(organization=world.org_a).count() == before


def test_financial_red_ignores_a_threshold(world):
    response = admin(world).post(url("api_escalation_rule_list"),
                                 {"name": "Red money", "condition": "financial_red",
                                  "threshold": "5"}, format="json")
    assert response.status_code == 201 and response.json()["threshold"] is None


def test_patch_switches_off_and_validates(world, rule):
    client = admin(world)
    response = client.patch(url("api_escalation_rule_detail", rule_id=rule.pk),
                            {"active": False}, format="json", headers={"If-Match": '"v1"'})
    assert response.status_code == 200 and response.json()["active"] is False
    response = client.patch(url("api_escalation_rule_detail", rule_id=rule.pk),
                            {"threshold": "-3"}, format="json", headers={"If-Match": '"v2"'})
    assert response.status_code == 400 and "threshold" in response.json()
    response = client.patch(url("api_escalation_rule_detail", rule_id=rule.pk),
                            {"condition": "risk_score", "threshold": 12}, format="json",
                            headers={"If-Match": '"v2"'})
    assert response.status_code == 200 and response.json()["condition"] == "risk_score"


def test_patch_of_a_used_rules_condition_is_409(world, rule):
    raise_one(world, rule)
    response = admin(world).patch(url("api_escalation_rule_detail", rule_id=rule.pk),
                                  {"condition": "risk_score", "threshold": 12}, format="json",
                                  headers={"If-Match": '"v1"'})
    assert response.status_code == 409


def test_only_admins_write_rules(world, rule):
    client = api_client_for(world.a[Role.EXECUTIVE].user)
    assert client.post(url("api_escalation_rule_list"),
                       {"name": "R", "condition": "stale", "threshold": 1},
                       format="json").status_code == 403
    assert client.patch(url("api_escalation_rule_detail", rule_id=rule.pk),
                        {"active": False}, format="json",
                        headers={"If-Match": '"v1"'}).status_code == 403


def test_another_organisations_rule_is_404(world):
    with scopes_disabled():
        theirs = EscalationRuleFactory(organization=world.org_b, name="Theirs")
    client = admin(world)
    assert client.get(url("api_escalation_rule_detail", rule_id=theirs.pk)).status_code == 404
    assert client.patch(url("api_escalation_rule_detail", rule_id=theirs.pk),
                        {"active": False}, format="json",
                        headers={"If-Match": '"v1"'}).status_code == 404


# --- Escalations ---------------------------------------------------------------------------


def test_list_and_filters(world, rule):
    with scopes_disabled():
        other = EscalationRuleFactory(organization=world.org_a, name="Risks",
                                      condition="risk_score", threshold=15)
        second = InitiativeFactory(program=world.initiative.program,
                                   owner=world.a[Role.OWNER].user)
    a = raise_one(world, rule, level=1)
    b = raise_one(world, rule, level=2, initiative=second, state="acknowledged")
    c = raise_one(world, other, level=3, state="resolved", resolved_at=timezone.now())
    client = api_client_for(world.a[Role.OWNER].user)

    def ids(**query):
        response = client.get(url("api_escalation_list"), query)
        assert response.status_code == 200
        return {row["id"] for row in response.json()["results"]}

    assert ids() == {a.pk, b.pk, c.pk}
    assert ids(state="unresolved") == {a.pk, b.pk}
    assert ids(state="open") == {a.pk}
    assert ids(state="acknowledged") == {b.pk}
    assert ids(state="resolved") == {c.pk}
    assert ids(level=2) == {b.pk}
    assert ids(rule=other.pk) == {c.pk}
    row = client.get(url("api_escalation_list"), {"level": 1}).json()["results"][0]
    assert row["rule_name"] == "Stale initiatives" and row["initiative"] == world.initiative.pk
    assert row["explanation"] and row["inputs"] == {"days_overdue": 9, "threshold": 7}


@pytest.mark.parametrize(("query", "field"), [
    ({"state": "lost"}, "state"), ({"level": "4"}, "level"), ({"level": "x"}, "level"),
    ({"rule": "abc"}, "rule"), ({"rule": "²"}, "rule"), ({"rule": "999999999"}, "rule")])
def test_bad_list_filters_are_400(world, query, field):
    response = admin(world).get(url("api_escalation_list"), query)
    assert response.status_code == 400 and field in response.json()


def test_another_organisations_rule_is_no_filter(world):
    with scopes_disabled():
        theirs = EscalationRuleFactory(organization=world.org_b, name="Theirs")
    response = admin(world).get(url("api_escalation_list"), {"rule": theirs.pk})
    assert response.status_code == 400


def test_detail_with_notices(world, rule):
    escalation = raise_one(world, rule)
    with scopes_disabled():
        EscalationNoticeFactory(escalation=escalation, level=1,
                                recipient=world.a[Role.OWNER].user)
    body = admin(world).get(url("api_escalation_detail", escalation_id=escalation.pk)).json()
    assert body["state"] == "open" and body["auto_resolved"] is False
    assert [(n["level"], n["recipient"]["email"]) for n in body["notices"]] == [
        (1, "owner@acme.test")]


def test_acknowledge_and_resolve(world, rule):
    escalation = raise_one(world, rule)
    client = api_client_for(world.a[Role.OWNER].user)
    response = client.post(url("api_escalation_acknowledge", escalation_id=escalation.pk),
                           {"comment": "On it"}, format="json")
    assert response.status_code == 200
    assert response.json()["state"] == "acknowledged"
    assert response.json()["acknowledged_by"]["email"] == "owner@acme.test"
    response = client.post(url("api_escalation_acknowledge", escalation_id=escalation.pk),
                           {"comment": "Again"}, format="json")
    assert response.status_code == 409 and "already acknowledged" in response.json()["detail"]
    response = client.post(url("api_escalation_resolve", escalation_id=escalation.pk),
                           {"comment": "Done"}, format="json")
    assert response.status_code == 200
    assert response.json()["resolution_comment"] == "Done"
    response = client.post(url("api_escalation_resolve", escalation_id=escalation.pk),
                           {"comment": "Again"}, format="json")
    assert response.status_code == 409


@pytest.mark.parametrize("name", ["api_escalation_acknowledge", "api_escalation_resolve"])
@pytest.mark.parametrize("body", [{}, {"comment": ""}, {"comment": "  "}])
def test_a_comment_is_required(world, rule, name, body):
    escalation = raise_one(world, rule)
    response = admin(world).post(url(name, escalation_id=escalation.pk), body, format="json")
    assert response.status_code == 400 and "comment" in response.json()
    with scopes_disabled():
        assert Escalation.objects.get(pk=escalation.pk).state == EscalationState.OPEN


def test_a_controller_not_involved_gets_403(world, rule):
    escalation = raise_one(world, rule)
    response = api_client_for(world.a[Role.CONTROLLER].user).post(
        url("api_escalation_resolve", escalation_id=escalation.pk), {"comment": "x"},
        format="json")
    assert response.status_code == 403


def test_another_organisations_escalation_is_404(world):
    with scopes_disabled():
        theirs = EscalationFactory(rule__organization=world.org_b,
                                   initiative=InitiativeFactory(
                                       program__organization=world.org_b,
                                       program__portfolio__organization=world.org_b,
                                       owner=world.b_executive.user))
    client = admin(world)
    assert client.get(url("api_escalation_detail", escalation_id=theirs.pk)).status_code == 404
    for name in ("api_escalation_acknowledge", "api_escalation_resolve"):
        assert client.post(url(name, escalation_id=theirs.pk), {"comment": "x"},
                           format="json").status_code == 404
    assert theirs.pk not in {row["id"] for row in
                             client.get(url("api_escalation_list")).json()["results"]}

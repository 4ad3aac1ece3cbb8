"""Optimistic locking of governance objects (cat4.common.versioning): of two edits made
from the same read the first wins and the second writes nothing (StaleVersionError; 412
in the API; a form error or message on the page). A write without If-Match is 428."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from cat4.common.exceptions import StaleVersionError
from cat4.tenancy.models import Role
from governance import services
from governance.models import EscalationRule, GateCriterion
from tests.conftest import api_client_for, client_for
from tests.factories import EscalationRuleFactory

pytestmark = pytest.mark.django_db


def url(name, **kwargs):
    return reverse(name, kwargs={"org_slug": "acme", **kwargs})


def stored(rule) -> EscalationRule:
    with scopes_disabled():
        return EscalationRule.objects.get(pk=rule.pk)


# --- Escalation rules ---------------------------------------------------------------------


@pytest.fixture
def rule(world):
    with scopes_disabled():
        return EscalationRuleFactory(organization=world.org_a, name="Stale initiatives")


def test_a_rule_saved_from_a_stale_read_writes_nothing(world, rule):
    admin = world.a[Role.ADMIN].membership
    services.escalation_rule_update(membership=admin, rule_id=rule.pk, version=1,
                                    name="Stale for ten days")
    with pytest.raises(StaleVersionError) as exc:
        services.escalation_rule_update(membership=admin, rule_id=rule.pk, version=1,
                                        active=False)
    assert exc.value.status_code == 412
    assert exc.value.message.startswith("Someone else changed this rule since you opened it.")
    saved = stored(rule)
    assert (saved.name, saved.active, saved.version) == ("Stale for ten days", True, 2)


def test_api_rule_edits_from_one_read_one_wins(world, rule):
    path = url("api_escalation_rule_detail", rule_id=rule.pk)
    read = api_client_for(world.a[Role.EXECUTIVE].user).get(path)
    assert read["ETag"] == '"v1"' and read.json()["version"] == 1
    first, second = (api_client_for(world.a[Role.ADMIN].user) for _ in range(2))
    done = first.patch(path, {"name": "Stale for ten days"}, format="json",
                       HTTP_IF_MATCH='"v1"')
    late = second.patch(path, {"active": False}, format="json", HTTP_IF_MATCH='"v1"')
    assert done.status_code == 200 and done["ETag"] == '"v2"'
    assert late.status_code == 412
    assert late.json()["detail"].startswith("Someone else changed this rule")
    saved = stored(rule)
    assert (saved.name, saved.active) == ("Stale for ten days", True)


def test_api_rule_change_without_if_match_is_428(world, rule):
    response = api_client_for(world.a[Role.ADMIN].user).patch(
        url("api_escalation_rule_detail", rule_id=rule.pk), {"active": False}, format="json")
    assert response.status_code == 428
    assert stored(rule).active is True and stored(rule).version == 1


def test_rule_page_saved_from_a_stale_read_is_a_form_error(world, rule):
    first, second = (client_for(world.a[Role.ADMIN].user) for _ in range(2))
    form = {"name": "Stale initiatives", "condition": "stale", "promote_after_days": "5",
            "top_level": "3", "active": "on", "version": "1"}
    assert first.post(url("escalation_rule_edit", rule_id=rule.pk),
                      {**form, "threshold": "10"}).status_code == 302
    response = second.post(url("escalation_rule_edit", rule_id=rule.pk),
                           {**form, "threshold": "20"})
    assert response.status_code == 412
    body = response.content.decode()
    assert "Someone else changed this rule since you opened it." in body
    assert 'name="version" value="2"' in body  # save again against the current version
    assert stored(rule).threshold == Decimal("10.00")


def test_rule_switched_from_a_stale_list_is_not_changed(world, rule):
    client = client_for(world.a[Role.ADMIN].user)
    services.escalation_rule_update(membership=world.a[Role.ADMIN].membership,
                                    rule_id=rule.pk, version=1, name="Stale for ten days")
    response = client.post(url("escalation_rule_toggle", rule_id=rule.pk),
                           {"active": "false", "version": "1"}, follow=True)
    assert "was not changed: Someone else changed this rule" in response.content.decode()
    assert stored(rule).active is True


# --- Gate criteria ------------------------------------------------------------------------


@pytest.fixture
def criterion(world):
    with scopes_disabled():
        return GateCriterion.objects.filter(organization=world.org_a).first()


def test_api_criterion_switches_from_one_read_one_wins(world, criterion):
    client = api_client_for(world.a[Role.ADMIN].user)
    gates = client.get("/api/v1/o/acme/settings/gates/").json()
    read = next(c for g in gates for c in g["criteria"] if c["id"] == criterion.pk)
    assert read["version"] == 1
    path = f"/api/v1/o/acme/settings/gates/criteria/{criterion.pk}/"
    done = client.patch(path, {"active": False}, format="json", HTTP_IF_MATCH='"v1"')
    late = client.patch(path, {"active": True}, format="json", HTTP_IF_MATCH='"v1"')
    assert done.status_code == 200 and done["ETag"] == '"v2"'
    assert late.status_code == 412
    assert late.json()["detail"].startswith("Someone else changed this criterion")
    assert client.patch(path, {"active": True}, format="json").status_code == 428
    with scopes_disabled():
        criterion.refresh_from_db()
    assert (criterion.active, criterion.version) == (False, 2)


def test_criterion_switched_from_a_stale_page_is_not_changed(world, criterion):
    client = client_for(world.a[Role.ADMIN].user)
    assert 'name="version" value="1"' in client.get(url("governance_settings")).content.decode()
    services.gate_criterion_set_active(membership=world.a[Role.ADMIN].membership,
                                       criterion_id=criterion.pk, active=False, version=1)
    response = client.post(url("criterion_toggle", criterion_id=criterion.pk),
                           {"active": "false", "version": "1"}, follow=True)
    assert "The criterion was not changed: Someone else changed" in response.content.decode()
    with scopes_disabled():
        criterion.refresh_from_db()
    assert (criterion.active, criterion.version) == (False, 2)

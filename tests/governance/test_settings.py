"""Admins configure gates, value rules and the organisation's lists; bad input
is refused on the field and nothing is half-saved."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from cat4.common.exceptions import ApplicationError, PermissionDeniedError
from cat4.tenancy.models import Role
from governance import services
from governance.models import GateApprover, GateCriterion
from initiatives import services as initiative_services
from initiatives.models import BusinessUnit, Program, ValueSettings
from tests.conftest import client_for
from tests.governance.conftest import add_plan

pytestmark = pytest.mark.django_db


def test_a_checklist_item_then_blocks_the_gate_until_confirmed(world, initiative):
    admin = world.a[Role.ADMIN].membership
    item = services.gate_checklist_add(membership=admin, gate="detailed",
                                       label="Works council informed")
    add_plan(initiative)
    with pytest.raises(ApplicationError, match="Works council informed"):
        services.gate_submit(membership=world.a[Role.OWNER].membership,
                             initiative_id=initiative.pk)
    services.gate_submit(membership=world.a[Role.OWNER].membership,
                         initiative_id=initiative.pk, confirmed_checklist=[item.pk])


def test_switching_a_rule_off_lifts_it(world, initiative):
    admin = world.a[Role.ADMIN].membership
    with scopes_disabled():
        rule = GateCriterion.objects.get(organization=world.org_a, gate="detailed",
                                         rule="first_planned_value")
    services.gate_criterion_set_active(membership=admin, criterion_id=rule.pk, active=False)
    services.gate_submit(membership=world.a[Role.OWNER].membership,
                         initiative_id=initiative.pk)  # no planned value needed now


def test_approvers_need_at_least_one_role_and_take_effect(world, initiative):
    admin = world.a[Role.ADMIN].membership
    with pytest.raises(ApplicationError) as exc:
        services.gate_approvers_set(membership=admin, gate="detailed", roles=[])
    assert exc.value.field == "roles"
    services.gate_approvers_set(membership=admin, gate="detailed",
                                roles=["sponsor", "controller"])
    add_plan(initiative)
    submission = services.gate_submit(membership=world.a[Role.OWNER].membership,
                                      initiative_id=initiative.pk)
    with scopes_disabled():
        assert sorted(submission.approvals.values_list("role", flat=True)) == [
            "controller", "sponsor"]
        assert GateApprover.objects.filter(organization=world.org_a, gate="detailed").count() == 2


@pytest.mark.parametrize("role", [Role.EXECUTIVE, Role.CONTROLLER, Role.OWNER, Role.VIEWER])
def test_only_admins_configure(world, role):
    membership = world.a[role].membership
    with pytest.raises(PermissionDeniedError):
        services.gate_checklist_add(membership=membership, gate="detailed", label="x")
    with pytest.raises(PermissionDeniedError):
        initiative_services.value_settings_update(
            membership=membership, green_at=Decimal("0.9"), red_below=Decimal("0.8"),
            actuals_entry="owner")


@pytest.mark.parametrize(("green", "red", "field"), [
    ("0.80", "0.90", "red_below"), ("1.20", "0.85", "green_at"), ("0.95", "0", "red_below")])
def test_value_rules_refuse_nonsense_thresholds(world, green, red, field):
    with pytest.raises(ApplicationError) as exc:
        initiative_services.value_settings_update(
            membership=world.a[Role.ADMIN].membership, green_at=Decimal(green),
            red_below=Decimal(red), actuals_entry="owner")
    assert exc.value.field == field
    with scopes_disabled():
        assert not ValueSettings.objects.filter(organization=world.org_a).exists()


def test_settings_page_shows_threshold_errors_on_the_field(world):
    client = client_for(world.a[Role.ADMIN].user)
    response = client.post(reverse("value_settings_save", kwargs={"org_slug": "acme"}),
                           {"green_at": "80", "red_below": "90", "actuals_entry": "owner"})
    assert response.status_code == 400
    assert "Red must start below where green starts." in response.content.decode()
    response = client.post(reverse("value_settings_save", kwargs={"org_slug": "acme"}),
                           {"green_at": "97.5", "red_below": "90",
                            "actuals_entry": "controller"})
    assert response.status_code == 302
    with scopes_disabled():
        saved = ValueSettings.objects.get(organization=world.org_a)
    assert (saved.green_at, saved.red_below, saved.actuals_entry) == (
        Decimal("0.975"), Decimal("0.900"), "controller")


def test_lists_add_refuse_duplicates_and_keep_what_is_in_use(world):
    admin = world.a[Role.ADMIN].membership
    unit = initiative_services.list_item_create(membership=admin, kind="business_unit",
                                                name="Road freight")
    with pytest.raises(ApplicationError) as exc:
        initiative_services.list_item_create(membership=admin, kind="business_unit",
                                             name="Road freight")
    assert exc.value.field == "name"
    with scopes_disabled():
        program = Program.objects.get(pk=world.initiative.program_id)
    with pytest.raises(ApplicationError, match="still used"):
        initiative_services.list_item_delete(membership=admin, kind="program",
                                             item_id=program.pk)
    initiative_services.list_item_delete(membership=admin, kind="business_unit",
                                         item_id=unit.pk)
    with scopes_disabled():
        assert not BusinessUnit.objects.filter(pk=unit.pk).exists()


def test_a_program_needs_a_portfolio_of_this_org(world):
    admin = world.a[Role.ADMIN].membership
    with pytest.raises(ApplicationError) as exc:
        initiative_services.list_item_create(membership=admin, kind="program", name="X",
                                             portfolio=None)
    assert exc.value.field == "portfolio"


def test_a_new_organisation_starts_with_the_default_gates(db):
    from tests.factories import OrganizationFactory

    org = OrganizationFactory(slug="fresh-org")
    with scopes_disabled():
        rules = set(GateCriterion.objects.filter(organization=org)
                    .values_list("gate", "rule"))
        approvers = set(GateApprover.objects.filter(organization=org)
                        .values_list("gate", "role"))
    assert ("detailed", "first_planned_value") in rules and len(rules) == 8
    assert approvers == {("detailed", "sponsor"), ("decided", "sponsor"),
                         ("decided", "controller"), ("implemented", "sponsor"),
                         ("closed", "controller")}


def test_viewing_pages_writes_nothing(world):
    with scopes_disabled():
        GateCriterion.objects.filter(organization=world.org_a).delete()
    client = client_for(world.a[Role.ADMIN].user)
    for name, kwargs in (("initiative_detail", {"initiative_id": world.initiative.pk}),
                         ("governance_settings", {})):
        assert client.get(reverse(name, kwargs={"org_slug": "acme", **kwargs})
                          ).status_code == 200
    with scopes_disabled():
        assert not GateCriterion.objects.filter(organization=world.org_a).exists()


def test_settings_page_query_count_does_not_grow_with_the_lists(
        world, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(world.a[Role.ADMIN].user)
    url = reverse("governance_settings", kwargs={"org_slug": "acme"})
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    admin = world.a[Role.ADMIN].membership
    portfolio = initiative_services.list_item_create(membership=admin, kind="portfolio",
                                                     name="Extra portfolio")
    for n in range(15):
        initiative_services.list_item_create(membership=admin, kind="program",
                                             name=f"Program {n}", portfolio=portfolio.pk)
        initiative_services.list_item_create(membership=admin, kind="business_unit",
                                             name=f"Unit {n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200

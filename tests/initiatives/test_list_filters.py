"""The initiative list (page and API) filters by portfolio and business unit, alone and
with the other filters; an id of another organisation is a field error on the page and
a 400 in the API, never a lookup outside the organisation."""

import re
from types import SimpleNamespace

import pytest
from django_scopes import scopes_disabled

from cat4.tenancy.models import Role
from initiatives.models import BusinessUnit, Initiative, Portfolio
from tests.conftest import ORG_B_MARKER, api_client_for, client_for
from tests.factories import InitiativeFactory, ProgramFactory
from tests.initiatives.support import field_errors, org_url, page_text, selected_option

pytestmark = pytest.mark.django_db


@pytest.fixture
def land(world):
    """Org A: two portfolios and two business units over four initiatives; org B: a
    portfolio and a business unit of its own."""
    with scopes_disabled():
        org = world.org_a
        owner, admin = world.a[Role.OWNER].user, world.a[Role.ADMIN].user
        procurement = world.initiative.program
        operations = Portfolio.objects.create(organization=org, name="Acme Operations")
        warehousing = ProgramFactory(organization=org, portfolio=operations,
                                     name="Acme Warehousing")
        logistics = BusinessUnit.objects.create(organization=org, name="Logistics")
        finance = BusinessUnit.objects.create(organization=org, name="Finance")
        Initiative.objects.filter(pk=world.initiative.pk).update(business_unit=logistics)
        InitiativeFactory(program=warehousing, code="AC-201", title="Pallet pooling",
                          owner=admin, business_unit=logistics)
        InitiativeFactory(program=warehousing, code="AC-202", title="Energy deal",
                          owner=owner, business_unit=finance)
        InitiativeFactory(program=procurement, code="AC-203", title="Office supplies",
                          owner=admin)
        b_portfolio = Portfolio.objects.create(organization=world.org_b,
                                               name=f"{ORG_B_MARKER} portfolio")
        b_unit = BusinessUnit.objects.create(organization=world.org_b,
                                             name=f"{ORG_B_MARKER} unit")
        InitiativeFactory(program=ProgramFactory(organization=world.org_b,
                                                 portfolio=b_portfolio),
                          code="GX-001", title=f"{ORG_B_MARKER} secret",
                          owner=world.b_executive.user, business_unit=b_unit)
        return SimpleNamespace(
            world=world, procurement_portfolio=procurement.portfolio_id,
            operations=operations.pk, procurement=procurement.pk, warehousing=warehousing.pk,
            logistics=logistics.pk, finance=finance.pk, owner=owner.pk,
            b_portfolio=b_portfolio.pk, b_unit=b_unit.pk)


def page_codes(response) -> set[str]:
    assert response.status_code == 200
    return set(re.findall(r'/initiatives/\d+/">((?:AC|GX)-\d+)</a>', page_text(response)))


def api_codes(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["code"] for row in response.json()["results"]}


def page(land, params, *, htmx=False):
    client = client_for(land.world.a[Role.VIEWER].user)
    headers = {"HX-Request": "true"} if htmx else {}
    return client.get(org_url("initiative_list"), params, headers=headers)


def api(land, params):
    return api_client_for(land.world.a[Role.VIEWER].user).get(
        org_url("api_initiative_list"), params)


def cases(land):
    """(query, the codes it lists): the new filters alone and with the others."""
    return [
        ({}, {"AC-100", "AC-201", "AC-202", "AC-203"}),
        ({"portfolio": land.operations}, {"AC-201", "AC-202"}),
        ({"portfolio": land.procurement_portfolio}, {"AC-100", "AC-203"}),
        ({"business_unit": land.logistics}, {"AC-100", "AC-201"}),
        ({"business_unit": land.finance}, {"AC-202"}),
        ({"portfolio": land.operations, "business_unit": land.logistics}, {"AC-201"}),
        ({"portfolio": land.operations, "owner": land.owner}, {"AC-202"}),
        ({"portfolio": land.operations, "q": "energy"}, {"AC-202"}),
        ({"business_unit": land.logistics, "program": land.procurement}, {"AC-100"}),
        ({"business_unit": land.logistics, "stage": "identified", "sort": "-target"},
         {"AC-100", "AC-201"}),
        ({"business_unit": land.logistics, "stage": "decided"}, set()),
        ({"portfolio": land.procurement_portfolio, "program": land.warehousing}, set()),
    ]


def test_list_page_filters_by_portfolio_and_business_unit(land):
    for params, codes in cases(land):
        assert page_codes(page(land, params)) == codes, params
        # The htmx swap (results only) lists the same.
        swap = page(land, params, htmx=True)
        assert b"<html" not in swap.content
        assert page_codes(swap) == codes, params


def test_api_list_filters_as_the_page_does(land):
    for params, codes in cases(land):
        assert api_codes(api(land, params)) == codes, params


def test_list_page_keeps_the_new_filters_in_the_bar_and_the_links(land):
    params = {"portfolio": land.operations, "business_unit": land.logistics}
    response = page(land, params)
    assert selected_option(response, "portfolio") == str(land.operations)
    assert selected_option(response, "business_unit") == str(land.logistics)
    body = page_text(response)
    query = f"portfolio={land.operations}&business_unit={land.logistics}"
    assert f"exports/initiatives.xlsx?{query}" in body
    assert f"exports/initiatives.csv?{query}" in body
    # Only the organisation's own portfolios and units are offered.
    assert "Acme Operations" in body and "Finance" in body
    assert ORG_B_MARKER not in body


@pytest.mark.parametrize("field", ["portfolio", "business_unit", "program", "owner"])
def test_list_page_shows_a_foreign_id_as_a_field_error(land, field):
    foreign = {"portfolio": land.b_portfolio, "business_unit": land.b_unit,
               "program": None, "owner": land.world.b_executive.user.pk}[field]
    if foreign is None:
        with scopes_disabled():
            foreign = Initiative.objects.get(code="GX-001").program_id
    response = page(land, {field: foreign, "stage": "identified"})
    assert response.status_code == 200
    assert any("Select a valid choice" in e for e in field_errors(response, field))
    body = page_text(response)
    assert ORG_B_MARKER not in body and "GX-001" not in body
    # The invalid filter is left out (the others still apply), in the rows and in the
    # export links, which would otherwise answer 400.
    assert page_codes(response) == {"AC-100", "AC-201", "AC-202", "AC-203"}
    assert f"{field}={foreign}" not in body
    assert "exports/initiatives.csv?stage=identified" in body


@pytest.mark.parametrize("field", ["portfolio", "business_unit", "program", "owner"])
def test_api_list_answers_400_on_a_foreign_or_malformed_id(land, field):
    foreign = {"portfolio": land.b_portfolio, "business_unit": land.b_unit,
               "program": None, "owner": land.world.b_executive.user.pk}[field]
    if foreign is None:
        with scopes_disabled():
            foreign = Initiative.objects.get(code="GX-001").program_id
    for value in (foreign, "abc", "999999"):
        response = api(land, {field: value})
        assert response.status_code == 400, (field, value)
        body = response.json()
        assert list(body) == [field] and "Select a valid choice" in body[field][0]
        assert ORG_B_MARKER not in response.content.decode()


def test_api_list_refuses_an_unknown_stage_and_keeps_its_sorts(land):
    response = api(land, {"stage": "nonsense"})
    assert response.status_code == 400 and "stage" in response.json()
    # The API sorts by keys the page does not offer.
    listed = api(land, {"business_unit": land.logistics, "sort": "-code"}).json()["results"]
    assert [row["code"] for row in listed] == ["AC-201", "AC-100"]

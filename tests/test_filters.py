"""The portfolio filters, declared once (``initiatives.filters``, ``reporting.filters``):
choices scoped to the organisation the filter set is made for, a foreign or unknown id
a field error, the same filter on the list page, the initiatives API and the export,
the board pack's ids checked by the shared filters, and the API's query parameters
generated from the filter sets."""

import csv
import io
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django_scopes import scope, scopes_disabled
from drf_spectacular.generators import SchemaGenerator

from cat4.common.api import filterset_parameters
from cat4.common.exceptions import ApplicationError
from cat4.tenancy.models import Membership, Role
from initiatives.filters import InitiativeFilterSet, PlaceFilterSet
from initiatives.models import BusinessUnit, Portfolio, Program, Stage
from reporting import boardpack
from reporting.filters import DashboardAsOfFilterSet, DashboardFilterSet, DrillFilterSet
from reporting.models import InitiativeYearValue
from tests.conftest import ORG_B_MARKER, api_client_for, client_for
from tests.factories import InitiativeFactory, ProgramFactory

pytestmark = pytest.mark.django_db

INVALID = "Select a valid choice"


@pytest.fixture
def land(world):
    """Org A: a second program with an initiative of the admin's; org B: a portfolio,
    program, business unit and initiative of its own, and values in a fiscal year."""
    with scopes_disabled():
        warehousing = ProgramFactory(organization=world.org_a,
                                     portfolio__organization=world.org_a,
                                     name="Acme Warehousing")
        InitiativeFactory(program=warehousing, code="AC-201", title="Pallet pooling",
                          owner=world.a[Role.ADMIN].user)
        b_program = ProgramFactory(organization=world.org_b,
                                   portfolio__organization=world.org_b,
                                   portfolio__name=f"{ORG_B_MARKER} portfolio",
                                   name=f"{ORG_B_MARKER} program")
        b_unit = BusinessUnit.objects.create(organization=world.org_b,
                                             name=f"{ORG_B_MARKER} unit")
        b_initiative = InitiativeFactory(program=b_program, code="GX-001",
                                         title=f"{ORG_B_MARKER} secret",
                                         owner=world.b_executive.user, business_unit=b_unit)
        InitiativeYearValue.objects.create(organization=world.org_b, initiative=b_initiative,
                                           fiscal_year=2031)
        unit = BusinessUnit.objects.create(organization=world.org_a, name="Logistics")
    return SimpleNamespace(world=world, warehousing=warehousing.pk, unit=unit.pk, foreign={
        "portfolio": b_program.portfolio_id, "program": b_program.pk,
        "business_unit": b_unit.pk, "owner": world.b_executive.user.pk})


def test_choices_are_the_organisations_own(land):
    world = land.world
    for org in (world.org_a, world.org_b):
        with scope(organization=org):
            fields = DashboardFilterSet(organization=org).form.fields
            for name, model in (("portfolio", Portfolio), ("program", Program),
                                ("business_unit", BusinessUnit)):
                with scopes_disabled():
                    own = set(model.objects.filter(organization=org)
                              .values_list("pk", flat=True))
                assert {row.pk for row in fields[name].queryset} == own, (org, name)
            with scopes_disabled():
                members = set(Membership.objects.filter(organization=org)
                              .values_list("user_id", flat=True))
            assert {user.pk for user in fields["owner"].queryset} == members
    # The consultant belongs to both; org B's executive to org B only.
    with scope(organization=world.org_a):
        owners = DashboardFilterSet(organization=world.org_a).form.fields["owner"].queryset
        assert world.consultant in owners and world.b_executive.user not in owners
        # A fiscal year with values in org B only is not offered in org A.
        years = dict(DashboardFilterSet(organization=world.org_a)
                     .form.fields["fiscal_year"].choices)
        assert 2031 not in years
    with scope(organization=world.org_b):
        years = dict(DashboardFilterSet(organization=world.org_b)
                     .form.fields["fiscal_year"].choices)
        assert 2031 in years


@pytest.mark.parametrize("filterset_class", [PlaceFilterSet, InitiativeFilterSet,
                                             DashboardAsOfFilterSet, DrillFilterSet])
@pytest.mark.parametrize("field", ["portfolio", "program", "business_unit", "owner"])
def test_a_foreign_or_unknown_id_is_an_error_on_that_field(land, filterset_class, field):
    org = land.world.org_a
    with scope(organization=org):
        for value in (land.foreign[field], "abc", "999999"):
            filterset = filterset_class({field: value}, organization=org)
            assert not filterset.is_valid()
            assert list(filterset.errors) == [field]
            assert INVALID in filterset.errors[field][0]
            # Left out; what is valid still applies.
            assert filterset.value(field) is None and field not in filterset.ids()
        other = "business_unit" if field == "program" else "program"
        own = {"program": land.warehousing, "business_unit": land.unit}[other]
        mixed = filterset_class({field: land.foreign[field], other: own}, organization=org)
        assert mixed.ids() == {other: own}


def _page_codes(response) -> set[str]:
    assert response.status_code == 200
    rows = response.context["rows"]
    return {initiative.code for initiative, _totals, _freshness in rows}


def _api_codes(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["code"] for row in response.json()["results"]}


def _csv_codes(response) -> set[str]:
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return {row[0] for row in list(csv.reader(io.StringIO(text)))[1:]}


def test_the_same_filter_on_the_page_the_api_and_the_export(land):
    world = land.world
    user = world.a[Role.EXECUTIVE].user  # may export
    page, api = client_for(user), api_client_for(user)
    slug = {"org_slug": world.org_a.slug}
    urls = (reverse("initiative_list", kwargs=slug), reverse("api_initiative_list", kwargs=slug),
            reverse("export_initiatives_csv", kwargs=slug),
            reverse("api_export_initiatives_csv", kwargs=slug))
    for params, codes in (({}, {"AC-100", "AC-201"}),
                          ({"program": land.warehousing}, {"AC-201"}),
                          ({"owner": world.a[Role.ADMIN].user.pk}, {"AC-201"}),
                          ({"q": "pallet", "stage": "identified"}, {"AC-201"}),
                          ({"program": land.warehousing, "stage": "decided"}, set())):
        assert _page_codes(page.get(urls[0], params)) == codes, params
        assert _api_codes(api.get(urls[1], params)) == codes, params
        assert _csv_codes(page.get(urls[2], params)) == codes, params
        assert _csv_codes(api.get(urls[3], params)) == codes, params
    # A foreign id: a field error on the page (the rest still applies), 400 elsewhere.
    params = {"program": land.foreign["program"], "q": "pallet"}
    response = page.get(urls[0], params)
    assert _page_codes(response) == {"AC-201"}
    assert INVALID in response.context["form"].errors["program"][0]
    for client, url in ((api, urls[1]), (page, urls[2]), (api, urls[3])):
        refused = client.get(url, params)
        assert refused.status_code == 400, url
        assert ORG_B_MARKER not in refused.content.decode()


def test_the_board_pack_checks_its_ids_with_the_shared_filters(land):
    world = land.world
    org = world.org_a
    with scope(organization=org):
        for field, foreign in land.foreign.items():
            with pytest.raises(ApplicationError) as refused:
                boardpack.clean_filters({field: foreign}, organization=org)
            assert refused.value.field == field and INVALID in refused.value.message
        program = Program.objects.get(pk=land.warehousing)
        assert boardpack.clean_filters(
            {"program": program, "owner": str(world.a[Role.ADMIN].user.pk),
             "fiscal_year": "2030", "bogus": 1, "portfolio": ""}, organization=org) == {
            "program": program.pk, "owner": world.a[Role.ADMIN].user.pk, "fiscal_year": 2030}
        with pytest.raises(ApplicationError) as refused:
            boardpack.clean_filters({"fiscal_year": 1999}, organization=org)
        assert refused.value.field == "fiscal_year"


def test_the_api_parameters_are_generated_from_the_filter_sets():
    params = {p.name: p for p in filterset_parameters(DrillFilterSet)}
    assert list(params) == ["portfolio", "program", "business_unit", "owner", "fiscal_year",
                            "stage", "schedule_rag", "financial_rag", "stale", "variance",
                            "escalation_level"]
    assert params["stage"].enum == Stage.values
    assert params["escalation_level"].enum == [1, 2, 3]
    assert params["fiscal_year"].enum is None  # the organisation's years
    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]
    operations = {
        "/api/v1/o/{org_slug}/dashboard/": DashboardAsOfFilterSet,
        "/api/v1/o/{org_slug}/dashboard/initiatives/": DrillFilterSet,
        "/api/v1/o/{org_slug}/exports/initiatives.csv": InitiativeFilterSet,
        "/api/v1/o/{org_slug}/exports/initiatives.xlsx": InitiativeFilterSet,
        "/api/v1/o/{org_slug}/initiatives/": InitiativeFilterSet,
    }
    for path, filterset_class in operations.items():
        query = {p["name"]: p for p in paths[path]["get"]["parameters"] if p["in"] == "query"}
        for name in filterset_class.base_filters:
            assert name in query, (path, name)
        for name in ("portfolio", "program", "business_unit", "owner"):
            assert query[name]["schema"]["type"] == "integer", (path, name)
        if "as_of" in query:
            assert query["as_of"]["schema"] == {"type": "string", "format": "date"}

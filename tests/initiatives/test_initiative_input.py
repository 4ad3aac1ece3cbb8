"""Creating and editing initiatives: every bad input is refused on its field and
nothing is saved, through the services and through the pages."""

import datetime as dt

import pytest
from django_scopes import scopes_disabled

from cat4.common.exceptions import ApplicationError, PermissionDeniedError
from cat4.tenancy.models import Role
from initiatives import services
from initiatives.models import BusinessUnit, Function, Initiative, StrategicObjective
from tests.conftest import client_for
from tests.factories import InitiativeFactory, MembershipFactory, ProgramFactory, UserFactory
from tests.initiatives.support import (
    field_errors,
    input_value,
    org_url,
    page_text,
    selected_option,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def foreign(world):
    """Rows of org B that must never be accepted in org A."""
    with scopes_disabled():
        program = ProgramFactory(organization=world.org_b, portfolio__organization=world.org_b,
                                 name="Globex program")
        return {
            "program": program,
            "business_unit": BusinessUnit.objects.create(organization=world.org_b,
                                                         name="Globex BU"),
            "function": Function.objects.create(organization=world.org_b, name="Globex IT"),
            "objective": StrategicObjective.objects.create(organization=world.org_b,
                                                           code="G-1", title="Globex goal"),
            "initiative": InitiativeFactory(program=program, code="GX-001",
                                            owner=world.b_executive.user),
        }


def valid_create(world, **overrides) -> dict:
    values = {
        "code": "AC-200", "title": "Warehouse consolidation",
        "program": world.initiative.program, "owner": world.a[Role.OWNER].user,
        "sponsor": world.a[Role.EXECUTIVE].user, "controller": world.a[Role.CONTROLLER].user,
        "start_date": dt.date(2026, 1, 1), "target_date": dt.date(2026, 12, 31),
    }
    values.update(overrides)
    return values


def initiative_count() -> int:
    with scopes_disabled():
        return Initiative.objects.count()


# --- Services ---------------------------------------------------------------------


def test_create_with_valid_input_saves(world):
    created = services.initiative_create(membership=world.a[Role.ADMIN].membership,
                                         **valid_create(world))
    with scopes_disabled():
        saved = Initiative.objects.get(pk=created.pk)
    assert (saved.organization_id, saved.code, saved.stage, saved.version) == (
        world.org_a.pk, "AC-200", "identified", 1)


BAD_CREATE = [
    ("empty code", {"code": ""}, "code", "Give the initiative a code"),
    ("blank code", {"code": "   "}, "code", "Give the initiative a code"),
    ("empty title", {"title": ""}, "title", "Give the initiative a title"),
    ("blank title", {"title": " \t"}, "title", "Give the initiative a title"),
    ("duplicate code", {"code": "AC-100"}, "code", "The code AC-100 is already used"),
    ("duplicate code with spaces", {"code": " AC-100 "}, "code", "already used"),
    ("target before start", {"start_date": dt.date(2026, 6, 1),
                             "target_date": dt.date(2026, 5, 31)},
     "target_date", "must not be before the start date"),
    ("no owner", {"owner": None}, "owner", "Choose a person"),
    ("no program", {"program": None}, "program", "required"),
    ("start not a date", {"start_date": "2026-01-01"}, "start_date", "Enter a date"),
]


@pytest.mark.parametrize(("case", "overrides", "field", "message"), BAD_CREATE,
                         ids=[c[0] for c in BAD_CREATE])
def test_create_refuses_bad_input_on_its_field(world, case, overrides, field, message):
    before = initiative_count()
    with pytest.raises(ApplicationError) as exc:
        services.initiative_create(membership=world.a[Role.ADMIN].membership,
                                   **valid_create(world, **overrides))
    assert exc.value.field == field
    assert message in exc.value.message
    assert exc.value.status_code == 400
    assert initiative_count() == before


FOREIGN_FIELDS = [
    ("program", "program", "program"),
    ("owner", "owner", "b_executive"),
    ("sponsor", "sponsor", "b_executive"),
    ("controller", "controller", "b_executive"),
    ("business_unit", "business_unit", "business_unit"),
    ("function", "function", "function"),
]


@pytest.mark.parametrize(("field", "error_field", "what"), FOREIGN_FIELDS,
                         ids=[f[0] for f in FOREIGN_FIELDS])
def test_create_refuses_rows_of_another_org(world, foreign, field, error_field, what):
    value = world.b_executive.user if what == "b_executive" else foreign[what]
    before = initiative_count()
    with pytest.raises(ApplicationError) as exc:
        services.initiative_create(membership=world.a[Role.ADMIN].membership,
                                   **valid_create(world, **{field: value}))
    assert exc.value.field == error_field
    assert "of this organisation" in exc.value.message
    assert initiative_count() == before


def test_create_refuses_ids_of_another_org_too(world, foreign):
    # The API passes primary keys, not instances.
    for field, value in (("program", foreign["program"].pk),
                         ("owner", world.b_executive.user.pk),
                         ("business_unit", foreign["business_unit"].pk)):
        with pytest.raises(ApplicationError) as exc:
            services.initiative_create(membership=world.a[Role.ADMIN].membership,
                                       **valid_create(world, **{field: value}))
        assert exc.value.field == field


def test_create_refuses_an_objective_of_another_org(world, foreign):
    before = initiative_count()
    with pytest.raises(ApplicationError) as exc:
        services.initiative_create(membership=world.a[Role.ADMIN].membership,
                                   objectives=[foreign["objective"]], **valid_create(world))
    assert exc.value.field == "objectives"
    assert initiative_count() == before  # the initiative row is rolled back too


def test_create_refuses_an_owner_who_is_not_a_member(world):
    stranger = UserFactory(email="stranger@nowhere.test")
    with pytest.raises(ApplicationError) as exc:
        services.initiative_create(membership=world.a[Role.ADMIN].membership,
                                   **valid_create(world, owner=stranger))
    assert exc.value.field == "owner"
    assert exc.value.message == "Choose a member of this organisation."


def test_duplicate_code_is_allowed_in_another_org(world, foreign):
    with scopes_disabled():
        b_admin = MembershipFactory(organization=world.org_b, role=Role.ADMIN,
                                    user=UserFactory(email="admin@globex.test"))
    created = services.initiative_create(
        membership=b_admin, code="AC-100", title="Same code, other tenant",
        program=foreign["program"], owner=b_admin.user, start_date=dt.date(2026, 1, 1),
        target_date=dt.date(2026, 3, 31))
    assert created.organization_id == world.org_b.pk
    with scopes_disabled():
        assert Initiative.objects.filter(code="AC-100").count() == 2


def test_owner_creates_only_initiatives_they_own(world):
    owner = world.a[Role.OWNER]
    before = initiative_count()
    with pytest.raises(ApplicationError) as exc:
        services.initiative_create(membership=owner.membership,
                                   **valid_create(world, owner=world.a[Role.ADMIN].user))
    assert exc.value.field == "owner"
    assert initiative_count() == before
    created = services.initiative_create(membership=owner.membership,
                                         **valid_create(world, owner=owner.user))
    assert created.owner_id == owner.user.pk


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EXECUTIVE, Role.CONTROLLER])
def test_only_admins_and_owners_create(world, role):
    persona = world.a[role]
    before = initiative_count()
    with pytest.raises(PermissionDeniedError):
        services.initiative_create(membership=persona.membership,
                                   **valid_create(world, owner=persona.user))
    assert initiative_count() == before


def snapshot(initiative_id) -> tuple:
    with scopes_disabled():
        i = Initiative.objects.get(pk=initiative_id)
        return (i.code, i.title, i.program_id, i.owner_id, i.sponsor_id, i.controller_id,
                i.business_unit_id, i.function_id, i.start_date, i.target_date, i.version)


BAD_UPDATE = [
    ("empty code", {"code": ""}, "code"),
    ("empty title", {"title": "  "}, "title"),
    ("duplicate code", {"code": "AC-101"}, "code"),
    ("target before start", {"target_date": dt.date(2025, 12, 31)}, "target_date"),
    ("start after target", {"start_date": dt.date(2028, 1, 1)}, "target_date"),
    ("owner cleared", {"owner": None}, "owner"),
]


@pytest.mark.parametrize(("case", "changes", "field"), BAD_UPDATE,
                         ids=[c[0] for c in BAD_UPDATE])
def test_update_refuses_bad_input_and_writes_nothing(world, case, changes, field):
    with scopes_disabled():
        InitiativeFactory(program=world.initiative.program, code="AC-101",
                          owner=world.a[Role.OWNER].user)
    before = snapshot(world.initiative.pk)
    with pytest.raises(ApplicationError) as exc:
        services.initiative_update(membership=world.a[Role.ADMIN].membership,
                                   initiative_id=world.initiative.pk, version=1, **changes)
    assert exc.value.field == field
    assert snapshot(world.initiative.pk) == before


@pytest.mark.parametrize("field", [f[0] for f in FOREIGN_FIELDS])
def test_update_refuses_rows_of_another_org(world, foreign, field):
    value = (world.b_executive.user if field in {"owner", "sponsor", "controller"}
             else foreign[field])
    before = snapshot(world.initiative.pk)
    with pytest.raises(ApplicationError) as exc:
        services.initiative_update(membership=world.a[Role.ADMIN].membership,
                                   initiative_id=world.initiative.pk, version=1,
                                   **{field: value})
    assert exc.value.field == field
    assert snapshot(world.initiative.pk) == before


def test_update_cannot_reach_an_initiative_of_another_org(world, foreign):
    with pytest.raises(ApplicationError) as exc:
        services.initiative_update(membership=world.a[Role.ADMIN].membership,
                                   initiative_id=foreign["initiative"].pk, version=1,
                                   title="Hijacked")
    assert exc.value.status_code == 404
    with scopes_disabled():
        assert Initiative.objects.get(pk=foreign["initiative"].pk).title != "Hijacked"


def test_only_an_admin_hands_an_initiative_to_another_owner(world):
    before = snapshot(world.initiative.pk)
    with pytest.raises(ApplicationError) as exc:
        services.initiative_update(membership=world.a[Role.OWNER].membership,
                                   initiative_id=world.initiative.pk, version=1,
                                   owner=world.consultant)
    assert exc.value.field == "owner"
    assert snapshot(world.initiative.pk) == before
    updated = services.initiative_update(membership=world.a[Role.ADMIN].membership,
                                         initiative_id=world.initiative.pk, version=1,
                                         owner=world.consultant)
    assert (updated.owner_id, updated.version) == (world.consultant.pk, 2)


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EXECUTIVE, Role.CONTROLLER])
def test_non_editors_cannot_update(world, role):
    before = snapshot(world.initiative.pk)
    with pytest.raises(PermissionDeniedError):
        services.initiative_update(membership=world.a[role].membership,
                                   initiative_id=world.initiative.pk, version=1, title="Mine")
    assert snapshot(world.initiative.pk) == before


def test_another_owner_cannot_update(world):
    # The consultant holds the owner role in org A but does not own AC-100.
    with scopes_disabled():
        consultant = world.consultant.memberships.get(organization=world.org_a)
    with pytest.raises(PermissionDeniedError):
        services.initiative_update(membership=consultant, initiative_id=world.initiative.pk,
                                   version=1, title="Mine")


# --- Pages --------------------------------------------------------------------------


def form_data(world, **overrides) -> dict:
    data = {
        "code": "AC-300", "title": "Energy contract renewal", "description": "Lower tariffs",
        "program": str(world.initiative.program.pk), "owner": str(world.a[Role.OWNER].user.pk),
        "sponsor": str(world.a[Role.EXECUTIVE].user.pk),
        "controller": str(world.a[Role.CONTROLLER].user.pk),
        "start_date": "2026-02-01", "target_date": "2026-11-30",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_create_page_saves_and_redirects(world):
    response = client_for(world.a[Role.ADMIN].user).post(org_url("initiative_create"),
                                                         form_data(world))
    assert response.status_code == 302
    with scopes_disabled():
        created = Initiative.objects.get(organization=world.org_a, code="AC-300")
    assert response["Location"] == org_url("initiative_detail", initiative_id=created.pk)
    assert created.sponsor_id == world.a[Role.EXECUTIVE].user.pk


def test_create_page_shows_inputs_to_an_owner_with_themselves_as_owner(world):
    response = client_for(world.a[Role.OWNER].user).get(org_url("initiative_create"))
    assert response.status_code == 200
    assert selected_option(response, "owner") == str(world.a[Role.OWNER].user.pk)


def _page_cases(world, foreign):
    return [
        ("empty code", {"code": ""}, "code", "This field is required."),
        ("empty title", {"title": ""}, "title", "This field is required."),
        ("duplicate code", {"code": "AC-100"}, "code",
         "The code AC-100 is already used in this organisation."),
        ("target before start", {"target_date": "2026-01-31"}, "target_date",
         "The target date must not be before the start date."),
        ("program of org B", {"program": str(foreign["program"].pk)}, "program",
         "Select a valid choice"),
        ("owner of org B", {"owner": str(world.b_executive.user.pk)}, "owner",
         "Select a valid choice"),
        ("sponsor of org B", {"sponsor": str(world.b_executive.user.pk)}, "sponsor",
         "Select a valid choice"),
        ("controller of org B", {"controller": str(world.b_executive.user.pk)}, "controller",
         "Select a valid choice"),
        ("business unit of org B", {"business_unit": str(foreign["business_unit"].pk)},
         "business_unit", "Select a valid choice"),
        ("function of org B", {"function": str(foreign["function"].pk)}, "function",
         "Select a valid choice"),
        ("owner not a member",
         {"owner": str(UserFactory(email="loner@nowhere.test").pk)}, "owner",
         "Select a valid choice"),
    ]


PAGE_CASE_IDS = ["empty code", "empty title", "duplicate code", "target before start",
                 "program of org B", "owner of org B", "sponsor of org B",
                 "controller of org B", "business unit of org B", "function of org B",
                 "owner not a member"]


@pytest.mark.parametrize("case", PAGE_CASE_IDS)
def test_create_page_shows_the_error_on_the_field_and_keeps_input(world, foreign, case):
    _, overrides, field, message = next(c for c in _page_cases(world, foreign) if c[0] == case)
    before = initiative_count()
    data = form_data(world, **overrides)
    response = client_for(world.a[Role.ADMIN].user).post(org_url("initiative_create"), data)
    assert response.status_code == 400
    assert any(message in e for e in field_errors(response, field)), page_text(response)
    # The user's other input is kept.
    for name in ("code", "title", "start_date", "target_date"):
        if name != field:
            assert input_value(response, name) == data[name]
    assert "Lower tariffs" in page_text(response)
    if field != "controller":
        assert selected_option(response, "controller") == data["controller"]
    assert initiative_count() == before


def test_owner_creating_for_someone_else_is_refused_on_the_owner_field(world):
    data = form_data(world, owner=str(world.a[Role.ADMIN].user.pk))
    response = client_for(world.a[Role.OWNER].user).post(org_url("initiative_create"), data)
    assert response.status_code == 400
    assert field_errors(response, "owner") == [
        "Owners create initiatives that they own themselves."]
    assert input_value(response, "code") == "AC-300"
    assert selected_option(response, "owner") == str(world.a[Role.ADMIN].user.pk)
    assert initiative_count() == 1


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EXECUTIVE, Role.CONTROLLER])
def test_create_page_is_forbidden_to_non_creators(world, role):
    client = client_for(world.a[role].user)
    assert client.get(org_url("initiative_create")).status_code == 403
    data = form_data(world, owner=str(world.a[role].user.pk))
    assert client.post(org_url("initiative_create"), data).status_code == 403
    assert initiative_count() == 1


def test_list_offers_new_initiative_only_to_creators(world):
    url = org_url("initiative_list")
    assert "New initiative" in page_text(client_for(world.a[Role.OWNER].user).get(url))
    assert "New initiative" not in page_text(client_for(world.a[Role.VIEWER].user).get(url))


def edit_data(world, **overrides) -> dict:
    i = world.initiative
    values = {"code": i.code, "title": i.title, "description": "", "start_date": "2026-01-01",
              "target_date": "2027-12-31", "version": "1", **overrides}
    return form_data(world, **values)


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"code": ""}, "code", "This field is required."),
    ({"code": "AC-101"}, "code", "The code AC-101 is already used in this organisation."),
    ({"target_date": "2025-12-31"}, "target_date",
     "The target date must not be before the start date."),
    ({"sponsor": "__b_executive__"}, "sponsor", "Select a valid choice"),
], ids=["empty code", "duplicate code", "target before start", "sponsor of org B"])
def test_edit_page_shows_the_error_on_the_field_and_keeps_input(world, overrides, field,
                                                                message):
    with scopes_disabled():
        InitiativeFactory(program=world.initiative.program, code="AC-101",
                          owner=world.a[Role.OWNER].user)
    overrides = {k: (str(world.b_executive.user.pk) if v == "__b_executive__" else v)
                 for k, v in overrides.items()}
    data = edit_data(world, title="A better title", **overrides)
    before = snapshot(world.initiative.pk)
    response = client_for(world.a[Role.OWNER].user).post(
        org_url("initiative_edit", initiative_id=world.initiative.pk), data)
    assert response.status_code == 400
    assert any(message in e for e in field_errors(response, field)), page_text(response)
    assert input_value(response, "title") == "A better title"
    assert snapshot(world.initiative.pk) == before


def test_owner_cannot_hand_over_through_the_edit_page(world):
    data = edit_data(world, owner=str(world.a[Role.ADMIN].user.pk))
    response = client_for(world.a[Role.OWNER].user).post(
        org_url("initiative_edit", initiative_id=world.initiative.pk), data)
    assert response.status_code == 400
    assert field_errors(response, "owner") == [
        "Only an admin can hand an initiative to another owner."]


def test_edit_page_saves_and_redirects(world):
    data = edit_data(world, title="Freight tender 2026")
    response = client_for(world.a[Role.OWNER].user).post(
        org_url("initiative_edit", initiative_id=world.initiative.pk), data)
    assert response.status_code == 302
    world.initiative.refresh_from_db()
    assert (world.initiative.title, world.initiative.version) == ("Freight tender 2026", 2)


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EXECUTIVE, Role.CONTROLLER])
def test_edit_page_is_forbidden_to_non_editors(world, role):
    client = client_for(world.a[role].user)
    url = org_url("initiative_edit", initiative_id=world.initiative.pk)
    assert client.get(url).status_code == 403
    assert client.post(url, edit_data(world, title="Mine")).status_code == 403
    world.initiative.refresh_from_db()
    assert world.initiative.title == "Acme freight tender"


def test_edit_page_of_another_orgs_initiative_is_404(world, foreign):
    client = client_for(world.a[Role.ADMIN].user)
    url = org_url("initiative_edit", initiative_id=foreign["initiative"].pk)
    assert client.get(url).status_code == 404
    assert client.post(url, edit_data(world, title="Hijacked")).status_code == 404

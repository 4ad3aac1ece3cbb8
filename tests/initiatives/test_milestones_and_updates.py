"""Milestones and status updates: input rules, who may change them, and other
organisations' rows staying out of reach, through the services and the pages."""

import datetime as dt

import pytest
from django_scopes import scopes_disabled

from cat4.common.exceptions import ApplicationError, PermissionDeniedError
from cat4.tenancy.models import Role
from initiatives import services
from initiatives.models import Milestone, StatusUpdate
from tests.conftest import client_for
from tests.factories import InitiativeFactory, MilestoneFactory, ProgramFactory
from tests.initiatives.support import field_errors, flashed, input_value, org_url, page_text

pytestmark = pytest.mark.django_db

DUE = dt.date(2026, 6, 30)


@pytest.fixture
def milestone(world):
    with scopes_disabled():
        return MilestoneFactory(initiative=world.initiative, title="Tender issued",
                                due_date=DUE, weight=10)


@pytest.fixture
def foreign_milestone(world):
    with scopes_disabled():
        program = ProgramFactory(organization=world.org_b, portfolio__organization=world.org_b)
        initiative = InitiativeFactory(program=program, owner=world.b_executive.user)
        return MilestoneFactory(initiative=initiative, title="Globex milestone")


def milestones() -> list[tuple]:
    with scopes_disabled():
        return list(Milestone.objects.order_by("id").values_list(
            "title", "due_date", "done_date", "weight", "waived", "waiver_reason"))


def create(persona, initiative, **kwargs):
    values = {"title": "Contract signed", "due_date": DUE, **kwargs}
    return services.milestone_create(membership=persona.membership,
                                     initiative_id=initiative.pk, **values)


# --- Milestone services --------------------------------------------------------------------


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"waived": True}, "waiver_reason"),
    ({"waived": True, "waiver_reason": "   "}, "waiver_reason"),
    ({"weight": -1}, "weight"),
    ({"weight": 101}, "weight"),
    ({"weight": "5"}, "weight"),
    ({"weight": True}, "weight"),
    ({"title": " "}, "title"),
    ({"due_date": None}, "due_date"),
    ({"done_date": "2026-01-01"}, "done_date"),
], ids=["waived without reason", "waived with blank reason", "weight below 0",
        "weight above 100", "weight as text", "weight as bool", "blank title", "no due date",
        "done date not a date"])
def test_milestone_create_refuses_bad_input(world, kwargs, field):
    with pytest.raises(ApplicationError) as exc:
        create(world.a[Role.OWNER], world.initiative, **kwargs)
    assert exc.value.field == field
    assert milestones() == []


@pytest.mark.parametrize("weight", [0, 100])
def test_weight_bounds_are_allowed(world, weight):
    created = create(world.a[Role.OWNER], world.initiative, weight=weight)
    assert created.weight == weight


def test_waived_with_reason_is_kept_and_reason_dropped_when_not_waived(world):
    waived = create(world.a[Role.OWNER], world.initiative, waived=True,
                    waiver_reason=" Supplier went bankrupt ")
    assert (waived.waived, waived.waiver_reason) == (True, "Supplier went bankrupt")
    plain = create(world.a[Role.OWNER], world.initiative, waiver_reason="not waived")
    assert (plain.waived, plain.waiver_reason) == (False, "")


@pytest.mark.parametrize(("changes", "field"), [
    ({"waived": True}, "waiver_reason"),
    ({"weight": 101}, "weight"),
    ({"title": ""}, "title"),
    ({"colour": "red"}, None),
])
def test_milestone_update_refuses_bad_input_and_keeps_the_row(world, milestone, changes,
                                                              field):
    before = milestones()
    with pytest.raises(ApplicationError) as exc:
        services.milestone_update(membership=world.a[Role.OWNER].membership,
                                  milestone_id=milestone.pk, **changes)
    assert exc.value.field == field
    assert milestones() == before


def test_unwaiving_clears_the_reason(world, milestone):
    owner = world.a[Role.OWNER].membership
    services.milestone_update(membership=owner, milestone_id=milestone.pk, waived=True,
                              waiver_reason="Scope cut")
    services.milestone_update(membership=owner, milestone_id=milestone.pk, waived=False)
    milestone.refresh_from_db()
    assert (milestone.waived, milestone.waiver_reason) == (False, "")


@pytest.mark.parametrize("role", [Role.ADMIN, Role.OWNER])
def test_editors_add_edit_and_delete_milestones(world, role):
    persona = world.a[role]
    created = create(persona, world.initiative)
    services.milestone_update(membership=persona.membership, milestone_id=created.pk,
                              done_date=dt.date(2026, 6, 1))
    created.refresh_from_db()
    assert created.done_date == dt.date(2026, 6, 1)
    services.milestone_delete(membership=persona.membership, milestone_id=created.pk)
    assert milestones() == []


@pytest.mark.parametrize("who", ["viewer", "executive", "controller", "consultant"])
def test_non_editors_cannot_touch_milestones(world, milestone, who):
    if who == "consultant":  # owner role, but not this initiative's owner
        with scopes_disabled():
            membership = world.consultant.memberships.get(organization=world.org_a)
    else:
        membership = world.a[who].membership
    before = milestones()
    with pytest.raises(PermissionDeniedError):
        services.milestone_create(membership=membership, initiative_id=world.initiative.pk,
                                  title="Mine", due_date=DUE)
    with pytest.raises(PermissionDeniedError):
        services.milestone_update(membership=membership, milestone_id=milestone.pk,
                                  title="Mine")
    with pytest.raises(PermissionDeniedError):
        services.milestone_delete(membership=membership, milestone_id=milestone.pk)
    assert milestones() == before


def test_milestones_of_another_org_are_not_found(world, foreign_milestone):
    admin = world.a[Role.ADMIN].membership
    for call in (
        lambda: services.milestone_update(membership=admin, milestone_id=foreign_milestone.pk,
                                          title="Hijacked"),
        lambda: services.milestone_delete(membership=admin, milestone_id=foreign_milestone.pk),
        lambda: services.milestone_create(membership=admin,
                                          initiative_id=foreign_milestone.initiative_id,
                                          title="Planted", due_date=DUE),
    ):
        with pytest.raises(ApplicationError) as exc:
            call()
        assert exc.value.status_code == 404
    assert milestones() == [("Globex milestone", dt.date(2026, 6, 30), None, 1, False, "")]


# --- Milestone pages ---------------------------------------------------------------------


def milestone_form(**overrides) -> dict:
    return {"title": "Contract signed", "due_date": "2026-05-31", "weight": "20",
            "done_date": "", "waiver_reason": "", "version": "1", **overrides}


def test_add_milestone_page_saves(world):
    response = client_for(world.a[Role.OWNER].user).post(
        org_url("milestone_add", initiative_id=world.initiative.pk), milestone_form())
    assert response.status_code == 302
    assert flashed(response) == ["Milestone added."]
    assert milestones() == [("Contract signed", dt.date(2026, 5, 31), None, 20, False, "")]


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"waived": "on"}, "waiver_reason", "Say why the milestone is waived."),
    ({"weight": "101"}, "weight", "Ensure this value is less than or equal to 100."),
    ({"weight": "-3"}, "weight", "Ensure this value is greater than or equal to 0."),
    ({"title": ""}, "title", "This field is required."),
    ({"due_date": "someday"}, "due_date", "Enter a valid date."),
], ids=["waived without reason", "weight above 100", "weight below 0", "no title",
        "bad due date"])
def test_add_milestone_page_shows_the_error_on_the_field(world, overrides, field, message):
    data = milestone_form(**overrides)
    response = client_for(world.a[Role.OWNER].user).post(
        org_url("milestone_add", initiative_id=world.initiative.pk), data)
    assert response.status_code == 400
    assert field_errors(response, field) == [message]
    for name in ("title", "due_date", "weight"):
        if name != field:
            assert input_value(response, name) == data[name]
    assert milestones() == []


def test_edit_milestone_page_refuses_waiver_without_reason(world, milestone):
    response = client_for(world.a[Role.ADMIN].user).post(
        org_url("milestone_edit", milestone_id=milestone.pk),
        milestone_form(title="Renamed", waived="on"))
    assert response.status_code == 400
    assert field_errors(response, "waiver_reason") == ["Say why the milestone is waived."]
    assert input_value(response, "title") == "Renamed"
    milestone.refresh_from_db()
    assert (milestone.title, milestone.waived) == ("Tender issued", False)


def test_edit_milestone_page_saves(world, milestone):
    client = client_for(world.a[Role.OWNER].user)
    url = org_url("milestone_edit", milestone_id=milestone.pk)
    page = client.get(url)
    assert page.status_code == 200
    assert input_value(page, "title") == "Tender issued"
    response = client.post(url, milestone_form(title="Tender issued", waived="on",
                                               waiver_reason="Direct award instead"))
    assert response.status_code == 302
    milestone.refresh_from_db()
    assert (milestone.waived, milestone.waiver_reason) == (True, "Direct award instead")


def test_delete_milestone_page(world, milestone):
    response = client_for(world.a[Role.OWNER].user).post(
        org_url("milestone_delete", milestone_id=milestone.pk), {"version": "1"})
    assert response.status_code == 302
    assert milestones() == []


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EXECUTIVE, Role.CONTROLLER])
def test_milestone_pages_are_forbidden_to_non_editors(world, milestone, role):
    client = client_for(world.a[role].user)
    before = milestones()
    add = org_url("milestone_add", initiative_id=world.initiative.pk)
    edit = org_url("milestone_edit", milestone_id=milestone.pk)
    assert client.get(add).status_code == 403
    assert client.post(add, milestone_form()).status_code == 403
    assert client.get(edit).status_code == 403
    assert client.post(edit, milestone_form(title="Mine")).status_code == 403
    assert client.post(org_url("milestone_delete", milestone_id=milestone.pk)).status_code == 403
    assert milestones() == before


def test_milestone_pages_of_another_org_are_404(world, foreign_milestone):
    client = client_for(world.a[Role.ADMIN].user)
    edit = org_url("milestone_edit", milestone_id=foreign_milestone.pk)
    assert client.get(edit).status_code == 404
    assert client.post(edit, milestone_form(title="Hijacked")).status_code == 404
    assert client.post(org_url("milestone_delete",
                               milestone_id=foreign_milestone.pk)).status_code == 404
    add = org_url("milestone_add", initiative_id=foreign_milestone.initiative_id)
    assert client.get(add).status_code == 404
    assert client.post(add, milestone_form()).status_code == 404
    assert milestones() == [("Globex milestone", dt.date(2026, 6, 30), None, 1, False, "")]


# --- Status updates ----------------------------------------------------------------------------


def updates() -> list[tuple]:
    with scopes_disabled():
        return list(StatusUpdate.objects.values_list("narrative", "confidence", "rag_override",
                                                     "override_reason"))


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"narrative": ""}, "narrative"),
    ({"narrative": "  \n "}, "narrative"),
    ({"rag_override": "red"}, "override_reason"),
    ({"rag_override": "amber", "override_reason": "   "}, "override_reason"),
    ({"rag_override": "purple", "override_reason": "why not"}, "rag_override"),
    ({"confidence": "certain"}, "confidence"),
    ({"confidence": ""}, "confidence"),
], ids=["empty narrative", "blank narrative", "override without reason",
        "override with blank reason", "unknown colour", "bad confidence", "no confidence"])
def test_status_update_refuses_bad_input(world, kwargs, field):
    values = {"narrative": "Tender went out.", "confidence": "medium", **kwargs}
    with pytest.raises(ApplicationError) as exc:
        services.status_update_create(membership=world.a[Role.OWNER].membership,
                                      initiative_id=world.initiative.pk, **values)
    assert exc.value.field == field
    assert updates() == []


def test_status_update_with_override_and_reason(world):
    update = services.status_update_create(
        membership=world.a[Role.OWNER].membership, initiative_id=world.initiative.pk,
        narrative=" Bids are in. ", confidence="high", rag_override="green",
        override_reason="The delay is already recovered")
    assert update.author_id == world.a[Role.OWNER].user.pk
    assert updates() == [("Bids are in.", "high", "green", "The delay is already recovered")]


def test_a_reason_without_override_is_dropped(world):
    services.status_update_create(membership=world.a[Role.OWNER].membership,
                                  initiative_id=world.initiative.pk, narrative="All fine",
                                  confidence="low", override_reason="stray")
    assert updates() == [("All fine", "low", "", "")]


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EXECUTIVE, Role.CONTROLLER])
def test_non_editors_cannot_post_status_updates(world, role):
    with pytest.raises(PermissionDeniedError):
        services.status_update_create(membership=world.a[role].membership,
                                      initiative_id=world.initiative.pk, narrative="Hi",
                                      confidence="high")
    assert updates() == []


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"narrative": ""}, "narrative", "This field is required."),
    ({"rag_override": "red"}, "override_reason", "Say why you override the calculated status."),
    ({"confidence": "certain"}, "confidence", "Select a valid choice. certain is not one of "
                                              "the available choices."),
    ({"rag_override": "purple"}, "rag_override", "Select a valid choice. purple is not one of "
                                                 "the available choices."),
], ids=["empty narrative", "override without reason", "bad confidence", "bad colour"])
def test_status_update_page_shows_the_error_on_the_field(world, data, field, message):
    post = {"narrative": "Tender went out.", "confidence": "medium", "rag_override": "",
            "override_reason": "", **data}
    response = client_for(world.a[Role.OWNER].user).post(
        org_url("status_update_add", initiative_id=world.initiative.pk), post)
    assert response.status_code == 400
    assert field_errors(response, field) == [message]
    if field != "narrative":
        assert "Tender went out." in page_text(response)
    assert updates() == []


def test_status_update_page_saves(world):
    response = client_for(world.a[Role.OWNER].user).post(
        org_url("status_update_add", initiative_id=world.initiative.pk),
        {"narrative": "Bids are in.", "confidence": "high", "rag_override": "amber",
         "override_reason": "One bidder withdrew"})
    assert response.status_code == 302
    assert updates() == [("Bids are in.", "high", "amber", "One bidder withdrew")]


def test_status_update_page_is_forbidden_to_a_viewer(world):
    response = client_for(world.a[Role.VIEWER].user).post(
        org_url("status_update_add", initiative_id=world.initiative.pk),
        {"narrative": "Hi", "confidence": "high"})
    assert response.status_code == 403
    assert updates() == []

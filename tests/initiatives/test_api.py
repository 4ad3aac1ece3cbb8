"""The initiatives API (docs/api.md): bad input is a 400 naming each field with nothing
saved, ids of another organisation are field errors (never a lookup across tenants) or
404 in the URL, PATCH needs If-Match, amounts are decimal strings by month, and the list
does not grow its query count with its rows."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scopes_disabled

from cat4.tenancy.models import Role
from initiatives.models import (
    BusinessUnit,
    Dependency,
    Function,
    ImpactLine,
    Initiative,
    Milestone,
    MonthlyValue,
    Risk,
    Stage,
    StatusUpdate,
    StrategicObjective,
)
from tests.conftest import api_client_for
from tests.factories import (
    ImpactLineFactory,
    InitiativeFactory,
    MilestoneFactory,
    ProgramFactory,
)
from tests.initiatives.support import drive_to

pytestmark = pytest.mark.django_db

BASE = "/api/v1/o/acme"


def api(world, role):
    return api_client_for(world.a[role].user)


def snapshot(model, **filters) -> list[dict]:
    """Every row of ``model`` (as dicts), to compare before and after a refused request."""
    with scopes_disabled():
        return list(model.objects.filter(**filters).order_by("pk").values())


def if_match(obj) -> dict:
    """If-Match with the object's version as stored now: what a client just read."""
    with scopes_disabled():
        version = type(obj).objects.filter(pk=obj.pk).values_list("version", flat=True).get()
    return {"HTTP_IF_MATCH": f'"v{version}"'}


def initiative_row(initiative) -> dict:
    with scopes_disabled():
        return Initiative.objects.filter(pk=initiative.pk).values().get()


@pytest.fixture
def foreign(world):
    """Org B's own program, business unit, function, objective, initiative, line,
    milestone and risk: their ids must never reach into org A."""
    with scopes_disabled():
        program = ProgramFactory(organization=world.org_b, portfolio__organization=world.org_b,
                                 name="Globex Procurement")
        initiative = InitiativeFactory(program=program, code="GX-001",
                                       owner=world.b_executive.user)
        return {
            "program": program,
            "business_unit": BusinessUnit.objects.create(organization=world.org_b,
                                                         name="Globex Logistics"),
            "function": Function.objects.create(organization=world.org_b, name="Globex Ops"),
            "objective": StrategicObjective.objects.create(organization=world.org_b,
                                                           code="GX1", title="Grow"),
            "initiative": initiative,
            "line": ImpactLineFactory(initiative=initiative),
            "milestone": MilestoneFactory(initiative=initiative, title="Globex milestone"),
            "risk": Risk.objects.create(organization=world.org_b, initiative=initiative,
                                        description="Globex risk", probability=2, impact=2,
                                        owner=world.b_executive.user),
        }


# --- 1. Creating an initiative ---------------------------------------------------------


def new_initiative(world, **overrides) -> dict:
    return {"code": "AC-200", "title": "Warehouse consolidation",
            "program": world.initiative.program_id, "owner": world.a[Role.OWNER].user.pk,
            "start_date": "2026-01-01", "target_date": "2026-12-31", **overrides}


def org_a_codes(world) -> set[str]:
    with scopes_disabled():
        return set(Initiative.objects.filter(organization=world.org_a)
                   .values_list("code", flat=True))


def test_create_without_fields_lists_each_missing_field(world):
    response = api(world, Role.ADMIN).post(f"{BASE}/initiatives/", {}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"code", "title", "program", "owner", "start_date", "target_date"}
    assert all(body[field] == ["This field is required."] for field in body)
    assert org_a_codes(world) == {"AC-100"}


def test_create_with_target_before_start_is_refused_on_target_date(world):
    response = api(world, Role.ADMIN).post(
        f"{BASE}/initiatives/", new_initiative(world, start_date="2026-06-01",
                                               target_date="2026-05-31"), format="json")
    assert response.status_code == 400
    assert response.json() == {
        "target_date": ["The target date must not be before the start date."]}
    assert org_a_codes(world) == {"AC-100"}


def test_create_with_a_used_code_is_refused_on_code(world):
    response = api(world, Role.ADMIN).post(f"{BASE}/initiatives/",
                                           new_initiative(world, code="AC-100"), format="json")
    assert response.status_code == 400
    assert response.json() == {
        "code": ["The code AC-100 is already used in this organisation."]}
    with scopes_disabled():
        assert Initiative.objects.filter(organization=world.org_a).count() == 1


@pytest.mark.parametrize("field", ["program", "owner", "sponsor", "controller",
                                   "business_unit", "function", "objectives"])
def test_create_with_an_id_of_another_org_is_a_field_error(world, foreign, field):
    ids = {"program": foreign["program"].pk, "owner": world.b_executive.user.pk,
           "sponsor": world.b_executive.user.pk, "controller": world.b_executive.user.pk,
           "business_unit": foreign["business_unit"].pk, "function": foreign["function"].pk,
           "objectives": [foreign["objective"].pk]}
    response = api(world, Role.ADMIN).post(
        f"{BASE}/initiatives/", new_initiative(world, **{field: ids[field]}), format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert list(body) == [field]
    assert "of this organisation" in body[field][0]
    assert org_a_codes(world) == {"AC-100"}
    with scopes_disabled():  # and org B is untouched too
        assert list(Initiative.objects.filter(organization=world.org_b)
                    .values_list("code", flat=True)) == ["GX-001"]


def test_an_owner_creates_only_initiatives_they_own(world):
    response = api(world, Role.OWNER).post(
        f"{BASE}/initiatives/", new_initiative(world, owner=world.a[Role.ADMIN].user.pk),
        format="json")
    assert response.status_code == 400
    assert response.json() == {"owner": ["Owners create initiatives that they own themselves."]}
    assert org_a_codes(world) == {"AC-100"}


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EXECUTIVE, Role.CONTROLLER])
def test_roles_that_do_not_create_initiatives_get_403(world, role):
    response = api(world, role).post(f"{BASE}/initiatives/", new_initiative(
        world, owner=world.a[role].user.pk), format="json")
    assert response.status_code == 403
    assert response.json() == {"detail": "Your role does not allow this."}
    assert org_a_codes(world) == {"AC-100"}


def test_create_returns_201_with_etag_v1(world):
    client = api(world, Role.OWNER)
    response = client.post(f"{BASE}/initiatives/", new_initiative(
        world, sponsor=world.a[Role.EXECUTIVE].user.pk,
        controller=world.a[Role.CONTROLLER].user.pk, description="Two sites into one"),
        format="json")
    assert response.status_code == 201, response.content
    assert response["ETag"] == '"v1"'
    body = response.json()
    assert body["code"] == "AC-200" and body["title"] == "Warehouse consolidation"
    assert body["stage"] == Stage.IDENTIFIED and body["version"] == 1
    assert body["owner"]["email"] == "owner@acme.test"
    assert body["sponsor"]["email"] == "executive@acme.test"
    assert body["controller"]["email"] == "controller@acme.test"
    assert body["program"]["name"] == "Acme Procurement"
    assert (body["start_date"], body["target_date"]) == ("2026-01-01", "2026-12-31")
    assert org_a_codes(world) == {"AC-100", "AC-200"}
    again = client.get(f"{BASE}/initiatives/{body['id']}/")
    assert again.status_code == 200 and again["ETag"] == '"v1"'


# --- 2. Changing an initiative with If-Match -------------------------------------------


def detail_url(initiative) -> str:
    return f"{BASE}/initiatives/{initiative.pk}/"


def test_patch_without_if_match_is_428_and_saves_nothing(world):
    before = initiative_row(world.initiative)
    response = api(world, Role.OWNER).patch(detail_url(world.initiative), {"title": "New"},
                                            format="json")
    assert response.status_code == 428
    assert "If-Match" in response.json()["detail"]
    assert initiative_row(world.initiative) == before


@pytest.mark.parametrize("if_match", ['"v0"', '"v2"', 'W/"v7"', "v1", "garbage"])
def test_patch_with_a_stale_or_unreadable_if_match_is_412_and_saves_nothing(world, if_match):
    before = initiative_row(world.initiative)
    response = api(world, Role.OWNER).patch(detail_url(world.initiative), {"title": "New"},
                                            format="json", HTTP_IF_MATCH=if_match)
    assert response.status_code == 412
    assert response.json()["detail"].startswith("Someone else changed this initiative")
    assert initiative_row(world.initiative) == before


def test_patch_with_the_current_etag_saves_and_returns_v2(world):
    client = api(world, Role.OWNER)
    etag = client.get(detail_url(world.initiative))["ETag"]
    assert etag == '"v1"'
    response = client.patch(detail_url(world.initiative), {"title": "Freight tender 2027"},
                            format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 200, response.content
    assert response["ETag"] == '"v2"'
    assert response.json()["title"] == "Freight tender 2027"
    assert response.json()["version"] == 2
    assert client.get(detail_url(world.initiative))["ETag"] == '"v2"'
    # The ETag read before that save is now stale: no lost update.
    stale = client.patch(detail_url(world.initiative), {"title": "Overwritten"},
                         format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    assert initiative_row(world.initiative)["title"] == "Freight tender 2027"


def test_patch_accepts_a_weak_etag(world):
    response = api(world, Role.ADMIN).patch(detail_url(world.initiative), {"title": "Weak"},
                                            format="json", HTTP_IF_MATCH='W/"v1"')
    assert response.status_code == 200
    assert response["ETag"] == '"v2"'
    assert initiative_row(world.initiative)["title"] == "Weak"


@pytest.fixture
def other_initiative(world):
    with scopes_disabled():
        return InitiativeFactory(program=world.initiative.program, code="AC-300",
                                 owner=world.a[Role.OWNER].user)


@pytest.mark.parametrize(("payload", "field"), [
    ({"title": ""}, "title"),
    ({"title": "x" * 201}, "title"),
    ({"code": "x" * 21}, "code"),
    ({"code": "AC-300"}, "code"),  # used by another initiative
    ({"start_date": "2026-02-30"}, "start_date"),
    ({"target_date": "2025-12-31"}, "target_date"),  # before the stored start date
    ({"start_date": "2026-06-01", "target_date": "2026-05-01"}, "target_date"),
    ({"program": None}, "program"),
    ({"program": "FOREIGN_PROGRAM"}, "program"),
    ({"sponsor": "FOREIGN_USER"}, "sponsor"),
    ({"controller": "VIEWER"}, "controller"),  # not a controller
    ({"sponsor": "VIEWER"}, "sponsor"),  # a viewer cannot sponsor
    ({"owner": "ADMIN"}, "owner"),  # an owner cannot hand the initiative over
])
def test_patch_with_bad_values_is_400_on_the_field_and_saves_nothing(
        world, foreign, other_initiative, payload, field):
    stand_ins = {"FOREIGN_PROGRAM": foreign["program"].pk,
                 "FOREIGN_USER": world.b_executive.user.pk,
                 "VIEWER": world.a[Role.VIEWER].user.pk, "ADMIN": world.a[Role.ADMIN].user.pk}
    payload = {k: stand_ins.get(v, v) if isinstance(v, str) else v for k, v in payload.items()}
    before = initiative_row(world.initiative)
    response = api(world, Role.OWNER).patch(detail_url(world.initiative), payload,
                                            format="json", HTTP_IF_MATCH='"v1"')
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field]
    assert initiative_row(world.initiative) == before


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EXECUTIVE, Role.CONTROLLER])
def test_patch_by_someone_who_does_not_edit_the_initiative_is_403(world, role):
    before = initiative_row(world.initiative)
    response = api(world, role).patch(detail_url(world.initiative), {"title": "Mine now"},
                                      format="json", HTTP_IF_MATCH='"v1"')
    assert response.status_code == 403
    assert response.json() == {"detail": "Only the owner or an admin can change this."}
    assert initiative_row(world.initiative) == before


def test_patch_of_only_the_title_leaves_every_other_field_alone(world):
    with scopes_disabled():
        bu = BusinessUnit.objects.create(organization=world.org_a, name="Logistics")
        Initiative.objects.filter(pk=world.initiative.pk).update(
            description="Tender all lanes", business_unit=bu)
    client = api(world, Role.OWNER)
    before = client.get(detail_url(world.initiative)).json()
    response = client.patch(detail_url(world.initiative), {"title": "Only the title"},
                            format="json", HTTP_IF_MATCH='"v1"')
    assert response.status_code == 200
    after = client.get(detail_url(world.initiative)).json()
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {"title", "version", "updated_at"}
    assert after["description"] == "Tender all lanes"
    assert after["business_unit"] == "Logistics"
    assert after["sponsor"]["email"] == "executive@acme.test"
    assert after["controller"]["email"] == "controller@acme.test"


def test_initiative_of_another_org_is_404(world, foreign):
    client = api(world, Role.ADMIN)
    url = detail_url(foreign["initiative"])
    assert client.get(url).status_code == 404
    response = client.patch(url, {"title": "Hijacked"}, format="json", HTTP_IF_MATCH='"v1"')
    assert response.status_code == 404
    with scopes_disabled():
        assert Initiative.objects.get(pk=foreign["initiative"].pk).title != "Hijacked"


# --- 3. Monthly values -----------------------------------------------------------------


@pytest.fixture
def line(world):
    with scopes_disabled():
        return ImpactLineFactory(initiative=world.initiative, description="Freight rates")


def values_url(line) -> str:
    return f"{BASE}/lines/{line.pk}/values/"


def stored_values(line) -> dict:
    with scopes_disabled():
        return {(v.kind, f"{v.month:%Y-%m}"): v.amount
                for v in MonthlyValue.objects.filter(line=line)}


def test_put_values_saves_decimal_strings_and_lists_all_three_kinds(world, line):
    response = api(world, Role.OWNER).put(values_url(line), {
        "kind": "planned", "values": {"2026-01": "1250.00", "2026-02": "10", "2026-03": "0.5"}},
        format="json", **if_match(line))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == line.pk and body["description"] == "Freight rates"
    assert body["values"] == {
        "planned": {"2026-01": "1250.00", "2026-02": "10.00", "2026-03": "0.50"},
        "forecast": {}, "actual": {}}
    assert stored_values(line) == {("planned", "2026-01"): Decimal("1250.00"),
                                   ("planned", "2026-02"): Decimal("10.00"),
                                   ("planned", "2026-03"): Decimal("0.50")}


def test_empty_string_and_null_clear_a_month(world, line):
    client = api(world, Role.OWNER)
    client.put(values_url(line), {"kind": "planned", "values": {
        "2026-01": "100.00", "2026-02": "200.00", "2026-03": "300.00"}}, format="json",
        **if_match(line))
    response = client.put(values_url(line), {"kind": "planned", "values": {
        "2026-01": "", "2026-02": None}}, format="json", **if_match(line))
    assert response.status_code == 200
    assert response.json()["values"] == {"planned": {"2026-03": "300.00"}, "forecast": {},
                                         "actual": {}}
    assert stored_values(line) == {("planned", "2026-03"): Decimal("300.00")}


@pytest.mark.parametrize(("month", "amount", "message"), [
    ("2026-03", "-5", "Amounts cannot be negative."),
    ("2026-03", "abc", "“abc” is not an amount."),
    ("2026-03", "NaN", "“NaN” is not an amount."),
    ("2026-03", "1,5", "Use a dot for decimals and no thousands separators, e.g. 1250.50."),
    ("2026-03", "1.234", "Use at most 14 digits and 2 decimal places."),
    ("2026-03", "100000000000000.00", "Use at most 14 digits and 2 decimal places."),
    ("2026-13", "1", "Months look like 2026-03."),
    ("2026-00", "1", "Months look like 2026-03."),
    ("March", "1", "Months look like 2026-03."),
    ("2026-3", "1", "Months look like 2026-03."),
    ("2025-12", "1", "Dec 2025 is outside the initiative's range (Jan 2026 to Dec 2027)."),
    ("2028-01", "1", "Jan 2028 is outside the initiative's range (Jan 2026 to Dec 2027)."),
])
def test_one_bad_month_refuses_the_whole_request(world, line, month, amount, message):
    response = api(world, Role.OWNER).put(values_url(line), {
        "kind": "planned", "values": {"2026-01": "100.00", month: amount}}, format="json",
        **if_match(line))
    assert response.status_code == 400, response.content
    assert response.json() == {f"values.{month}": [message]}
    assert stored_values(line) == {}


def test_a_json_float_amount_is_refused(world, line):
    response = api(world, Role.OWNER).put(values_url(line), {
        "kind": "planned", "values": {"2026-01": "100.00", "2026-03": 12.5}}, format="json",
        **if_match(line))
    assert response.status_code == 400
    assert list(response.json()) == ["values.2026-03"]
    assert stored_values(line) == {}


def test_month_key_of_year_zero_is_a_400(world, line):
    response = api(world, Role.OWNER).put(values_url(line), {
        "kind": "planned", "values": {"0000-01": "1.00"}}, format="json", **if_match(line))
    assert response.status_code == 400
    assert list(response.json()) == ["values.0000-01"]
    assert stored_values(line) == {}


def test_month_key_with_a_trailing_newline_is_refused(world, line):
    response = api(world, Role.OWNER).put(values_url(line), {
        "kind": "planned", "values": {"2026-03\n": "1.00"}}, format="json", **if_match(line))
    assert response.status_code == 400
    assert response.json() == {"values.2026-03\n": ["Months look like 2026-03."]}
    assert stored_values(line) == {}


def test_bad_kind_and_missing_values_are_field_errors(world, line):
    client = api(world, Role.OWNER)
    response = client.put(values_url(line), {"kind": "wished", "values": {"2026-01": "1"}},
                          format="json", **if_match(line))
    assert response.status_code == 400 and list(response.json()) == ["kind"]
    response = client.put(values_url(line), {}, format="json", **if_match(line))
    assert response.status_code == 400 and set(response.json()) == {"kind", "values"}
    assert stored_values(line) == {}


def test_a_kind_not_editable_in_the_stage_is_409(world, line):
    response = api(world, Role.OWNER).put(values_url(line), {
        "kind": "forecast", "values": {"2026-01": "100.00"}}, format="json", **if_match(line))
    assert response.status_code == 409
    assert response.json() == {"kind": ["Forecasts are entered from the Decided gate on."]}
    assert stored_values(line) == {}


def test_the_plan_is_frozen_after_the_decided_gate(world):
    plan_line = drive_to(world, world.initiative, Stage.DECIDED)
    before = stored_values(plan_line)
    response = api(world, Role.OWNER).put(values_url(plan_line), {
        "kind": "planned", "values": {"2026-01": "5.00"}}, format="json", **if_match(plan_line))
    assert response.status_code == 409
    assert response.json() == {"kind": [
        "The plan is frozen since the Decided gate. Ask the controller for a re-baseline "
        "to change it."]}
    assert stored_values(plan_line) == before
    # The forecast is open now.
    response = api(world, Role.OWNER).put(values_url(plan_line), {
        "kind": "forecast", "values": {"2026-01": "900.00"}}, format="json", **if_match(plan_line))
    assert response.status_code == 200
    assert response.json()["values"]["forecast"] == {"2026-01": "900.00"}


def test_values_of_a_cancelled_initiative_are_final(world, line):
    with scopes_disabled():
        Initiative.objects.filter(pk=world.initiative.pk).update(stage=Stage.CANCELLED,
                                                                 cancel_reason="Stopped")
    response = api(world, Role.CONTROLLER).put(values_url(line), {
        "kind": "actual", "values": {"2026-01": "100.00"}}, format="json", **if_match(line))
    assert response.status_code == 409
    assert response.json() == {"kind": ["The initiative is cancelled; its values are final."]}
    assert stored_values(line) == {}


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EXECUTIVE])
def test_values_by_a_non_editor_are_403(world, line, role):
    response = api(world, role).put(values_url(line), {
        "kind": "planned", "values": {"2026-01": "100.00"}}, format="json", **if_match(line))
    assert response.status_code == 403
    assert response.json() == {"detail": "Your role does not allow entering these values."}
    assert stored_values(line) == {}


def test_values_of_a_line_of_another_org_are_404(world, foreign):
    response = api(world, Role.ADMIN).put(values_url(foreign["line"]), {
        "kind": "planned", "values": {"2026-01": "100.00"}}, format="json",
        **if_match(foreign["line"]))
    assert response.status_code == 404
    assert stored_values(foreign["line"]) == {}


# --- 4. Milestones, impact lines, status updates ---------------------------------------


def milestones_url(initiative) -> str:
    return f"{BASE}/initiatives/{initiative.pk}/milestones/"


MILESTONE = {"title": "Tender issued", "due_date": "2026-03-31"}


@pytest.mark.parametrize(("payload", "fields"), [
    ({}, {"title", "due_date"}),
    ({**MILESTONE, "title": " "}, {"title"}),
    ({**MILESTONE, "due_date": "soon"}, {"due_date"}),
    ({**MILESTONE, "weight": 101}, {"weight"}),
    ({**MILESTONE, "weight": -1}, {"weight"}),
    ({**MILESTONE, "done_date": "2026-02-30"}, {"done_date"}),
    ({**MILESTONE, "waived": True}, {"waiver_reason"}),
])
def test_milestone_create_field_errors(world, payload, fields):
    response = api(world, Role.OWNER).post(milestones_url(world.initiative), payload,
                                           format="json")
    assert response.status_code == 400, response.content
    assert set(response.json()) == fields
    assert snapshot(Milestone) == []


def test_milestone_create_and_patch(world):
    client = api(world, Role.OWNER)
    response = client.post(milestones_url(world.initiative), {**MILESTONE, "weight": 3},
                           format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert created == {"id": created["id"], "title": "Tender issued", "due_date": "2026-03-31",
                       "done_date": None, "weight": 3, "waived": False, "waiver_reason": "",
                       "version": 1}
    assert response["ETag"] == '"v1"'
    url = f"{BASE}/milestones/{created['id']}/"
    response = client.patch(url, {"waived": True}, format="json", HTTP_IF_MATCH='"v1"')
    assert response.status_code == 400
    assert response.json() == {"waiver_reason": ["Say why the milestone is waived."]}
    response = client.patch(url, {"weight": 101}, format="json", HTTP_IF_MATCH='"v1"')
    assert response.status_code == 400 and list(response.json()) == ["weight"]
    with scopes_disabled():
        assert Milestone.objects.get(pk=created["id"]).weight == 3
    response = client.patch(url, {"done_date": "2026-03-20"}, format="json",
                            HTTP_IF_MATCH='"v1"')
    assert response.status_code == 200
    assert response.json() == {**created, "done_date": "2026-03-20", "version": 2}
    assert response["ETag"] == '"v2"'
    listed = client.get(milestones_url(world.initiative)).json()
    assert [m["done_date"] for m in listed] == ["2026-03-20"]


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EXECUTIVE, Role.CONTROLLER])
def test_milestones_lines_and_updates_by_non_editors_are_403(world, role):
    with scopes_disabled():
        milestone = MilestoneFactory(initiative=world.initiative, title="Kept")
    client = api(world, role)
    before = (snapshot(Milestone), snapshot(ImpactLine), snapshot(StatusUpdate))
    for method, url, payload in [
        ("post", milestones_url(world.initiative), MILESTONE),
        ("patch", f"{BASE}/milestones/{milestone.pk}/", {"title": "Changed"}),
        ("delete", f"{BASE}/milestones/{milestone.pk}/", None),
        ("post", f"{BASE}/initiatives/{world.initiative.pk}/lines/",
         {"category": "cost_reduction", "description": "Mine"}),
        ("post", f"{BASE}/initiatives/{world.initiative.pk}/status-updates/",
         {"narrative": "All good", "confidence": "high"}),
    ]:
        response = getattr(client, method)(url, payload, format="json")
        assert response.status_code == 403, (method, url)
        assert response.json() == {"detail": "Only the owner or an admin can change this."}
    assert (snapshot(Milestone), snapshot(ImpactLine), snapshot(StatusUpdate)) == before


def test_milestones_lines_and_updates_of_another_org_are_404(world, foreign):
    client = api(world, Role.ADMIN)
    other = foreign["initiative"]
    before = (snapshot(Milestone), snapshot(ImpactLine), snapshot(StatusUpdate))
    for method, url, payload in [
        ("get", milestones_url(other), None),
        ("post", milestones_url(other), MILESTONE),
        ("patch", f"{BASE}/milestones/{foreign['milestone'].pk}/", {"title": "Changed"}),
        ("delete", f"{BASE}/milestones/{foreign['milestone'].pk}/", None),
        ("get", f"{BASE}/initiatives/{other.pk}/lines/", None),
        ("post", f"{BASE}/initiatives/{other.pk}/lines/",
         {"category": "cost_reduction", "description": "Mine"}),
        ("get", f"{BASE}/initiatives/{other.pk}/status-updates/", None),
        ("post", f"{BASE}/initiatives/{other.pk}/status-updates/",
         {"narrative": "All good", "confidence": "high"}),
    ]:
        response = getattr(client, method)(url, payload, format="json")
        assert response.status_code == 404, (method, url)
        assert response.json() == {"detail": "Not found."}
    assert (snapshot(Milestone), snapshot(ImpactLine), snapshot(StatusUpdate)) == before


@pytest.mark.parametrize(("payload", "fields"), [
    ({}, {"category", "description"}),
    ({"category": "magic", "description": "Rates"}, {"category"}),
    ({"category": "cost_reduction", "description": ""}, {"description"}),
    ({"category": "cost_reduction", "description": "x" * 201}, {"description"}),
])
def test_impact_line_create_field_errors(world, payload, fields):
    response = api(world, Role.OWNER).post(
        f"{BASE}/initiatives/{world.initiative.pk}/lines/", payload, format="json")
    assert response.status_code == 400
    assert set(response.json()) == fields
    assert snapshot(ImpactLine) == []


def test_impact_line_create(world):
    response = api(world, Role.OWNER).post(
        f"{BASE}/initiatives/{world.initiative.pk}/lines/",
        {"category": "revenue_increase", "description": "Upsell", "recurring": False},
        format="json")
    assert response.status_code == 201
    body = response.json()
    assert body == {"id": body["id"], "category": "revenue_increase", "description": "Upsell",
                    "recurring": False, "ebit_relevant": True,
                    "values": {"planned": {}, "forecast": {}, "actual": {}}, "version": 1}


@pytest.mark.parametrize(("payload", "fields"), [
    ({}, {"narrative", "confidence"}),
    ({"narrative": " ", "confidence": "high"}, {"narrative"}),
    ({"narrative": "On track", "confidence": "sure"}, {"confidence"}),
    ({"narrative": "On track", "confidence": "high", "rag_override": "purple",
      "override_reason": "x"}, {"rag_override"}),
    ({"narrative": "On track", "confidence": "high", "rag_override": "red"},
     {"override_reason"}),
])
def test_status_update_field_errors(world, payload, fields):
    response = api(world, Role.OWNER).post(
        f"{BASE}/initiatives/{world.initiative.pk}/status-updates/", payload, format="json")
    assert response.status_code == 400
    assert set(response.json()) == fields
    assert snapshot(StatusUpdate) == []


def test_status_update_create_and_list(world):
    client = api(world, Role.OWNER)
    url = f"{BASE}/initiatives/{world.initiative.pk}/status-updates/"
    response = client.post(url, {"narrative": "Carrier shortlist done", "confidence": "medium",
                                 "rag_override": "amber", "override_reason": "Strike risk"},
                           format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["author"]["email"] == "owner@acme.test"
    assert (body["narrative"], body["confidence"], body["rag_override"],
            body["override_reason"]) == ("Carrier shortlist done", "medium", "amber",
                                         "Strike risk")
    listed = api(world, Role.VIEWER).get(url).json()
    assert [u["id"] for u in listed] == [body["id"]]


# --- 7. Dependencies and risks ---------------------------------------------------------


@pytest.fixture
def supplier(world):
    with scopes_disabled():
        return InitiativeFactory(program=world.initiative.program, code="AC-200",
                                 title="New WMS", owner=world.a[Role.OWNER].user,
                                 start_date=dt.date(2026, 1, 1),
                                 target_date=dt.date(2026, 9, 30))


def dependencies_url(initiative) -> str:
    return f"{BASE}/initiatives/{initiative.pk}/dependencies/"


def test_dependency_on_itself_or_another_org_is_400_on_depends_on(world, foreign):
    client = api(world, Role.OWNER)
    for target, message in [
        (world.initiative.pk, "An initiative cannot depend on itself."),
        (foreign["initiative"].pk, "of this organisation"),
        (987654321, "of this organisation"),
    ]:
        response = client.post(dependencies_url(world.initiative),
                               {"depends_on": target, "need_by": "2026-06-30"}, format="json")
        assert response.status_code == 400, target
        assert list(response.json()) == ["depends_on"]
        assert message in response.json()["depends_on"][0]
    response = client.post(dependencies_url(world.initiative), {}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"depends_on", "need_by"}
    assert snapshot(Dependency) == []


def test_dependency_list_flags_a_late_supplier_on_both_sides(world, supplier):
    client = api(world, Role.OWNER)
    response = client.post(dependencies_url(world.initiative),
                           {"depends_on": supplier.pk, "need_by": "2026-06-30",
                            "note": "WMS live in Leipzig"}, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["direction"], created["other_code"], created["late"]) == (
        "needs", "AC-200", True)
    assert "92 days after it is needed" in created["why"]
    viewer = api(world, Role.VIEWER)
    mine = viewer.get(dependencies_url(world.initiative)).json()
    theirs = viewer.get(dependencies_url(supplier)).json()
    assert [(d["direction"], d["other_code"], d["need_by"], d["late"]) for d in mine] == [
        ("needs", "AC-200", "2026-06-30", True)]
    assert [(d["direction"], d["other_code"], d["late"]) for d in theirs] == [
        ("needed_by", "AC-100", True)]
    # The same pair again, or the other way round, is refused.
    again = client.post(dependencies_url(supplier),
                        {"depends_on": world.initiative.pk, "need_by": "2026-06-30"},
                        format="json")
    assert again.status_code == 400 and list(again.json()) == ["depends_on"]
    assert len(snapshot(Dependency)) == 1


def test_dependency_in_time_is_not_late(world, supplier):
    response = api(world, Role.OWNER).post(
        dependencies_url(world.initiative),
        {"depends_on": supplier.pk, "need_by": "2026-12-31"}, format="json")
    assert response.status_code == 201
    assert response.json()["late"] is False
    listed = api(world, Role.VIEWER).get(dependencies_url(world.initiative)).json()
    assert [d["late"] for d in listed] == [False]


def risks_url(initiative) -> str:
    return f"{BASE}/initiatives/{initiative.pk}/risks/"


def risk_payload(world, **overrides) -> dict:
    return {"description": "Carrier strike", "probability": 3, "impact": 4,
            "owner": world.a[Role.OWNER].user.pk, **overrides}


@pytest.mark.parametrize(("overrides", "field"), [
    ({"probability": 0}, "probability"),
    ({"probability": 6}, "probability"),
    ({"impact": 0}, "impact"),
    ({"description": ""}, "description"),
    ({"status": "gone"}, "status"),
    ({"owner": "FOREIGN_USER"}, "owner"),
])
def test_risk_create_field_errors(world, overrides, field):
    if overrides.get("owner") == "FOREIGN_USER":
        overrides = {"owner": world.b_executive.user.pk}
    response = api(world, Role.OWNER).post(risks_url(world.initiative),
                                           risk_payload(world, **overrides), format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field]
    assert snapshot(Risk, organization=world.org_a) == []


def test_risk_create_and_patch_status(world, foreign):
    client = api(world, Role.OWNER)
    response = client.post(risks_url(world.initiative), risk_payload(world), format="json")
    assert response.status_code == 201
    created = response.json()
    assert (created["score"], created["status"], created["owner"]["email"]) == (
        12, "open", "owner@acme.test")
    url = f"{BASE}/risks/{created['id']}/"
    response = client.patch(url, {"status": "gone"}, format="json", HTTP_IF_MATCH='"v1"')
    assert response.status_code == 400 and list(response.json()) == ["status"]
    response = client.patch(url, {"probability": 0}, format="json", HTTP_IF_MATCH='"v1"')
    assert response.status_code == 400 and list(response.json()) == ["probability"]
    response = api(world, Role.VIEWER).patch(url, {"status": "closed"}, format="json",
                                             HTTP_IF_MATCH='"v1"')
    assert response.status_code == 403
    response = client.patch(url, {"status": "mitigated", "mitigation": "Second carrier"},
                            format="json", HTTP_IF_MATCH='"v1"')
    assert response.status_code == 200
    assert response.json() == {**created, "status": "mitigated", "mitigation": "Second carrier",
                               "version": 2}
    listed = api(world, Role.VIEWER).get(risks_url(world.initiative)).json()
    assert [(r["id"], r["status"]) for r in listed] == [(created["id"], "mitigated")]
    # Another org's risk is not reachable.
    response = client.patch(f"{BASE}/risks/{foreign['risk'].pk}/", {"status": "closed"},
                            format="json", HTTP_IF_MATCH='"v1"')
    assert response.status_code == 404
    with scopes_disabled():
        assert Risk.objects.get(pk=foreign["risk"].pk).status == "open"


# --- 9. The list's query count ---------------------------------------------------------


def test_list_query_count_does_not_grow_with_initiatives(world,
                                                         django_assert_max_num_queries):
    with scopes_disabled():
        bu = BusinessUnit.objects.create(organization=world.org_a, name="Logistics")
        function = Function.objects.create(organization=world.org_a, name="Procurement")
        Initiative.objects.filter(pk=world.initiative.pk).update(business_unit=bu,
                                                                 function=function)
    client = api(world, Role.VIEWER)
    url = f"{BASE}/initiatives/"
    client.get(url)  # warm up
    with CaptureQueriesContext(connection) as small:
        response = client.get(url)
    assert response.status_code == 200 and response.json()["count"] == 1
    with scopes_disabled():
        for n in range(24):
            InitiativeFactory(
                program=ProgramFactory(organization=world.org_a,
                                       portfolio__organization=world.org_a),
                code=f"AC-{200 + n}", owner=world.a[Role.OWNER].user,
                sponsor=world.a[Role.EXECUTIVE].user,
                controller=world.a[Role.CONTROLLER].user, business_unit=bu,
                function=function)
    with django_assert_max_num_queries(len(small)):
        response = client.get(url)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 25 and len(body["results"]) == 25
    assert {r["controller"]["email"] for r in body["results"]} == {"controller@acme.test"}
    assert {r["function"] for r in body["results"]} == {"Procurement"}


def test_changing_a_closed_initiative_is_a_conflict_not_a_role_problem(world):
    drive_to(world, world.initiative, Stage.CLOSED)
    owner = api_client_for(world.a[Role.OWNER].user)
    base = f"/api/v1/o/acme/initiatives/{world.initiative.pk}"
    etag = owner.get(f"{base}/")["ETag"]
    response = owner.patch(f"{base}/", {"title": "Late edit"}, format="json",
                           HTTP_IF_MATCH=etag)
    assert response.status_code == 409
    assert "is closed; its record is final" in response.json()["detail"]
    response = owner.post(f"{base}/milestones/", {"title": "x", "due_date": "2026-03-01"},
                          format="json")
    assert response.status_code == 409
    viewer = api_client_for(world.a[Role.VIEWER].user)
    assert viewer.patch(f"{base}/", {"title": "x"}, format="json",
                        HTTP_IF_MATCH=etag).status_code == 403

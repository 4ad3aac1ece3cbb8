"""Update cadence and staleness: an initiative whose next status update was due
before today is stale, and a stale initiative never shows green (detail page, list
badge, API). The cadence is set in the form and the API, validated."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled

from cat4.tenancy.models import Role
from initiatives import selectors
from initiatives.calculations import RagColour
from initiatives.models import Initiative, MonthlyValue, StatusUpdate
from tests.conftest import api_client_for, client_for
from tests.factories import ImpactLineFactory, InitiativeFactory, MilestoneFactory
from tests.initiatives.support import field_errors, org_url, page_text, selected_option

pytestmark = pytest.mark.django_db


def _day(d: dt.date) -> str:
    return f"{d.day} {d:%b %Y}"


def created_days_ago(initiative, days: int) -> dt.datetime:
    at = timezone.now() - dt.timedelta(days=days)
    with scopes_disabled():
        Initiative.objects.filter(pk=initiative.pk).update(created_at=at)
    initiative.refresh_from_db()
    return at


def make_green(initiative):
    """A milestone due in the future and a forecast equal to the plan: both green."""
    today = timezone.localdate()
    with scopes_disabled():
        MilestoneFactory(initiative=initiative, due_date=today + dt.timedelta(days=60))
        line = ImpactLineFactory(initiative=initiative)
        for m in range(1, 7):
            for kind in ("planned", "forecast"):
                MonthlyValue.objects.create(organization=initiative.organization, line=line,
                                            month=dt.date(2026, m, 1), kind=kind,
                                            amount=Decimal("1000.00"))


def post_update(world, initiative, at=None):
    with scopes_disabled():
        update = StatusUpdate.objects.create(
            organization=world.org_a, initiative=initiative, author=world.a[Role.OWNER].user,
            narrative="On track", confidence="high")
        if at is not None:
            StatusUpdate.objects.filter(pk=update.pk).update(created_at=at)


def status_of(initiative):
    with scopes_disabled():
        initiative = selectors.initiative_get(organization=initiative.organization,
                                              initiative_id=initiative.pk)
        _months, grids = selectors.value_grid(initiative=initiative)
        return selectors.initiative_status(initiative=initiative, grids=grids)


# --- Staleness -----------------------------------------------------------------------------


def test_fresh_initiative_is_green_and_says_when_the_next_update_is_due(world):
    i = world.initiative
    make_green(i)
    created_days_ago(i, 2)
    status = status_of(i)
    assert status.schedule.colour == RagColour.GREEN
    assert status.financial.colour == RagColour.GREEN
    assert not status.freshness.stale
    due = timezone.localdate(i.created_at) + dt.timedelta(days=30)  # monthly by default
    body = page_text(client_for(world.a[Role.VIEWER].user).get(
        org_url("initiative_detail", initiative_id=i.pk)))
    assert f"Next update due {_day(due)}" in body
    assert "(cadence: monthly)" in body
    assert "Update overdue" not in body


def test_stale_initiative_is_never_green_on_the_detail_page(world):
    i = world.initiative
    make_green(i)
    with scopes_disabled():
        Initiative.objects.filter(pk=i.pk).update(update_cadence_days=7)
    created_days_ago(i, 40)
    post_update(world, i, at=timezone.now() - dt.timedelta(days=10))
    status = status_of(i)
    assert status.freshness.stale
    for rag in (status.schedule, status.financial):
        assert rag.colour == RagColour.AMBER
        assert "is overdue, so not green" in rag.explanation
    due = timezone.localdate() - dt.timedelta(days=3)  # 10 days ago + 7
    body = page_text(client_for(world.a[Role.VIEWER].user).get(
        org_url("initiative_detail", initiative_id=i.pk)))
    assert f"Update overdue since {_day(due)}" in body
    assert "(cadence: weekly)" in body
    assert "rag-green" not in body
    assert body.count("so not green") == 2


def test_a_new_status_update_makes_it_fresh_again(world):
    i = world.initiative
    make_green(i)
    created_days_ago(i, 100)
    assert status_of(i).financial.colour == RagColour.AMBER
    assert "no status update yet" in status_of(i).financial.explanation
    post_update(world, i)
    status = status_of(i)
    assert not status.freshness.stale
    assert status.financial.colour == RagColour.GREEN


def test_due_today_is_not_yet_stale(world):
    i = world.initiative
    created_days_ago(i, 30)
    with scopes_disabled():
        fresh = selectors.freshness_of(Initiative.objects.get(pk=i.pk))
        due = timezone.localdate(i.created_at) + dt.timedelta(days=30)
        # On the due date itself it is not stale; the day after it is.
        on_due = selectors.freshness_of(Initiative.objects.get(pk=i.pk), today=due)
        day_after = selectors.freshness_of(Initiative.objects.get(pk=i.pk),
                                           today=due + dt.timedelta(days=1))
    assert fresh.due == on_due.due == due
    assert fresh.stale is (fresh.due < timezone.localdate())
    assert on_due.stale is False and day_after.stale is True


def test_red_stays_red_when_stale(world):
    i = world.initiative
    created_days_ago(i, 100)
    with scopes_disabled():
        MilestoneFactory(initiative=i, due_date=timezone.localdate() - dt.timedelta(days=90))
    assert status_of(i).schedule.colour == RagColour.RED


def test_on_hold_and_closed_initiatives_expect_no_updates(world):
    i = world.initiative
    make_green(i)
    created_days_ago(i, 100)
    for stage in ("on_hold", "closed", "cancelled"):
        with scopes_disabled():
            Initiative.objects.filter(pk=i.pk).update(stage=stage)  # test set-up only
        status = status_of(i)
        assert not status.freshness.stale
        assert status.financial.colour == RagColour.GREEN
    body = page_text(client_for(world.a[Role.VIEWER].user).get(
        org_url("initiative_detail", initiative_id=i.pk)))
    assert "No status updates expected while cancelled" in body


def test_list_page_marks_stale_initiatives(world):
    created_days_ago(world.initiative, 100)
    with scopes_disabled():
        fresh = InitiativeFactory(program=world.initiative.program, code="AC-555",
                                  owner=world.a[Role.OWNER].user)
    body = page_text(client_for(world.a[Role.VIEWER].user).get(org_url("initiative_list")))
    rows = {code: body[body.index(f">{code}</a>"):].split("</tr>")[0]
            for code in ("AC-100", fresh.code)}
    assert 'class="badge stale"' in rows["AC-100"]
    assert "Stale" in rows["AC-100"]
    assert "stale" not in rows[fresh.code].lower()


def test_api_shows_freshness_in_list_and_detail(world):
    i = world.initiative
    created_days_ago(i, 100)
    client = api_client_for(world.a[Role.VIEWER].user)
    detail = client.get(org_url("api_initiative_detail", initiative_id=i.pk)).json()
    assert detail["update_cadence_days"] == 30
    due = timezone.localdate(i.created_at) + dt.timedelta(days=30)
    assert detail["freshness"] == {"cadence_days": 30, "last_update": None,
                                   "next_update_due": due.isoformat(), "expected": True,
                                   "stale": True}
    post_update(world, i)
    listed = client.get(org_url("api_initiative_list")).json()
    row = next(r for r in listed["results"] if r["id"] == i.pk) if isinstance(
        listed, dict) else next(r for r in listed if r["id"] == i.pk)
    assert row["freshness"]["stale"] is False
    assert row["freshness"]["last_update"] == timezone.localdate().isoformat()


def test_api_list_query_count_does_not_grow(world, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api_client_for(world.a[Role.VIEWER].user)
    url = org_url("api_initiative_list")
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    with scopes_disabled():
        for n in range(15):
            initiative = InitiativeFactory(program=world.initiative.program, code=f"AC-{400 + n}",
                                           owner=world.a[Role.OWNER].user)
            post_update(world, initiative)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200


# --- Cadence input ---------------------------------------------------------------------------


def _form(world, **extra):
    with scopes_disabled():
        program = world.initiative.program_id
    return {"code": "AC-200", "title": "Warehouse consolidation", "program": str(program),
            "owner": str(world.a[Role.OWNER].user.pk), "start_date": "2026-01-01",
            "target_date": "2027-06-30", **extra}


def test_create_form_sets_the_cadence(world):
    client = client_for(world.a[Role.OWNER].user)
    page = client.get(org_url("initiative_create"))
    assert selected_option(page, "update_cadence_days") == "30"
    response = client.post(org_url("initiative_create"), _form(world, update_cadence_days="7"))
    assert response.status_code == 302
    with scopes_disabled():
        assert Initiative.objects.get(code="AC-200").update_cadence_days == 7


def test_create_form_refuses_a_bad_cadence_on_the_field(world):
    client = client_for(world.a[Role.OWNER].user)
    response = client.post(org_url("initiative_create"), _form(world, update_cadence_days="5"))
    assert response.status_code == 400
    assert field_errors(response, "update_cadence_days")
    with scopes_disabled():
        assert not Initiative.objects.filter(code="AC-200").exists()


def test_edit_form_changes_the_cadence_and_keeps_it_when_not_sent(world):
    i = world.initiative
    client = client_for(world.a[Role.OWNER].user)
    base = {"code": i.code, "title": i.title, "program": str(i.program_id),
            "owner": str(i.owner_id), "sponsor": str(i.sponsor_id),
            "controller": str(i.controller_id), "start_date": "2026-01-01",
            "target_date": "2027-12-31"}
    response = client.post(org_url("initiative_edit", initiative_id=i.pk),
                           {**base, "update_cadence_days": "91", "version": "1"})
    assert response.status_code == 302
    i.refresh_from_db()
    assert i.update_cadence_days == 91
    page = client.get(org_url("initiative_edit", initiative_id=i.pk))
    assert selected_option(page, "update_cadence_days") == "91"
    response = client.post(org_url("initiative_edit", initiative_id=i.pk),
                           {**base, "title": "Renamed", "version": "2"})
    assert response.status_code == 302
    i.refresh_from_db()
    assert i.update_cadence_days == 91 and i.title == "Renamed"


def test_api_sets_and_validates_the_cadence(world):
    client = api_client_for(world.a[Role.OWNER].user)
    body = {"code": "AC-201", "title": "Energy", "program": world.initiative.program_id,
            "owner": world.a[Role.OWNER].user.pk, "start_date": "2026-01-01",
            "target_date": "2026-12-31"}
    created = client.post(org_url("api_initiative_list"), {**body, "update_cadence_days": 14},
                          format="json")
    assert created.status_code == 201, created.content
    assert created.json()["update_cadence_days"] == 14
    assert created.json()["freshness"]["cadence_days"] == 14
    default = client.post(org_url("api_initiative_list"), {**body, "code": "AC-202"},
                          format="json")
    assert default.json()["update_cadence_days"] == 30
    for bad in (5, "weekly", None):
        response = client.post(org_url("api_initiative_list"),
                               {**body, "code": "AC-203", "update_cadence_days": bad},
                               format="json")
        assert response.status_code == 400
        assert "update_cadence_days" in response.json()
    url = org_url("api_initiative_detail", initiative_id=created.json()["id"])
    response = client.patch(url, {"update_cadence_days": 3}, format="json",
                            HTTP_IF_MATCH='"v1"')
    assert response.status_code == 400
    assert "update_cadence_days" in response.json()
    response = client.patch(url, {"update_cadence_days": 91}, format="json",
                            HTTP_IF_MATCH='"v1"')
    assert response.status_code == 200
    assert response.json()["update_cadence_days"] == 91


def test_service_refuses_a_bad_cadence_with_a_field_error(world):
    from cat4.common.exceptions import ApplicationError
    from initiatives import services

    with pytest.raises(ApplicationError) as refused:
        services.initiative_update(membership=world.a[Role.OWNER].membership,
                                   initiative_id=world.initiative.pk, version=1,
                                   update_cadence_days=True)
    assert refused.value.field == "update_cadence_days"

"""Pages, API and jobs run in the organisation's time zone: times are shown in it and
"today" is its date, as in the escalation and reminder jobs."""

import datetime as dt

import pytest
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from cat4.tenancy.models import Role
from initiatives.models import Initiative
from reporting import rollups
from reporting.models import BoardPack, InitiativeFact
from tests.conftest import api_client_for, client_for

pytestmark = pytest.mark.django_db

# 23:30 UTC on 30 November is 08:30 on 1 December in Tokyo.
MOMENT = dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC)


@pytest.fixture
def tokyo(world):
    world.org_a.time_zone = "Asia/Tokyo"
    world.org_a.save(update_fields=["time_zone"])
    with scopes_disabled():
        pack = BoardPack.objects.create(
            organization=world.org_a, title="December steering",
            requested_by=world.a[Role.EXECUTIVE].user, changes_since=dt.date(2026, 11, 1))
        BoardPack.objects.filter(pk=pack.pk).update(requested_at=MOMENT)
    return pack


def test_pages_show_times_in_the_organisations_zone(world, tokyo):
    page = client_for(world.a[Role.EXECUTIVE].user).get(
        reverse("board_pack_list", kwargs={"org_slug": "acme"}))
    assert page.status_code == 200
    assert "1 Dec 2026 08:30" in page.content.decode()


def test_the_api_gives_times_with_the_organisations_offset(world, tokyo):
    answer = api_client_for(world.a[Role.EXECUTIVE].user).get(
        reverse("api_board_pack_detail", kwargs={"org_slug": "acme", "pack_id": tokyo.pk}))
    assert answer.status_code == 200
    assert answer.json()["requested_at"] == "2026-12-01T08:30:00+09:00"


def test_the_rollups_date_creation_and_updates_in_the_organisations_zone(world, tokyo):
    """Created 1 December in Tokyo (30 November in UTC), a monthly cadence is due on
    31 December: not stale that day, stale the next."""
    with scopes_disabled():
        Initiative.objects.filter(pk=world.initiative.pk).update(
            created_at=MOMENT, update_cadence_days=30, stage="detailed")
    for today, stale in ((dt.date(2026, 12, 31), False), (dt.date(2027, 1, 1), True)):
        rollups.rebuild(organization=world.org_a, today=today)
        with scope(organization=world.org_a):
            assert InitiativeFact.objects.get(initiative=world.initiative).stale is stale, today

"""The initiative list and detail pages do not grow their query count with rows,
and the detail page's History section names who changed what."""

import datetime as dt
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scopes_disabled

from cat4.tenancy.models import Role
from initiatives.models import BusinessUnit, Initiative, MonthlyValue, StatusUpdate
from tests.conftest import client_for
from tests.factories import ImpactLineFactory, InitiativeFactory, MilestoneFactory
from tests.initiatives.support import org_url, page_text

pytestmark = pytest.mark.django_db


def add_values(line, months=12):
    for m in range(1, months + 1):
        for kind in ("planned", "forecast"):
            MonthlyValue.objects.create(organization=line.organization, line=line,
                                        month=dt.date(2026, m, 1), kind=kind,
                                        amount=Decimal("100.00"))


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
        assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("filtered", [False, True], ids=["unfiltered", "all-filters"])
def test_list_page_query_count_does_not_grow_with_initiatives(world, filtered,
                                                              django_assert_max_num_queries):
    client = client_for(world.a[Role.VIEWER].user)
    with scopes_disabled():
        unit = BusinessUnit.objects.create(organization=world.org_a, name="Logistics")
        Initiative.objects.filter(pk=world.initiative.pk).update(business_unit=unit)
        program = world.initiative.program
    url = org_url("initiative_list")
    if filtered:  # every filter, each matching every initiative
        url += "?" + urlencode({
            "q": "AC-", "stage": "identified", "portfolio": program.portfolio_id,
            "program": program.pk, "business_unit": unit.pk,
            "owner": world.a[Role.OWNER].user.pk, "sort": "-target"})
    client.get(url)  # warm the session
    with scopes_disabled():
        line = ImpactLineFactory(initiative=world.initiative)
        add_values(line, months=2)
    few = count_queries(client, url)
    with scopes_disabled():
        for n in range(29):
            initiative = InitiativeFactory(
                program=world.initiative.program, code=f"AC-{200 + n}", business_unit=unit,
                owner=world.a[Role.OWNER].user, sponsor=world.a[Role.EXECUTIVE].user)
            add_values(ImpactLineFactory(initiative=initiative), months=2)
    with django_assert_max_num_queries(few):
        response = client.get(url)
    body = page_text(response)
    assert "30 initiatives" in body
    assert "AC-223" in body and "AC-224" not in body  # page size 25 (ties sort by id)


def test_list_page_filters(world):
    with scopes_disabled():
        InitiativeFactory(program=world.initiative.program, code="AC-777", title="Energy deal",
                          owner=world.a[Role.OWNER].user)
    client = client_for(world.a[Role.VIEWER].user)
    body = page_text(client.get(org_url("initiative_list"), {"q": "energy"}))
    assert "AC-777" in body and "AC-100" not in body
    body = page_text(client.get(org_url("initiative_list"), {"stage": "decided"}))
    assert "No initiatives match." in body


def test_detail_page_query_count_does_not_grow_with_milestones(world,
                                                               django_assert_max_num_queries):
    client = client_for(world.a[Role.OWNER].user)
    url = org_url("initiative_detail", initiative_id=world.initiative.pk)
    client.get(url)
    with scopes_disabled():
        MilestoneFactory(initiative=world.initiative)
        StatusUpdate.objects.create(organization=world.org_a, initiative=world.initiative,
                                    author=world.a[Role.OWNER].user, narrative="First",
                                    confidence="high")
    few = count_queries(client, url)
    with scopes_disabled():
        for n in range(19):
            MilestoneFactory(initiative=world.initiative, title=f"Step {n}",
                             done_date=dt.date(2026, 2, 1) if n % 2 else None)
        for n in range(6):
            StatusUpdate.objects.create(organization=world.org_a, initiative=world.initiative,
                                        author=world.a[Role.ADMIN].user, narrative=f"U{n}",
                                        confidence="medium")
    with django_assert_max_num_queries(few):
        response = client.get(url)
    assert page_text(response).count("/edit/\">Edit</a>") >= 20


def test_detail_page_renders_with_an_impact_line(world):
    with scopes_disabled():
        add_values(ImpactLineFactory(initiative=world.initiative, description="Freight"))
    response = client_for(world.a[Role.VIEWER].user).get(
        org_url("initiative_detail", initiative_id=world.initiative.pk))
    assert response.status_code == 200
    assert "Freight" in page_text(response)


def test_detail_page_query_count_does_not_grow_with_lines_and_milestones(
        world, django_assert_max_num_queries):
    client = client_for(world.a[Role.OWNER].user)
    url = org_url("initiative_detail", initiative_id=world.initiative.pk)
    client.get(url)
    with scopes_disabled():
        MilestoneFactory(initiative=world.initiative)
        add_values(ImpactLineFactory(initiative=world.initiative))
    few = count_queries(client, url)
    with scopes_disabled():
        for n in range(19):
            MilestoneFactory(initiative=world.initiative, title=f"Step {n}")
        for _ in range(4):
            add_values(ImpactLineFactory(initiative=world.initiative))
    with django_assert_max_num_queries(few):
        assert client.get(url).status_code == 200


# --- History ---------------------------------------------------------------------------------


def history_section(response) -> str:
    body = page_text(response)
    start = body.index('id="history-title"')
    return body[start:body.index("</section>", start)]


def test_history_names_who_changed_the_title(world):
    i = world.initiative
    owner = world.a[Role.OWNER].user
    client = client_for(owner)
    response = client.post(org_url("initiative_edit", initiative_id=i.pk), {
        "code": i.code, "title": "Freight tender, phase 2", "description": "",
        "program": str(i.program_id), "owner": str(owner.pk),
        "sponsor": str(i.sponsor_id), "controller": str(i.controller_id),
        "start_date": "2026-01-01", "target_date": "2027-12-31", "version": "1"})
    assert response.status_code == 302
    history = history_section(client_for(world.a[Role.VIEWER].user).get(
        org_url("initiative_detail", initiative_id=i.pk)))
    assert "Acme Owner: initiative update — title" in history
    # The row created by the factory has no request behind it.
    assert "system: initiative insert" in history
    assert "Acme Admin" not in history


def test_history_of_an_untouched_initiative_shows_only_its_creation(world):
    history = history_section(client_for(world.a[Role.VIEWER].user).get(
        org_url("initiative_detail", initiative_id=world.initiative.pk)))
    assert "initiative insert" in history
    assert "update" not in history

"""Optimistic locking of what hangs off an initiative (cat4.common.versioning):
milestones, risks and an impact line's values. Of two edits made from the same read the
first wins and the second writes nothing (StaleVersionError; 412 in the API; a form
error that keeps the input on the page), and the winner's change stays. A write
without If-Match is 428. (The initiative itself: test_initiative_concurrency.py.)"""

import datetime as dt
from decimal import Decimal

import pytest
from django_scopes import scopes_disabled

from cat4.common.exceptions import StaleVersionError
from cat4.tenancy.models import Role
from initiatives import selectors, services
from initiatives.models import ImpactLine, Milestone, MonthlyValue, Risk
from tests.conftest import api_client_for, client_for
from tests.factories import ImpactLineFactory, MilestoneFactory
from tests.initiatives.support import flashed, input_value, org_url, page_text, race

API = "/api/v1/o/acme"
JAN, FEB = dt.date(2026, 1, 1), dt.date(2026, 2, 1)


@pytest.fixture
def milestone(world):
    with scopes_disabled():
        return MilestoneFactory(initiative=world.initiative, title="Tender issued",
                                due_date=dt.date(2026, 6, 30))


@pytest.fixture
def risk(world):
    with scopes_disabled():
        return Risk.objects.create(organization=world.org_a, initiative=world.initiative,
                                   description="Carrier strike", probability=2, impact=4,
                                   owner=world.a[Role.OWNER].user)


@pytest.fixture
def line(world):
    with scopes_disabled():
        return ImpactLineFactory(initiative=world.initiative, description="Freight rates")


def row(model, obj) -> dict:
    with scopes_disabled():
        return model.objects.filter(pk=obj.pk).values().get()


def cells(line) -> dict:
    with scopes_disabled():
        return {(v.month, v.kind): v.amount for v in MonthlyValue.objects.filter(line=line)}


def admin(world):
    return world.a[Role.ADMIN].membership


def owner(world):
    return world.a[Role.OWNER].membership


# --- Services -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_milestone_saved_from_a_stale_read_writes_nothing(world, milestone):
    saved = services.milestone_update(membership=admin(world), milestone_id=milestone.pk,
                                      version=1, title="Tender out")
    assert saved.version == 2
    with pytest.raises(StaleVersionError) as exc:
        services.milestone_update(membership=owner(world), milestone_id=milestone.pk,
                                  version=1, weight=40)
    assert exc.value.status_code == 412
    assert exc.value.message.startswith("Someone else changed this milestone since you "
                                         "opened it.")
    with pytest.raises(StaleVersionError):  # a delete from the old read too
        services.milestone_delete(membership=owner(world), milestone_id=milestone.pk,
                                  version=1)
    stored = row(Milestone, milestone)
    assert (stored["title"], stored["weight"], stored["version"]) == ("Tender out", 1, 2)
    services.milestone_delete(membership=owner(world), milestone_id=milestone.pk, version=2)
    with scopes_disabled():
        assert not Milestone.objects.filter(pk=milestone.pk).exists()


@pytest.mark.django_db
def test_a_risk_saved_from_a_stale_read_writes_nothing(world, risk):
    services.risk_update(membership=admin(world), risk_id=risk.pk, version=1,
                         status="mitigated")
    with pytest.raises(StaleVersionError, match="Someone else changed this risk"):
        services.risk_update(membership=owner(world), risk_id=risk.pk, version=1, impact=5)
    stored = row(Risk, risk)
    assert (stored["status"], stored["impact"], stored["version"]) == ("mitigated", 4, 2)


@pytest.mark.django_db
def test_a_lines_version_goes_up_when_its_values_change_and_guards_them(world, line):
    services.monthly_values_set(membership=admin(world), line_id=line.pk, kind="planned",
                                values={JAN: "100"}, version=1)
    assert row(ImpactLine, line)["version"] == 2
    with pytest.raises(StaleVersionError, match="Someone else changed this impact line"):
        services.monthly_values_set(membership=owner(world), line_id=line.pk,
                                    kind="planned", values={JAN: "90", FEB: "90"}, version=1)
    assert cells(line) == {(JAN, "planned"): Decimal("100.00")}
    # The same amounts again change nothing, so the version stays.
    services.monthly_values_set(membership=owner(world), line_id=line.pk, kind="planned",
                                values={JAN: "100.00"}, version=2)
    assert row(ImpactLine, line)["version"] == 2


@pytest.mark.django_db
def test_writers_without_a_read_skip_the_comparison_but_still_raise_the_version(world, line,
                                                                                 milestone):
    # The Excel import and the demo data read and write in one transaction.
    services.monthly_values_set(membership=admin(world), line_id=line.pk, kind="planned",
                                values={JAN: "100"})
    services.milestone_update(membership=admin(world), milestone_id=milestone.pk, weight=3)
    assert (row(ImpactLine, line)["version"], row(Milestone, milestone)["version"]) == (2, 2)


@pytest.mark.django_db
def test_a_values_save_adds_no_empty_line_entry_to_the_history(world, line):
    services.monthly_values_set(membership=owner(world), line_id=line.pk, kind="planned",
                                values={JAN: "100"}, version=1)
    with scopes_disabled():
        history = selectors.history_of(initiative=world.initiative)
    assert [(h.what, h.label) for h in history if h.what == "ImpactLine"] == [
        ("ImpactLine", "insert")]


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_milestone_saves_of_the_same_version_one_wins(world):
    with scopes_disabled():
        milestone_id = MilestoneFactory(initiative=world.initiative, title="Pilot").pk
    winners, losers = race(
        lambda membership, n: services.milestone_update(
            membership=membership, milestone_id=milestone_id, version=1,
            title=f"Title from thread {n}"),
        [world.a[Role.OWNER].membership.pk, world.a[Role.ADMIN].membership.pk])
    assert len(winners) == 1, (winners, losers)
    assert len(losers) == 1 and isinstance(losers[0], StaleVersionError), losers
    with scopes_disabled():
        saved = Milestone.objects.get(pk=milestone_id)
    assert (saved.title, saved.version) == (f"Title from thread {winners[0]}", 2)


# --- API ------------------------------------------------------------------------------


def _two_writes(world, method: str, url: str, first: dict, second: dict, **kwargs):
    """The admin and the owner both write from version 1: the admin first."""
    done = getattr(api_client_for(world.a[Role.ADMIN].user), method)(
        url, first, format="json", HTTP_IF_MATCH='"v1"', **kwargs)
    late = getattr(api_client_for(world.a[Role.OWNER].user), method)(
        url, second, format="json", HTTP_IF_MATCH='"v1"', **kwargs)
    return done, late


@pytest.mark.django_db
def test_api_milestone_edits_from_one_read_one_wins(world, milestone):
    listed = api_client_for(world.a[Role.OWNER].user).get(
        f"{API}/initiatives/{world.initiative.pk}/milestones/").json()
    assert [m["version"] for m in listed] == [1]  # the ETag is "v" and this
    url = f"{API}/milestones/{milestone.pk}/"
    done, late = _two_writes(world, "patch", url, {"title": "Tender out"}, {"weight": 40})
    assert done.status_code == 200 and done["ETag"] == '"v2"'
    assert late.status_code == 412
    assert late.json()["detail"].startswith("Someone else changed this milestone")
    stored = row(Milestone, milestone)
    assert (stored["title"], stored["weight"], stored["version"]) == ("Tender out", 1, 2)
    # A delete from the old read is refused too; from the current one it goes through.
    client = api_client_for(world.a[Role.OWNER].user)
    assert client.delete(url, HTTP_IF_MATCH='"v1"').status_code == 412
    assert client.delete(url, HTTP_IF_MATCH=done["ETag"]).status_code == 204


@pytest.mark.django_db
def test_api_milestone_writes_without_if_match_are_428(world, milestone):
    client = api_client_for(world.a[Role.OWNER].user)
    url = f"{API}/milestones/{milestone.pk}/"
    before = row(Milestone, milestone)
    for response in (client.patch(url, {"title": "x"}, format="json"), client.delete(url)):
        assert response.status_code == 428
        assert "If-Match" in response.json()["detail"]
    assert row(Milestone, milestone) == before


@pytest.mark.django_db
def test_api_risk_edits_from_one_read_one_wins(world, risk):
    url = f"{API}/risks/{risk.pk}/"
    done, late = _two_writes(world, "patch", url, {"status": "mitigated"}, {"impact": 5})
    assert done.status_code == 200 and done["ETag"] == '"v2"'
    assert done.json()["version"] == 2
    assert late.status_code == 412
    stored = row(Risk, risk)
    assert (stored["status"], stored["impact"]) == ("mitigated", 4)
    missing = api_client_for(world.a[Role.OWNER].user).patch(url, {"impact": 5}, format="json")
    assert missing.status_code == 428 and row(Risk, risk)["impact"] == 4


@pytest.mark.django_db
def test_api_line_values_from_one_read_one_wins(world, line):
    url = f"{API}/lines/{line.pk}/values/"
    done, late = _two_writes(world, "put", url,
                             {"kind": "planned", "values": {"2026-01": "100.00"}},
                             {"kind": "planned", "values": {"2026-01": "90.00"}})
    assert done.status_code == 200 and done["ETag"] == '"v2"'
    assert late.status_code == 412
    assert cells(line) == {(JAN, "planned"): Decimal("100.00")}
    missing = api_client_for(world.a[Role.OWNER].user).put(
        url, {"kind": "planned", "values": {"2026-01": "90.00"}}, format="json")
    assert missing.status_code == 428
    assert cells(line) == {(JAN, "planned"): Decimal("100.00")}
    listed = api_client_for(world.a[Role.VIEWER].user).get(
        f"{API}/initiatives/{world.initiative.pk}/lines/").json()
    assert [ln["version"] for ln in listed] == [2]


# --- Pages ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_milestone_page_saved_from_a_stale_read_keeps_the_input(world, milestone):
    url = org_url("milestone_edit", milestone_id=milestone.pk)
    client = client_for(world.a[Role.OWNER].user)
    assert input_value(client.get(url), "version") == "1"
    services.milestone_update(membership=admin(world), milestone_id=milestone.pk, version=1,
                              title="Tender out")
    mine = {"title": "Tender issued late", "due_date": "2026-07-31", "weight": "5",
            "done_date": "", "waiver_reason": "", "version": "1"}
    response = client.post(url, mine)
    assert response.status_code == 409
    body = page_text(response)
    assert "Someone else changed this milestone since you opened it." in body
    assert input_value(response, "title") == "Tender issued late"
    assert input_value(response, "version") == "2"
    assert row(Milestone, milestone)["title"] == "Tender out"
    again = client.post(url, {**mine, "version": "2"})
    assert again.status_code == 302
    assert row(Milestone, milestone)["title"] == "Tender issued late"


@pytest.mark.django_db
def test_risk_page_saved_from_a_stale_read_keeps_the_input(world, risk):
    url = org_url("risk_edit", risk_id=risk.pk)
    client = client_for(world.a[Role.OWNER].user)
    assert input_value(client.get(url), "version") == "1"
    services.risk_update(membership=admin(world), risk_id=risk.pk, version=1,
                         status="mitigated")
    response = client.post(url, {"description": "Carrier strike in May", "probability": "3",
                                 "impact": "4", "owner": world.a[Role.OWNER].user.pk,
                                 "mitigation": "", "status": "open", "version": "1"})
    assert response.status_code == 409
    assert "Someone else changed this risk since you opened it." in page_text(response)
    assert "Carrier strike in May" in page_text(response)
    assert input_value(response, "version") == "2"
    stored = row(Risk, risk)
    assert (stored["description"], stored["status"]) == ("Carrier strike", "mitigated")


@pytest.mark.django_db
def test_values_grid_saved_from_a_stale_read_keeps_the_input_and_saves_nothing(world, line):
    with scopes_disabled():
        other = ImpactLineFactory(initiative=world.initiative, description="Volumes")
    url = org_url("values_edit", initiative_id=world.initiative.pk, kind="planned")
    client = client_for(world.a[Role.OWNER].user)
    page = client.get(url)
    assert (input_value(page, f"version-{line.pk}"), input_value(page, f"version-{other.pk}")
            ) == ("1", "1")
    services.monthly_values_set(membership=admin(world), line_id=line.pk, kind="planned",
                                values={JAN: "100"}, version=1)
    mine = {f"v-{other.pk}-2026-01": "7", f"v-{line.pk}-2026-01": "90",
            f"version-{line.pk}": "1", f"version-{other.pk}": "1"}
    response = client.post(url, mine)
    assert response.status_code == 409
    body = page_text(response)
    assert "Freight rates: Someone else changed this impact line since you opened it." in body
    assert input_value(response, f"v-{line.pk}-2026-01") == "90"
    assert input_value(response, f"v-{other.pk}-2026-01") == "7"
    assert input_value(response, f"version-{line.pk}") == "2"
    # All or nothing: the other line's cell, though current, is not saved either.
    assert cells(line) == {(JAN, "planned"): Decimal("100.00")}
    assert cells(other) == {}
    again = client.post(url, {**mine, f"version-{line.pk}": "2"})
    assert again.status_code == 302
    assert cells(line) == {(JAN, "planned"): Decimal("90.00")}
    assert cells(other) == {(JAN, "planned"): Decimal("7.00")}


@pytest.mark.django_db
def test_milestone_delete_page_from_a_stale_read_keeps_the_milestone(world, milestone):
    services.milestone_update(membership=admin(world), milestone_id=milestone.pk, version=1,
                              done_date=dt.date(2026, 6, 1))
    response = client_for(world.a[Role.OWNER].user).post(
        org_url("milestone_delete", milestone_id=milestone.pk), {"version": "1"})
    assert response.status_code == 302
    assert flashed(response)[0].startswith("Someone else changed this milestone")
    assert row(Milestone, milestone)["done_date"] == dt.date(2026, 6, 1)

"""Optimistic locking of KPIs (cat4.common.versioning): the definition and the planned
series share the KPI's version; a link has its own. Of two edits made from the same
read the first wins and the second writes nothing (StaleVersionError; 412 in the API; a
form error that keeps the input on the page). A write without If-Match is 428."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from cat4.common.exceptions import StaleVersionError
from cat4.tenancy.models import Role
from kpis import services
from kpis.models import Kpi, KpiLink, KpiPlanPoint
from tests.conftest import api_client_for, client_for

pytestmark = pytest.mark.django_db

API = "/api/v1/o/acme"
MARCH, APRIL = dt.date(2026, 3, 1), dt.date(2026, 4, 1)
DEFINITION = {"name": "On-time delivery", "unit": "%", "direction": "higher",
              "baseline": "80", "baseline_date": dt.date(2026, 1, 1), "target": "92",
              "target_date": dt.date(2027, 1, 1), "frequency": "monthly"}


@pytest.fixture
def kpi(world):
    return services.kpi_create(membership=world.a[Role.EXECUTIVE].membership,
                               owner=world.a[Role.OWNER].user, **DEFINITION)


@pytest.fixture
def link(world, kpi):
    return services.kpi_link(membership=world.a[Role.ADMIN].membership, kpi_id=kpi.pk,
                             initiative=world.initiative.pk)


def stored(kpi) -> Kpi:
    with scopes_disabled():
        return Kpi.objects.get(pk=kpi.pk)


def plan(kpi) -> dict:
    with scopes_disabled():
        return dict(KpiPlanPoint.objects.filter(kpi=kpi).values_list("period", "value"))


def url(name, **kwargs):
    return reverse(name, kwargs={"org_slug": "acme", **kwargs})


# --- Services -------------------------------------------------------------------------


def test_a_kpi_saved_from_a_stale_read_writes_nothing(world, kpi):
    services.kpi_update(membership=world.a[Role.ADMIN].membership, kpi_id=kpi.pk, version=1,
                        name="Delivery on time")
    with pytest.raises(StaleVersionError) as exc:
        services.kpi_update(membership=world.a[Role.EXECUTIVE].membership, kpi_id=kpi.pk,
                            version=1, target="95")
    assert exc.value.status_code == 412
    assert exc.value.message.startswith("Someone else changed this KPI since you opened it.")
    saved = stored(kpi)
    assert (saved.name, saved.target, saved.version) == ("Delivery on time", Decimal("92"), 2)


def test_the_plan_shares_the_kpis_version(world, kpi):
    executive = world.a[Role.EXECUTIVE].membership
    services.kpi_plan_set(membership=executive, kpi_id=kpi.pk, points={MARCH: "84"}, version=1)
    assert stored(kpi).version == 2
    with pytest.raises(StaleVersionError):
        services.kpi_plan_set(membership=executive, kpi_id=kpi.pk, points={MARCH: "83"},
                              version=1)
    with pytest.raises(StaleVersionError):  # a definition read before the plan changed
        services.kpi_update(membership=executive, kpi_id=kpi.pk, version=1, name="Late")
    assert plan(kpi) == {MARCH: Decimal("84")} and stored(kpi).name == "On-time delivery"
    # The same value again changes nothing: the version stays.
    services.kpi_plan_set(membership=executive, kpi_id=kpi.pk, points={MARCH: "84"}, version=2)
    assert stored(kpi).version == 2


def test_readings_and_the_recompute_do_not_change_the_version(world, kpi):
    services.reading_record(membership=world.a[Role.OWNER].membership, kpi_id=kpi.pk,
                            period=dt.date(2026, 2, 1), value="81")
    with scopes_disabled():  # as the job runs it
        services.kpi_recompute(kpi_id=kpi.pk)
    assert stored(kpi).version == 1


def test_a_link_changed_since_it_was_read_is_not_removed(world, kpi, link):
    admin = world.a[Role.ADMIN].membership
    relinked = services.kpi_link(membership=admin, kpi_id=kpi.pk,
                                 initiative=world.initiative.pk, weight="2")
    assert (relinked.pk, relinked.version) == (link.pk, 2)
    with pytest.raises(StaleVersionError, match="Someone else changed this link"):
        services.kpi_unlink(membership=admin, link_id=link.pk, version=1)
    with scopes_disabled():
        assert KpiLink.objects.get(pk=link.pk).weight == Decimal("2")
    services.kpi_unlink(membership=admin, link_id=link.pk, version=2)
    with scopes_disabled():
        assert not KpiLink.objects.filter(pk=link.pk).exists()


# --- API ------------------------------------------------------------------------------


def _two_writes(world, method: str, path: str, first: dict, second: dict):
    """An admin and an executive both write from version 1: the admin first."""
    done = getattr(api_client_for(world.a[Role.ADMIN].user), method)(
        path, first, format="json", HTTP_IF_MATCH='"v1"')
    late = getattr(api_client_for(world.a[Role.EXECUTIVE].user), method)(
        path, second, format="json", HTTP_IF_MATCH='"v1"')
    return done, late


def test_api_kpi_edits_from_one_read_one_wins(world, kpi):
    read = api_client_for(world.a[Role.EXECUTIVE].user).get(f"{API}/kpis/{kpi.pk}/")
    assert read["ETag"] == '"v1"' and read.json()["version"] == 1
    done, late = _two_writes(world, "patch", f"{API}/kpis/{kpi.pk}/",
                             {"name": "Delivery on time"}, {"target": "95"})
    assert done.status_code == 200 and done["ETag"] == '"v2"'
    assert late.status_code == 412
    assert late.json()["detail"].startswith("Someone else changed this KPI")
    saved = stored(kpi)
    assert (saved.name, saved.target) == ("Delivery on time", Decimal("92"))


def test_api_plan_edits_from_one_read_one_wins(world, kpi):
    path = f"{API}/kpis/{kpi.pk}/plan/"
    assert api_client_for(world.a[Role.VIEWER].user).get(path)["ETag"] == '"v1"'
    done, late = _two_writes(world, "put", path,
                             {"points": [{"period": "2026-03-01", "value": "84"}]},
                             {"points": [{"period": "2026-03-01", "value": "83"},
                                         {"period": "2026-04-01", "value": "85"}]})
    assert done.status_code == 200 and done["ETag"] == '"v2"'
    assert late.status_code == 412
    assert plan(kpi) == {MARCH: Decimal("84")}


def test_api_link_removal_after_a_change_is_412(world, kpi, link):
    client = api_client_for(world.a[Role.EXECUTIVE].user)
    listed = client.get(f"{API}/kpis/{kpi.pk}/links/").json()
    assert [x["version"] for x in listed] == [1]
    relinked = api_client_for(world.a[Role.ADMIN].user).post(
        f"{API}/kpis/{kpi.pk}/links/", {"initiative": world.initiative.pk, "weight": "2"},
        format="json")
    assert relinked.status_code == 201 and relinked["ETag"] == '"v2"'
    path = f"{API}/kpi-links/{link.pk}/"
    assert client.delete(path, HTTP_IF_MATCH='"v1"').status_code == 412
    with scopes_disabled():
        assert KpiLink.objects.filter(pk=link.pk).exists()
    assert client.delete(path, HTTP_IF_MATCH=relinked["ETag"]).status_code == 204


def test_api_kpi_writes_without_if_match_are_428_and_write_nothing(world, kpi, link):
    client = api_client_for(world.a[Role.ADMIN].user)
    for response in (
        client.patch(f"{API}/kpis/{kpi.pk}/", {"name": "x"}, format="json"),
        client.put(f"{API}/kpis/{kpi.pk}/plan/",
                   {"points": [{"period": "2026-03-01", "value": "84"}]}, format="json"),
        client.delete(f"{API}/kpi-links/{link.pk}/"),
    ):
        assert response.status_code == 428
        assert "If-Match" in response.json()["detail"]
    saved = stored(kpi)
    assert (saved.name, saved.version, plan(kpi)) == ("On-time delivery", 1, {})
    with scopes_disabled():
        assert KpiLink.objects.filter(pk=link.pk).exists()


# --- Pages ----------------------------------------------------------------------------


def test_plan_page_saved_from_a_stale_read_keeps_the_input(world, kpi):
    client = client_for(world.a[Role.EXECUTIVE].user)
    assert 'name="version" value="1"' in client.get(url("kpi_plan", kpi_id=kpi.pk)
                                                    ).content.decode()
    services.kpi_plan_set(membership=world.a[Role.ADMIN].membership, kpi_id=kpi.pk,
                          points={MARCH: "84"}, version=1)
    mine = {"p-2026-03-01": "83", "p-2026-04-01": "85", "version": "1"}
    response = client.post(url("kpi_plan", kpi_id=kpi.pk), mine)
    assert response.status_code == 409
    body = response.content.decode()
    assert "Someone else changed this KPI since you opened it." in body
    assert 'value="83"' in body and 'value="85"' in body
    assert 'name="version" value="2"' in body
    assert plan(kpi) == {MARCH: Decimal("84")}
    again = client.post(url("kpi_plan", kpi_id=kpi.pk), {**mine, "version": "2"})
    assert again.status_code == 302
    assert plan(kpi) == {MARCH: Decimal("83"), APRIL: Decimal("85")}


def test_kpi_edit_page_without_a_version_is_refused_as_stale(world, kpi):
    data = {"name": "No version", "unit": "%", "direction": "higher", "frequency": "monthly",
            "baseline": "80", "baseline_date": "2026-01-01", "target": "92",
            "target_date": "2027-01-01", "owner": world.a[Role.OWNER].user.pk}
    response = client_for(world.a[Role.ADMIN].user).post(url("kpi_edit", kpi_id=kpi.pk), data)
    assert response.status_code == 409
    assert stored(kpi).name == "On-time delivery"


def test_link_remove_page_after_a_change_keeps_the_link(world, kpi, link):
    services.kpi_link(membership=world.a[Role.ADMIN].membership, kpi_id=kpi.pk,
                      initiative=world.initiative.pk, weight="2")
    response = client_for(world.a[Role.EXECUTIVE].user).post(
        url("kpi_link_remove", link_id=link.pk), {"version": "1"})
    assert response.status_code == 302
    assert response["Location"] == url("kpi_detail", kpi_id=kpi.pk)
    with scopes_disabled():
        assert KpiLink.objects.get(pk=link.pk).weight == Decimal("2")

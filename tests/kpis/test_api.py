"""KPI API: definitions and readings, with field errors and the float rule."""

import pytest
from django_scopes import scopes_disabled

from cat4.tenancy.models import Role
from kpis.models import Kpi, KpiReading
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db

BODY = {"name": "Cost to serve", "unit": "EUR", "direction": "lower", "frequency": "monthly",
        "baseline": "12.5", "baseline_date": "2026-01-01", "target": "10",
        "target_date": "2027-12-31"}


def create(world, **changes):
    return api_client_for(world.a[Role.EXECUTIVE].user).post(
        "/api/v1/o/acme/kpis/", {**BODY, "owner": world.a[Role.OWNER].user.pk, **changes},
        format="json")


def test_create_then_read_with_status(world):
    response = create(world)
    assert response.status_code == 201
    body = response.json()
    assert (body["baseline"], body["target"], body["latest"], body["stale"]) == (
        "12.5000", "10.0000", None, True)
    listed = api_client_for(world.a[Role.VIEWER].user).get("/api/v1/o/acme/kpis/").json()
    assert [k["name"] for k in listed["results"]] == ["Cost to serve"]


@pytest.mark.parametrize(("changes", "field"), [
    ({"baseline": 12.5}, "baseline"), ({"target": "ten"}, "target"),
    ({"target_date": "2025-01-01"}, "target_date"), ({"direction": "up"}, "direction"),
    ({"owner": 999999}, "owner"),
])
def test_bad_definitions_are_400_on_the_field(world, changes, field):
    response = create(world, **changes)
    assert response.status_code == 400
    assert field in response.json()
    with scopes_disabled():
        assert not Kpi.objects.exists()


def test_readings_by_the_owner_and_float_refused(world):
    kpi_id = create(world).json()["id"]
    owner = api_client_for(world.a[Role.OWNER].user)
    url = f"/api/v1/o/acme/kpis/{kpi_id}/readings/"
    assert owner.post(url, {"period": "2026-02-01", "value": 11.9},
                      format="json").status_code == 400
    response = owner.post(url, {"period": "2026-02-01", "value": "11.9"}, format="json")
    assert response.status_code == 201
    assert owner.get(url).json()[0]["value"] == "11.9000"
    assert api_client_for(world.a[Role.CONTROLLER].user).post(
        url, {"period": "2026-03-01", "value": "11"}, format="json").status_code == 403
    with scopes_disabled():
        assert KpiReading.objects.count() == 1

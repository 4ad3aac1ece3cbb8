"""Defining a KPI after it exists (issue #4): editing the definition and its own
thresholds, the planned series, and the links to initiatives and objectives, as
services, pages and API."""

import datetime as dt
import html
from decimal import Decimal

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from cat4.common.exceptions import ApplicationError, NotFoundError, PermissionDeniedError
from cat4.tenancy.models import Role
from initiatives.models import StrategicObjective
from kpis import selectors, services
from kpis.models import Kpi, KpiLink, KpiPlanPoint
from tests.conftest import ORG_A_MARKER, api_client_for, client_for
from tests.factories import InitiativeFactory, ProgramFactory

pytestmark = pytest.mark.django_db

DEFINITION = {"name": "On-time delivery", "unit": "%", "direction": "higher",
              "baseline": "80", "baseline_date": dt.date(2026, 1, 1), "target": "92",
              "target_date": dt.date(2027, 1, 1), "frequency": "monthly"}


@pytest.fixture
def kpi(world):
    kpi = services.kpi_create(membership=world.a[Role.EXECUTIVE].membership,
                              owner=world.a[Role.OWNER].user, **DEFINITION)
    _clean(kpi)
    return kpi


def _clean(kpi):
    with scopes_disabled():
        Kpi.objects.filter(pk=kpi.pk).update(needs_recompute=False, dirty_since=None)


def _reload(kpi):
    with scopes_disabled():
        return Kpi.objects.get(pk=kpi.pk)


def _links(kpi):
    with scopes_disabled():
        return selectors.kpi_links(kpi=kpi)


def _plan_rows(world, kpi):
    with scopes_disabled():
        return selectors.kpi_plan(kpi=selectors.kpi_get(organization=world.org_a,
                                                        kpi_id=kpi.pk))


def _plan(kpi):
    with scopes_disabled():
        return dict(KpiPlanPoint.objects.filter(kpi=kpi).values_list("period", "value"))


@pytest.fixture
def foreign(world):
    """An initiative, an objective and a KPI link of org B."""
    with scopes_disabled():
        program = ProgramFactory(organization=world.org_b, portfolio__organization=world.org_b)
        initiative = InitiativeFactory(program=program, code="GX-1", title="Globex plant",
                                       owner=world.b_executive.user)
        objective = StrategicObjective.objects.create(organization=world.org_b, code="GO-1",
                                                      title="Globex growth")
    kpi = services.kpi_create(membership=world.b_executive.membership,
                              owner=world.b_executive.user, **DEFINITION)
    link = services.kpi_link(membership=world.b_executive.membership, kpi_id=kpi.pk,
                             initiative=initiative.pk)
    return {"initiative": initiative, "objective": objective, "kpi": kpi, "link": link}


@pytest.fixture
def objective(world):
    with scopes_disabled():
        return StrategicObjective.objects.create(organization=world.org_a, code="SO-1",
                                                 title="Reliable delivery")


# --- Services: definition ---------------------------------------------------------------


def test_update_sets_and_clears_the_own_thresholds_and_marks_dirty(world, kpi):
    admin = world.a[Role.ADMIN].membership
    services.kpi_update(membership=admin, kpi_id=kpi.pk, green_at="0.95", red_below="0.8")
    updated = _reload(kpi)
    assert (updated.green_at, updated.red_below) == (Decimal("0.95"), Decimal("0.8"))
    assert updated.needs_recompute and updated.dirty_since is not None
    services.kpi_update(membership=admin, kpi_id=kpi.pk, green_at="", red_below=None)
    assert (_reload(kpi).green_at, _reload(kpi).red_below) == (None, None)


def test_update_refuses_a_stale_version_and_writes_nothing(world, kpi):
    admin = world.a[Role.ADMIN].membership
    read = kpi.version
    services.kpi_update(membership=admin, kpi_id=kpi.pk, version=read, name="Renamed")
    with pytest.raises(services.StaleVersionError):
        services.kpi_update(membership=admin, kpi_id=kpi.pk, version=read, name="Again")
    assert _reload(kpi).name == "Renamed"


# --- Services: planned series -----------------------------------------------------------


def test_plan_sets_and_clears_values_and_marks_the_kpi_dirty(world, kpi):
    executive = world.a[Role.EXECUTIVE].membership
    services.kpi_plan_set(membership=executive, kpi_id=kpi.pk, points={
        dt.date(2026, 3, 1): "84.5", dt.date(2026, 4, 1): Decimal("85")})
    assert _plan(kpi) == {dt.date(2026, 3, 1): Decimal("84.5"),
                          dt.date(2026, 4, 1): Decimal("85")}
    assert _reload(kpi).needs_recompute and _reload(kpi).dirty_since is not None
    _clean(kpi)
    services.kpi_plan_set(membership=executive, kpi_id=kpi.pk, points={
        dt.date(2026, 3, 1): None, dt.date(2026, 4, 1): " ", dt.date(2026, 5, 1): "86"})
    assert _plan(kpi) == {dt.date(2026, 5, 1): Decimal("86")}
    assert _reload(kpi).needs_recompute


def test_an_empty_change_leaves_the_kpi_clean(world, kpi):
    services.kpi_plan_set(membership=world.a[Role.ADMIN].membership, kpi_id=kpi.pk, points={})
    assert not _reload(kpi).needs_recompute


@pytest.mark.parametrize(("period", "value", "field", "message"), [
    ("2026-03-01", "84", "points", "Enter the period as a date."),
    (dt.date(2026, 3, 15), "84", "points.2026-03-15",
     "Monthly periods start on 2026-03-01, not 2026-03-15."),
    (dt.date(2025, 12, 1), "84", "points.2025-12-01",
     "2025-12 is outside the KPI's periods (2026-01 to 2027-01"),
    (dt.date(2027, 2, 1), "84", "points.2027-02-01", "is outside the KPI's periods"),
    (dt.date(2026, 3, 1), "lots", "points.2026-03-01", "“lots” is not a number."),
    (dt.date(2026, 3, 1), 84.5, "points.2026-03-01", "Give the number as text"),
    (dt.date(2026, 3, 1), "1.23456", "points.2026-03-01", "Use at most 4 decimal places."),
    (dt.date(2026, 3, 1), "1" + "0" * 15, "points.2026-03-01", "Use at most 14 digits"),
    (dt.date(2026, 3, 1), "NaN", "points.2026-03-01", "Use at most 14 digits"),
])
def test_bad_plan_points_are_refused_and_nothing_is_written(world, kpi, period, value, field,
                                                            message):
    points = {dt.date(2026, 2, 1): "82", period: value}  # the good point is not kept either
    with pytest.raises(ApplicationError) as exc:
        services.kpi_plan_set(membership=world.a[Role.ADMIN].membership, kpi_id=kpi.pk,
                              points=points)
    assert exc.value.field == field
    assert message in exc.value.message
    assert _plan(kpi) == {}
    assert not _reload(kpi).needs_recompute


def test_weekly_and_quarterly_periods_are_checked_for_their_frequency(world, kpi):
    admin = world.a[Role.ADMIN].membership
    services.kpi_update(membership=admin, kpi_id=kpi.pk, frequency="quarterly")
    with pytest.raises(ApplicationError, match="Quarterly periods start on 2026-01-01"):
        services.kpi_plan_set(membership=admin, kpi_id=kpi.pk,
                              points={dt.date(2026, 2, 1): "81"})
    services.kpi_update(membership=admin, kpi_id=kpi.pk, frequency="weekly")
    with pytest.raises(ApplicationError, match="Weekly periods start on 2026-01-05"):
        services.kpi_plan_set(membership=admin, kpi_id=kpi.pk,
                              points={dt.date(2026, 1, 7): "81"})
    services.kpi_plan_set(membership=admin, kpi_id=kpi.pk, points={dt.date(2026, 1, 5): "81"})


def test_a_plan_point_left_outside_by_a_changed_definition_can_only_be_cleared(world, kpi):
    admin = world.a[Role.ADMIN].membership
    services.kpi_plan_set(membership=admin, kpi_id=kpi.pk, points={dt.date(2026, 2, 1): "82"})
    services.kpi_update(membership=admin, kpi_id=kpi.pk, frequency="quarterly")
    rows = _plan_rows(world, kpi)
    assert [r.period for r in rows if r.outside] == [dt.date(2026, 2, 1)]
    with pytest.raises(ApplicationError, match="can only be cleared"):
        services.kpi_plan_set(membership=admin, kpi_id=kpi.pk,
                              points={dt.date(2026, 2, 1): "83"})
    services.kpi_plan_set(membership=admin, kpi_id=kpi.pk, points={dt.date(2026, 2, 1): None})
    assert _plan(kpi) == {}


def test_the_plan_is_for_admins_and_executives_of_the_kpis_organisation(world, kpi):
    point = {dt.date(2026, 3, 1): "84"}
    for role in (Role.CONTROLLER, Role.OWNER, Role.VIEWER):
        with pytest.raises(PermissionDeniedError):
            services.kpi_plan_set(membership=world.a[role].membership, kpi_id=kpi.pk,
                                  points=point)
    with pytest.raises(NotFoundError):
        services.kpi_plan_set(membership=world.b_executive.membership, kpi_id=kpi.pk,
                              points=point)
    assert _plan(kpi) == {}


def test_the_expected_path_uses_the_plan_where_set_else_the_straight_line(world, kpi):
    services.kpi_plan_set(membership=world.a[Role.ADMIN].membership, kpi_id=kpi.pk,
                          points={dt.date(2026, 7, 1): "83"})
    rows = {r.period: r for r in _plan_rows(world, kpi)}
    assert len(rows) == 13  # January 2026 to January 2027
    july = rows[dt.date(2026, 7, 1)]
    assert (july.planned, july.expected) == (Decimal("83"), Decimal("83"))
    assert july.linear == Decimal("85.9507")  # 80 + 12 * 181 / 365
    june = rows[dt.date(2026, 6, 1)]
    assert june.planned is None and june.expected == june.linear
    assert rows[dt.date(2026, 1, 1)].expected == Decimal("80")
    assert rows[dt.date(2027, 1, 1)].expected == Decimal("92")


# --- Services: links --------------------------------------------------------------------


def test_links_to_objectives_and_unlinking(world, kpi, objective):
    executive = world.a[Role.EXECUTIVE].membership
    to_objective = services.kpi_link(membership=executive, kpi_id=kpi.pk,
                                     objective=objective.pk, weight="0.5")
    to_initiative = services.kpi_link(membership=executive, kpi_id=kpi.pk,
                                      initiative=world.initiative.pk)
    links = _links(kpi)
    assert [link.pk for link in links] == [to_initiative.pk, to_objective.pk]
    services.kpi_unlink(membership=executive, link_id=to_objective.pk)
    with scopes_disabled():
        assert list(KpiLink.objects.values_list("pk", flat=True)) == [to_initiative.pk]


def test_link_weights_and_targets_are_checked(world, kpi, objective, foreign):
    executive = world.a[Role.EXECUTIVE].membership
    cases = [({"initiative": world.initiative.pk, "weight": "0"}, "weight"),
             ({"initiative": world.initiative.pk, "weight": "x"}, "weight"),
             ({"objective": foreign["objective"].pk}, "objective"),
             ({"initiative": foreign["initiative"].pk}, "initiative"),
             ({"initiative": world.initiative.pk, "objective": objective.pk}, "initiative")]
    for kwargs, field in cases:
        with pytest.raises(ApplicationError) as exc:
            services.kpi_link(membership=executive, kpi_id=kpi.pk, **kwargs)
        assert exc.value.field == field
    with scopes_disabled():
        assert not KpiLink.objects.filter(organization=world.org_a).exists()


def test_unlink_is_for_admins_and_executives_of_the_links_organisation(world, kpi, foreign):
    link = services.kpi_link(membership=world.a[Role.ADMIN].membership, kpi_id=kpi.pk,
                             initiative=world.initiative.pk)
    for role in (Role.CONTROLLER, Role.OWNER, Role.VIEWER):
        with pytest.raises(PermissionDeniedError):
            services.kpi_unlink(membership=world.a[role].membership, link_id=link.pk)
    with pytest.raises(NotFoundError):
        services.kpi_unlink(membership=world.a[Role.ADMIN].membership,
                            link_id=foreign["link"].pk)
    with scopes_disabled():
        assert KpiLink.objects.count() == 2


# --- Pages ------------------------------------------------------------------------------


def url(name, **kwargs):
    return reverse(name, kwargs={"org_slug": "acme", **kwargs})


def _form(world, **changes):
    data = {"name": "On-time delivery", "unit": "%", "direction": "higher",
            "frequency": "monthly", "baseline": "80", "baseline_date": "2026-01-01",
            "target": "92", "target_date": "2027-01-01", "owner": world.a[Role.OWNER].user.pk,
            "green_at": "", "red_below": "", "description": "", "version": "1"}
    return {**data, **changes}


def test_the_detail_page_links_to_edit_and_plan_for_steerers_only(world, kpi):
    body = client_for(world.a[Role.EXECUTIVE].user).get(url("kpi_detail", kpi_id=kpi.pk)
                                                        ).content.decode()
    assert url("kpi_edit", kpi_id=kpi.pk) in body and url("kpi_plan", kpi_id=kpi.pk) in body
    assert "Add link" in body and "organisation's value rules" in html.unescape(body)
    body = client_for(world.a[Role.VIEWER].user).get(url("kpi_detail", kpi_id=kpi.pk)
                                                     ).content.decode()
    assert url("kpi_edit", kpi_id=kpi.pk) not in body and "Add link" not in body
    assert url("kpi_plan", kpi_id=kpi.pk) in body  # everyone may read the expected path


def test_edit_page_is_filled_in_and_saves_every_field(world, kpi):
    client = client_for(world.a[Role.ADMIN].user)
    body = client.get(url("kpi_edit", kpi_id=kpi.pk)).content.decode()
    assert 'value="On-time delivery"' in body and 'name="version"' in body
    assert "organisation's value rules" in html.unescape(body)  # the thresholds' help
    response = client.post(url("kpi_edit", kpi_id=kpi.pk), _form(
        world, name="Delivery on time", frequency="quarterly", green_at="0.95",
        red_below="0.85", owner=world.a[Role.CONTROLLER].user.pk, target="93.5",
        description="Orders delivered on the promised day"))
    assert response.status_code == 302
    saved = _reload(kpi)
    assert (saved.name, saved.frequency, saved.green_at, saved.red_below, saved.owner_id,
            saved.target, saved.description) == (
        "Delivery on time", "quarterly", Decimal("0.95"), Decimal("0.85"),
        world.a[Role.CONTROLLER].user.pk, Decimal("93.5"),
        "Orders delivered on the promised day")
    assert saved.needs_recompute
    body = client.get(url("kpi_detail", kpi_id=kpi.pk)).content.decode()
    assert "green at 0.95, red below 0.85" in body


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"green_at": "0.9"}, "red_below", "Give both thresholds, or neither"),
    ({"green_at": "0.8", "red_below": "0.9"}, "red_below", "Red must start below"),
    ({"green_at": "1.5", "red_below": "0.9"}, "green_at", "Give a share above 0"),
    ({"target_date": "2025-06-01"}, "target_date", "must be after the baseline date"),
    ({"owner": "viewer"}, "owner", "not a viewer"),
    ({"owner": "foreign"}, "owner", "Select a valid choice"),
])
def test_edit_errors_are_on_the_field_input_kept_nothing_saved(world, kpi, changes, field,
                                                               message):
    if changes.get("owner") == "viewer":
        changes["owner"] = world.a[Role.VIEWER].user.pk
    elif changes.get("owner") == "foreign":
        changes["owner"] = world.b_executive.user.pk
    response = client_for(world.a[Role.EXECUTIVE].user).post(
        url("kpi_edit", kpi_id=kpi.pk), _form(world, name="Renamed meanwhile", **changes))
    assert response.status_code == 400
    body = html.unescape(response.content.decode())
    assert f'id="id_{field}_error"' in body and message in body
    assert 'value="Renamed meanwhile"' in body
    assert _reload(kpi).name == "On-time delivery" and not _reload(kpi).needs_recompute


def test_a_stale_edit_is_409_and_keeps_the_input(world, kpi):
    client = client_for(world.a[Role.ADMIN].user)
    data = _form(world, name="Mine", version=kpi.version)
    services.kpi_update(membership=world.a[Role.EXECUTIVE].membership, kpi_id=kpi.pk,
                        name="Theirs")
    response = client.post(url("kpi_edit", kpi_id=kpi.pk), data)
    assert response.status_code == 409
    body = response.content.decode()
    assert 'value="Mine"' in body and "Someone else saved this KPI" in body
    assert _reload(kpi).name == "Theirs"
    fresh = _reload(kpi).version
    assert fresh == 2 and f'name="version" value="{fresh}"' in body  # saving again now works
    data["version"] = fresh
    assert client.post(url("kpi_edit", kpi_id=kpi.pk), data).status_code == 302


@pytest.mark.parametrize("role", [Role.CONTROLLER, Role.OWNER, Role.VIEWER])
def test_only_steerers_edit_plan_and_link(world, kpi, role):
    client = client_for(world.a[role].user)
    assert client.get(url("kpi_edit", kpi_id=kpi.pk)).status_code == 403
    assert client.post(url("kpi_edit", kpi_id=kpi.pk), _form(world)).status_code == 403
    assert client.post(url("kpi_plan", kpi_id=kpi.pk),
                       {"p-2026-03-01": "84"}).status_code == 403
    assert client.post(url("kpi_link_add", kpi_id=kpi.pk),
                       {"link-initiative": world.initiative.pk}).status_code == 403
    assert _plan(kpi) == {}


def test_plan_page_shows_the_path_and_saves_changes(world, kpi):
    client = client_for(world.a[Role.EXECUTIVE].user)
    body = client.get(url("kpi_plan", kpi_id=kpi.pk)).content.decode()
    assert 'name="p-2026-07-01"' in body and "85.95 %" in body  # the straight line
    assert 'name="version" value="1"' in body
    response = client.post(url("kpi_plan", kpi_id=kpi.pk),
                           {"p-2026-07-01": "83", "p-2026-08-01": "", "version": "1"})
    assert response.status_code == 302
    assert _plan(kpi) == {dt.date(2026, 7, 1): Decimal("83")}
    assert _reload(kpi).needs_recompute
    body = client.get(url("kpi_plan", kpi_id=kpi.pk)).content.decode()
    assert 'value="83"' in body and "<strong>83 %</strong>" in body
    response = client.post(url("kpi_plan", kpi_id=kpi.pk), {"p-2026-07-01": "", "version": "2"})
    assert response.status_code == 302 and _plan(kpi) == {}


def test_plan_page_errors_are_on_the_cell_and_nothing_is_saved(world, kpi):
    client = client_for(world.a[Role.ADMIN].user)
    response = client.post(url("kpi_plan", kpi_id=kpi.pk),
                           {"p-2026-03-01": "84", "p-2026-04-01": "1.23456", "version": "1"})
    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="p-2026-04-01-error">Use at most 4 decimal places.' in body
    assert 'value="1.23456"' in body and 'value="84"' in body  # the input is kept
    assert "Nothing was saved" in body
    response = client.post(url("kpi_plan", kpi_id=kpi.pk), {"p-2031-01-01": "84",
                                                             "version": "1"})
    assert response.status_code == 400 and "not periods of this KPI" in response.content.decode()
    assert _plan(kpi) == {}


def test_plan_page_is_read_only_for_other_roles(world, kpi):
    body = client_for(world.a[Role.VIEWER].user).get(url("kpi_plan", kpi_id=kpi.pk)
                                                     ).content.decode()
    assert "2026-07" in body and 'name="p-2026-07-01"' not in body
    assert "Save planned values" not in body


def test_links_are_added_listed_and_removed_on_the_detail_page(world, kpi, objective):
    client = client_for(world.a[Role.ADMIN].user)
    response = client.post(url("kpi_link_add", kpi_id=kpi.pk),
                           {"link-initiative": world.initiative.pk, "link-weight": "2"})
    assert response.status_code == 302
    assert client.post(url("kpi_link_add", kpi_id=kpi.pk),
                       {"link-objective": objective.pk, "link-weight": "0.5"}
                       ).status_code == 302
    body = client.get(url("kpi_detail", kpi_id=kpi.pk)).content.decode()
    initiative_url = reverse("initiative_detail", kwargs={"org_slug": "acme",
                                                          "initiative_id": world.initiative.pk})
    assert initiative_url in body and "AC-100 Acme freight tender" in body
    assert "SO-1 Reliable delivery" in body and "weight 0.5" in body and "weight 2" in body
    link = _links(kpi)[0]
    assert f'name="version" value="{link.version}"' in body
    response = client.post(url("kpi_link_remove", link_id=link.pk), {"version": link.version})
    assert response.status_code == 302
    assert response["Location"] == url("kpi_detail", kpi_id=kpi.pk)
    assert [x.objective_id for x in _links(kpi)] == [objective.pk]


@pytest.mark.parametrize(("data", "field", "message"), [
    ({}, "initiative", "Link to one initiative or one objective."),
    ({"link-initiative": "foreign"}, "initiative", "Select a valid choice"),
    ({"link-objective": "foreign"}, "objective", "Select a valid choice"),
    ({"link-initiative": "ours", "link-weight": "0"}, "weight", "above 0"),
])
def test_link_errors_are_on_the_field(world, kpi, foreign, data, field, message):
    ids = {"foreign": {"link-initiative": foreign["initiative"].pk,
                       "link-objective": foreign["objective"].pk},
           "ours": {"link-initiative": world.initiative.pk}}
    data = {key: ids.get(value, {}).get(key, value) for key, value in data.items()}
    data.setdefault("link-weight", "1")
    response = client_for(world.a[Role.EXECUTIVE].user).post(
        url("kpi_link_add", kpi_id=kpi.pk), data)
    assert response.status_code == 400
    body = response.content.decode()
    assert f'id="id_link-{field}_error"' in body and message in body
    assert "Globex" not in body
    with scopes_disabled():
        assert not KpiLink.objects.filter(organization=world.org_a).exists()


def test_a_link_of_another_organisation_is_404(world, kpi, foreign):
    response = client_for(world.a[Role.ADMIN].user).post(
        url("kpi_link_remove", link_id=foreign["link"].pk), {"version": "1"})
    assert response.status_code == 404
    with scopes_disabled():
        assert KpiLink.objects.filter(pk=foreign["link"].pk).exists()


def test_pages_of_a_foreign_kpi_are_404(world, kpi, foreign):
    client = client_for(world.a[Role.ADMIN].user)
    other = foreign["kpi"].pk
    assert client.get(url("kpi_edit", kpi_id=other)).status_code == 404
    assert client.get(url("kpi_plan", kpi_id=other)).status_code == 404
    assert client.post(url("kpi_link_add", kpi_id=other),
                       {"link-initiative": world.initiative.pk}).status_code == 404


# --- API --------------------------------------------------------------------------------

API = "/api/v1/o/acme"


def test_api_patch_changes_the_thresholds_and_honours_if_match(world, kpi):
    client = api_client_for(world.a[Role.EXECUTIVE].user)
    etag = client.get(f"{API}/kpis/{kpi.pk}/")["ETag"]
    response = client.patch(f"{API}/kpis/{kpi.pk}/", {"green_at": "0.95", "red_below": "0.8"},
                            format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 200
    assert (response.json()["green_at"], response.json()["red_below"]) == ("0.950", "0.800")
    assert response["ETag"] != etag and _reload(kpi).needs_recompute
    stale = client.patch(f"{API}/kpis/{kpi.pk}/", {"name": "Late"}, format="json",
                         HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    missing = client.patch(f"{API}/kpis/{kpi.pk}/", {"name": "Late"}, format="json")
    assert missing.status_code == 428 and "If-Match" in missing.json()["detail"]
    cleared = client.patch(f"{API}/kpis/{kpi.pk}/", {"green_at": None, "red_below": None},
                           format="json", HTTP_IF_MATCH=response["ETag"])
    assert cleared.status_code == 200 and cleared.json()["green_at"] is None
    assert _reload(kpi).name == "On-time delivery"


@pytest.mark.parametrize(("body", "field"), [
    ({"green_at": "0.9"}, "red_below"), ({"green_at": 0.9, "red_below": 0.8}, "green_at"),
    ({"red_below": "2", "green_at": "0.9"}, "red_below"), ({"owner": 999999}, "owner"),
    ({"frequency": "daily"}, "frequency"), ({"colour": "red", "name": ""}, "name"),
])
def test_api_patch_bad_input_is_400_on_the_field(world, kpi, body, field):
    response = api_client_for(world.a[Role.ADMIN].user).patch(f"{API}/kpis/{kpi.pk}/", body,
                                                              format="json", HTTP_IF_MATCH='"v1"')
    assert response.status_code == 400
    assert field in response.json()
    saved = _reload(kpi)
    assert (saved.green_at, saved.name, saved.needs_recompute) == (
        None, "On-time delivery", False)


def test_api_patch_by_a_wrong_role_or_of_a_foreign_kpi(world, kpi, foreign):
    assert api_client_for(world.a[Role.OWNER].user).patch(
        f"{API}/kpis/{kpi.pk}/", {"name": "x"}, format="json").status_code == 403
    assert api_client_for(world.a[Role.ADMIN].user).patch(
        f"{API}/kpis/{foreign['kpi'].pk}/", {"name": "x"}, format="json").status_code == 404


def test_api_links(world, kpi, objective, foreign):
    client = api_client_for(world.a[Role.ADMIN].user)
    links = f"{API}/kpis/{kpi.pk}/links/"
    created = client.post(links, {"initiative": world.initiative.pk, "weight": "1.5"},
                          format="json")
    assert created.status_code == 201
    assert created.json()["initiative"] == {"id": world.initiative.pk, "code": "AC-100",
                                            "title": "Acme freight tender"}
    assert created.json()["weight"] == "1.50" and created.json()["objective"] is None
    assert client.post(links, {"objective": objective.pk}, format="json").status_code == 201
    listed = api_client_for(world.a[Role.VIEWER].user).get(links).json()
    assert [(x["initiative"] or x["objective"])["code"] for x in listed] == ["AC-100", "SO-1"]
    for body, field in [({"initiative": foreign["initiative"].pk}, "initiative"),
                        ({"objective": foreign["objective"].pk}, "objective"),
                        ({"initiative": world.initiative.pk, "weight": 2.5}, "weight"),
                        ({}, "initiative"), ({"initiative": "AC-100"}, "initiative")]:
        response = client.post(links, body, format="json")
        assert response.status_code == 400 and field in response.json(), body
        assert "Globex" not in response.content.decode()
    assert client.delete(f"{API}/kpi-links/{foreign['link'].pk}/").status_code == 404
    assert client.delete(f"{API}/kpi-links/{created.json()['id']}/",
                         HTTP_IF_MATCH=created["ETag"]).status_code == 204
    assert len(client.get(links).json()) == 1
    assert client.get(f"{API}/kpis/{foreign['kpi'].pk}/links/").status_code == 404


def test_api_plan_get_and_put(world, kpi):
    client = api_client_for(world.a[Role.EXECUTIVE].user)
    plan = f"{API}/kpis/{kpi.pk}/plan/"
    read = client.get(plan)
    points = read.json()["points"]
    assert len(points) == 13
    assert points[6] == {"period": "2026-07-01", "label": "2026-07", "planned": None,
                         "linear": "85.9507", "expected": "85.9507", "outside": False}
    response = client.put(plan, {"points": [{"period": "2026-07-01", "value": "83"},
                                            {"period": "2026-08-01", "value": None}]},
                          format="json", HTTP_IF_MATCH=read["ETag"])
    assert response.status_code == 200 and response["ETag"] == '"v2"'
    july = response.json()["points"][6]
    assert (july["planned"], july["expected"], july["linear"]) == ("83.0000", "83.0000",
                                                                   "85.9507")
    assert _reload(kpi).needs_recompute
    assert api_client_for(world.a[Role.CONTROLLER].user).put(
        plan, {"points": []}, format="json").status_code == 403
    assert api_client_for(world.a[Role.VIEWER].user).get(plan).status_code == 200


@pytest.mark.parametrize(("points", "field"), [
    ([{"period": "2026-07-15", "value": "83"}], "points.2026-07-15"),
    ([{"period": "2030-01-01", "value": "83"}], "points.2030-01-01"),
    ([{"period": "2026-07-01", "value": 83.5}], "points.2026-07-01"),
    ([{"period": "2026-07-01", "value": "83"}, {"period": "2026-07-01", "value": "84"}],
     "points.2026-07-01"),
    ([{"period": "July", "value": "83"}], "points"),
    ([{"value": "83"}], "points"),
])
def test_api_plan_bad_input_is_400_and_nothing_saved(world, kpi, points, field):
    body = {"points": [{"period": "2026-06-01", "value": "82"}, *points]}
    response = api_client_for(world.a[Role.ADMIN].user).put(f"{API}/kpis/{kpi.pk}/plan/", body,
                                                            format="json", HTTP_IF_MATCH='"v1"')
    assert response.status_code == 400
    assert field in response.json()
    assert _plan(kpi) == {} and not _reload(kpi).needs_recompute


def test_api_plan_of_a_foreign_kpi_is_404_without_a_leak(world, kpi, foreign):
    client = api_client_for(world.a[Role.ADMIN].user)
    plan = f"{API}/kpis/{foreign['kpi'].pk}/plan/"
    for response in (client.get(plan),
                     client.put(plan, {"points": [{"period": "2026-07-01", "value": "1"}]},
                                format="json")):
        assert response.status_code == 404
        assert "Globex" not in response.content.decode()
    response = api_client_for(world.b_executive.user).get(f"{API}/kpis/{kpi.pk}/plan/")
    assert response.status_code == 404 and ORG_A_MARKER not in response.content.decode()


def test_plan_and_link_changes_are_kept_in_the_audit_history(world, kpi):
    """A planned value moves the expected path (and every variance): its old values and
    who changed it stay on record, as do links made and removed."""
    executive = world.a[Role.EXECUTIVE].membership
    march = dt.date(2026, 3, 1)
    services.kpi_plan_set(membership=executive, kpi_id=kpi.pk, points={march: "84.5"})
    services.kpi_plan_set(membership=executive, kpi_id=kpi.pk, points={march: "83"})
    services.kpi_plan_set(membership=executive, kpi_id=kpi.pk, points={march: None})
    initiative = world.initiative
    link = services.kpi_link(membership=executive, kpi_id=kpi.pk, initiative=initiative)
    services.kpi_unlink(membership=executive, link_id=link.pk)
    with scopes_disabled():
        plan_history = list(KpiPlanPoint.pgh_event_model.objects.filter(kpi_id=kpi.pk)
                            .order_by("pgh_id").values_list("pgh_label", "value"))
        link_history = list(KpiLink.pgh_event_model.objects.filter(kpi_id=kpi.pk)
                            .order_by("pgh_id").values_list("pgh_label", "initiative_id"))
    assert plan_history == [("insert", Decimal("84.5")), ("update", Decimal("83")),
                            ("delete", Decimal("83"))]
    assert link_history == [("insert", initiative.pk), ("delete", initiative.pk)]

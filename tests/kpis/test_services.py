"""KPI services: definitions, links, readings and corrections, CSV import with
row-level errors, and the dirty flag the recompute job reads."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled

from cat4.common.exceptions import ApplicationError, NotFoundError, PermissionDeniedError
from cat4.tenancy.models import Role
from kpis import services
from kpis.models import Kpi, KpiReading
from tests.factories import InitiativeFactory, ProgramFactory

pytestmark = pytest.mark.django_db

DEFINITION = {"name": "On-time delivery", "unit": "%", "direction": "higher",
              "baseline": "82.5", "baseline_date": dt.date(2026, 1, 1), "target": "95",
              "target_date": dt.date(2027, 12, 31), "frequency": "monthly"}


@pytest.fixture
def kpi(world):
    return services.kpi_create(membership=world.a[Role.EXECUTIVE].membership,
                               owner=world.a[Role.OWNER].user, **DEFINITION)


def test_a_kpi_is_defined_and_queued_for_recompute(world, kpi):
    assert (kpi.baseline, kpi.target, kpi.needs_recompute) == (Decimal("82.5"),
                                                               Decimal("95"), True)
    assert kpi.dirty_since is not None


@pytest.mark.parametrize(("field", "value"), [
    ("name", " "), ("unit", ""), ("direction", "sideways"), ("frequency", "daily"),
    ("baseline", "eighty"), ("target", 12.5), ("target", "1.23456"),
    ("target_date", dt.date(2025, 12, 31)), ("green_at", "1.5"),
])
def test_bad_definitions_are_refused_on_the_field(world, field, value):
    with pytest.raises(ApplicationError) as exc:
        services.kpi_create(membership=world.a[Role.ADMIN].membership,
                            owner=world.a[Role.OWNER].user, **{**DEFINITION, field: value})
    assert exc.value.field == field
    with scopes_disabled():
        assert not Kpi.objects.exists()


def test_thresholds_come_in_pairs_and_in_order(world):
    admin = world.a[Role.ADMIN].membership
    with pytest.raises(ApplicationError, match="both thresholds"):
        services.kpi_create(membership=admin, owner=world.a[Role.OWNER].user,
                            green_at="0.9", **DEFINITION)
    with pytest.raises(ApplicationError, match="Red must start below"):
        services.kpi_create(membership=admin, owner=world.a[Role.OWNER].user,
                            green_at="0.8", red_below="0.9", **DEFINITION)


def test_names_are_unique_per_organisation_and_owners_must_be_members(world, kpi):
    with pytest.raises(ApplicationError) as exc:
        services.kpi_create(membership=world.a[Role.ADMIN].membership,
                            owner=world.a[Role.OWNER].user, **DEFINITION)
    assert exc.value.field == "name"
    for owner in (world.b_executive.user, world.a[Role.VIEWER].user):
        with pytest.raises(ApplicationError) as exc:
            services.kpi_create(membership=world.a[Role.ADMIN].membership, owner=owner,
                                **{**DEFINITION, "name": "Another"})
        assert exc.value.field == "owner"


@pytest.mark.parametrize("role", [Role.CONTROLLER, Role.OWNER, Role.VIEWER])
def test_only_admins_and_executives_define_kpis(world, role):
    with pytest.raises(PermissionDeniedError):
        services.kpi_create(membership=world.a[role].membership,
                            owner=world.a[Role.OWNER].user, **DEFINITION)


def test_readings_and_corrections_keep_history(world, kpi):
    owner = world.a[Role.OWNER].membership
    with scopes_disabled():
        Kpi.objects.filter(pk=kpi.pk).update(needs_recompute=False, dirty_since=None)
    services.reading_record(membership=owner, kpi_id=kpi.pk, period=dt.date(2026, 3, 1),
                            value="84.1", comment="first count")
    services.reading_record(membership=owner, kpi_id=kpi.pk, period=dt.date(2026, 3, 1),
                            value="85.0", comment="recount after late scans")
    with scopes_disabled():
        reading = KpiReading.objects.get(kpi=kpi)
        kpi.refresh_from_db()
        history = list(KpiReading.pgh_event_model.objects.filter(pgh_obj_id=reading.pk)
                       .order_by("pgh_id").values_list("value", flat=True))
    assert reading.value == Decimal("85.0")
    assert history == [Decimal("84.1"), Decimal("85.0")]
    assert kpi.needs_recompute and kpi.dirty_since is not None


@pytest.mark.parametrize(("period", "message"), [
    (dt.date(2026, 3, 15), "Monthly periods start on 2026-03-01"),
    (dt.date(2099, 1, 1), "has not started yet"),
])
def test_reading_periods_are_checked(world, kpi, period, message):
    with pytest.raises(ApplicationError, match=message) as exc:
        services.reading_record(membership=world.a[Role.OWNER].membership, kpi_id=kpi.pk,
                                period=period, value="84")
    assert exc.value.field == "period"


def test_only_the_kpi_owner_or_an_admin_records(world, kpi):
    for role in (Role.EXECUTIVE, Role.CONTROLLER, Role.VIEWER):
        with pytest.raises(PermissionDeniedError):
            services.reading_record(membership=world.a[role].membership, kpi_id=kpi.pk,
                                    period=dt.date(2026, 3, 1), value="84")
    services.reading_record(membership=world.a[Role.ADMIN].membership, kpi_id=kpi.pk,
                            period=dt.date(2026, 3, 1), value="84")


def test_a_kpi_of_another_org_is_not_found(world, kpi):
    with pytest.raises(NotFoundError):
        services.reading_record(membership=world.b_executive.membership, kpi_id=kpi.pk,
                                period=dt.date(2026, 3, 1), value="84")


def test_csv_import_reports_every_bad_row_and_imports_nothing(world, kpi):
    text = ("Period,Value,Comment\n"
            "2026-01-01,83.0,ok\n"
            "2026-02-15,83.5,\n"
            "March,84,\n"
            "2026-04-01,lots,\n"
            "2026-01-01,83.2,duplicate\n")
    with pytest.raises(services.CsvImportError) as exc:
        services.readings_import_csv(membership=world.a[Role.OWNER].membership,
                                     kpi_id=kpi.pk, text=text)
    assert [(e.row, e.column) for e in exc.value.errors] == [
        (3, "period"), (4, "period"), (5, "value"), (6, "period")]
    with scopes_disabled():
        assert not KpiReading.objects.exists()


def test_csv_import_writes_clean_files_and_can_run_again(world, kpi):
    text = "period,value\n2026-01-01,83.0\n2026-02-01,83.4\n"
    owner = world.a[Role.OWNER].membership
    assert services.readings_import_csv(membership=owner, kpi_id=kpi.pk, text=text) == 2
    assert services.readings_import_csv(membership=owner, kpi_id=kpi.pk, text=text) == 2
    with scopes_disabled():
        assert KpiReading.objects.filter(kpi=kpi).count() == 2


def test_csv_without_the_right_header_is_refused(world, kpi):
    with pytest.raises(services.CsvImportError) as exc:
        services.readings_import_csv(membership=world.a[Role.OWNER].membership,
                                     kpi_id=kpi.pk, text="date;amount\n2026-01-01;3\n")
    assert exc.value.errors[0].column == "header"


def test_links_stay_inside_the_organisation(world, kpi):
    executive = world.a[Role.EXECUTIVE].membership
    link = services.kpi_link(membership=executive, kpi_id=kpi.pk,
                             initiative=world.initiative.pk, weight="2")
    assert link.weight == Decimal("2")
    with scopes_disabled():
        foreign = ProgramFactory(organization=world.org_b, portfolio__organization=world.org_b)
    with scopes_disabled():
        other = InitiativeFactory(program=foreign, owner=world.b_executive.user)
    with pytest.raises(ApplicationError) as exc:
        services.kpi_link(membership=executive, kpi_id=kpi.pk, initiative=other.pk)
    assert exc.value.field == "initiative"
    with pytest.raises(ApplicationError):
        services.kpi_link(membership=executive, kpi_id=kpi.pk)


def test_dirty_time_keeps_the_oldest(world, kpi):
    with scopes_disabled():
        old = timezone.now() - dt.timedelta(hours=3)
        Kpi.objects.filter(pk=kpi.pk).update(dirty_since=old)
        services.mark_dirty([kpi.pk])
        kpi.refresh_from_db()
    assert kpi.dirty_since == old

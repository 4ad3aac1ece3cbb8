"""Dependencies between initiatives (flagged on both when the supplier slips past
the need-by date), the risk register, recorded decisions and fiscal-year totals."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from cat4.common.exceptions import ApplicationError, PermissionDeniedError
from cat4.tenancy.models import Role
from governance import services as governance_services
from initiatives import selectors, services
from initiatives.models import MonthlyValue
from tests.conftest import client_for
from tests.factories import ImpactLineFactory, InitiativeFactory, ProgramFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def supplier(world):
    with scopes_disabled():
        return InitiativeFactory(program=world.initiative.program, code="AC-200",
                                 title="New WMS", owner=world.a[Role.OWNER].user,
                                 start_date=dt.date(2026, 1, 1),
                                 target_date=dt.date(2026, 9, 30))


def test_a_slipped_dependency_is_flagged_on_both_initiatives(world, supplier):
    owner = world.a[Role.OWNER].membership
    services.dependency_add(membership=owner, initiative_id=world.initiative.pk,
                            depends_on=supplier.pk, need_by=dt.date(2026, 6, 30),
                            note="WMS live in Leipzig")
    with scopes_disabled():
        mine = selectors.dependencies_of(initiative=world.initiative)
        theirs = selectors.dependencies_of(initiative=supplier)
    assert [(d.direction, d.other.code, d.late) for d in mine] == [("needs", "AC-200", True)]
    assert [(d.direction, d.other.code, d.late) for d in theirs] == [
        ("needed_by", "AC-100", True)]
    assert "92 days after it is needed" in mine[0].why
    for initiative in (world.initiative, supplier):
        body = client_for(world.a[Role.VIEWER].user).get(
            reverse("initiative_detail", kwargs={"org_slug": "acme",
                                                 "initiative_id": initiative.pk})
        ).content.decode()
        assert "Late:" in body


def test_dependency_in_time_is_not_flagged(world, supplier):
    services.dependency_add(membership=world.a[Role.OWNER].membership,
                            initiative_id=world.initiative.pk, depends_on=supplier.pk,
                            need_by=dt.date(2026, 12, 31))
    with scopes_disabled():
        assert not selectors.dependencies_of(initiative=world.initiative)[0].late


def test_bad_dependencies_are_refused(world, supplier):
    owner = world.a[Role.OWNER].membership
    with scopes_disabled():
        foreign = InitiativeFactory(
            program=ProgramFactory(organization=world.org_b,
                                   portfolio__organization=world.org_b),
            owner=world.b_executive.user)
    cases = [(world.initiative.pk, "depends_on"), (foreign.pk, "depends_on")]
    for target, field in cases:
        with pytest.raises(ApplicationError) as exc:
            services.dependency_add(membership=owner, initiative_id=world.initiative.pk,
                                    depends_on=target, need_by=dt.date(2026, 6, 30))
        assert exc.value.field == field
    services.dependency_add(membership=owner, initiative_id=world.initiative.pk,
                            depends_on=supplier.pk, need_by=dt.date(2026, 6, 30))
    with pytest.raises(ApplicationError, match="circular"):
        services.dependency_add(membership=owner, initiative_id=supplier.pk,
                                depends_on=world.initiative.pk, need_by=dt.date(2026, 6, 30))


@pytest.mark.parametrize(("field", "value"), [("probability", 0), ("impact", 6),
                                              ("description", " "), ("status", "gone")])
def test_risk_input_is_checked(world, field, value):
    values = {"description": "Supplier insolvency", "probability": 2, "impact": 4,
              "owner": world.a[Role.OWNER].user.pk, "status": "open", field: value}
    with pytest.raises(ApplicationError) as exc:
        services.risk_add(membership=world.a[Role.OWNER].membership,
                          initiative_id=world.initiative.pk, **values)
    assert exc.value.field == field


def test_risk_owner_of_another_org_is_refused_and_viewers_cannot_add(world):
    with pytest.raises(ApplicationError) as exc:
        services.risk_add(membership=world.a[Role.OWNER].membership,
                          initiative_id=world.initiative.pk, description="x", probability=2,
                          impact=2, owner=world.b_executive.user.pk)
    assert exc.value.field == "owner"
    with pytest.raises(PermissionDeniedError):
        services.risk_add(membership=world.a[Role.VIEWER].membership,
                          initiative_id=world.initiative.pk, description="x", probability=2,
                          impact=2, owner=world.a[Role.VIEWER].user.pk)


def test_recorded_decisions_link_only_initiatives_of_the_org(world, supplier):
    executive = world.a[Role.EXECUTIVE].membership
    entry = governance_services.decision_log_add(
        membership=executive, date=dt.date(2026, 11, 20), forum="Steering committee",
        decision="Go ahead with both", initiatives=[world.initiative.pk, supplier.pk])
    with scopes_disabled():
        assert sorted(entry.initiatives.values_list("code", flat=True)) == ["AC-100", "AC-200"]
    with pytest.raises(PermissionDeniedError):
        governance_services.decision_log_add(
            membership=world.a[Role.OWNER].membership, date=dt.date(2026, 11, 20),
            forum="x", decision="y")
    with pytest.raises(ApplicationError) as exc:
        governance_services.decision_log_add(membership=executive, date=dt.date(2026, 11, 20),
                                             forum=" ", decision="y")
    assert exc.value.field == "forum"


def test_fiscal_year_totals_and_run_rate(world):
    org = world.org_a
    org.fiscal_year_start_month = 4
    org.save()
    with scopes_disabled():
        line = ImpactLineFactory(initiative=world.initiative, recurring=True)
        for month in range(1, 7):  # Jan..Jun 2026: FY2025/26 has Jan-Mar, FY2026/27 Apr-Jun
            MonthlyValue.objects.create(organization=org, line=line, kind="planned",
                                        month=dt.date(2026, month, 1), amount=Decimal("100"))
        MonthlyValue.objects.create(organization=org, line=line, kind="actual",
                                    month=dt.date(2026, 5, 1), amount=Decimal("80"))
        world.initiative.refresh_from_db()
        _months, grids = selectors.value_grid(initiative=world.initiative)
        summary = selectors.fiscal_summary(initiative=world.initiative, grids=grids,
                                           today=dt.date(2026, 5, 20))
    assert summary["years"] == [
        ("FY2025/26", {"planned": Decimal("300")}),
        ("FY2026/27", {"planned": Decimal("300"), "actual": Decimal("80")}),
    ]
    assert summary["run_rate"] == Decimal("960")  # May's actual x 12

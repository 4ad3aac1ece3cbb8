"""Re-baselining a frozen plan: its own request, decided by the initiative's
controller, recorded in the decision log, and the only way to change the plan."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from cat4.common.exceptions import ApplicationError, PermissionDeniedError
from cat4.tenancy.models import Role
from governance import services
from governance.models import DecisionLogEntry, Rebaseline
from initiatives import services as initiative_services
from initiatives.models import MonthlyValue, Stage
from tests.conftest import client_for
from tests.governance.conftest import add_plan
from tests.initiatives.support import drive_to

pytestmark = pytest.mark.django_db

JAN, FEB = dt.date(2026, 1, 1), dt.date(2026, 2, 1)


@pytest.fixture
def decided(world, initiative):
    line = add_plan(initiative)
    drive_to(world, initiative, Stage.DECIDED)
    return initiative, line


def plan(line):
    with scopes_disabled():
        return dict(MonthlyValue.objects.filter(line=line, kind="planned")
                    .values_list("month", "amount"))


def test_the_plan_changes_only_when_the_controller_approves(world, decided):
    initiative, line = decided
    owner = world.a[Role.OWNER].membership
    with pytest.raises(ApplicationError):  # frozen: no direct edit
        initiative_services.monthly_values_set(membership=owner, line_id=line.pk,
                                               kind="planned", values={JAN: "1.00"})
    request = services.rebaseline_request(
        membership=owner, initiative_id=initiative.pk, reason="Volumes fell by a third",
        values={line.pk: {JAN: "700.00", FEB: ""}})
    assert plan(line)[JAN] == Decimal("1000.00")  # not yet
    services.rebaseline_decide(membership=world.a[Role.CONTROLLER].membership,
                               rebaseline_id=request.pk, decision="approved")
    after = plan(line)
    assert after[JAN] == Decimal("700.00") and FEB not in after
    with scopes_disabled():
        entry = DecisionLogEntry.objects.filter(forum="Re-baseline").get()
        assert "Volumes fell by a third" in entry.decision


def test_rejection_needs_a_comment_and_keeps_the_plan(world, decided):
    initiative, line = decided
    request = services.rebaseline_request(membership=world.a[Role.OWNER].membership,
                                          initiative_id=initiative.pk, reason="x",
                                          values={line.pk: {JAN: "1.00"}})
    controller = world.a[Role.CONTROLLER].membership
    with pytest.raises(ApplicationError) as exc:
        services.rebaseline_decide(membership=controller, rebaseline_id=request.pk,
                                   decision="rejected")
    assert exc.value.field == "comment"
    services.rebaseline_decide(membership=controller, rebaseline_id=request.pk,
                               decision="rejected", comment="Show the volume data first.")
    assert plan(line)[JAN] == Decimal("1000.00")
    with pytest.raises(services.ConflictError):
        services.rebaseline_decide(membership=controller, rebaseline_id=request.pk,
                                   decision="approved")


@pytest.mark.parametrize("role", [Role.ADMIN, Role.EXECUTIVE, Role.OWNER, Role.VIEWER])
def test_only_the_named_controller_decides(world, decided, role):
    initiative, line = decided
    request = services.rebaseline_request(membership=world.a[Role.OWNER].membership,
                                          initiative_id=initiative.pk, reason="x",
                                          values={line.pk: {JAN: "1.00"}})
    with pytest.raises(PermissionDeniedError):
        services.rebaseline_decide(membership=world.a[role].membership,
                                   rebaseline_id=request.pk, decision="approved")


def test_requests_are_refused_when_they_make_no_sense(world, initiative):
    line = add_plan(initiative)
    owner = world.a[Role.OWNER].membership
    with pytest.raises(services.ConflictError, match="not frozen"):
        services.rebaseline_request(membership=owner, initiative_id=initiative.pk,
                                    reason="x", values={line.pk: {JAN: "1"}})
    drive_to(world, initiative, Stage.DECIDED)
    for reason, values, field in [(" ", {line.pk: {JAN: "1"}}, "reason"),
                                  ("x", {line.pk: {JAN: "-5"}}, "values.2026-01"),
                                  ("x", {line.pk: {dt.date(2031, 1, 1): "5"}}, "values.2031-01"),
                                  ("x", {999999: {JAN: "5"}}, "values"),
                                  ("x", {}, "values")]:
        with pytest.raises(ApplicationError) as exc:
            services.rebaseline_request(membership=owner, initiative_id=initiative.pk,
                                        reason=reason, values=values)
        assert exc.value.field == field
    services.rebaseline_request(membership=owner, initiative_id=initiative.pk, reason="x",
                                values={line.pk: {JAN: "1"}})
    with pytest.raises(services.ConflictError, match="already waiting"):
        services.rebaseline_request(membership=owner, initiative_id=initiative.pk,
                                    reason="y", values={line.pk: {JAN: "2"}})


def test_through_the_pages(world, decided):
    initiative, line = decided
    owner = client_for(world.a[Role.OWNER].user)
    url = reverse("rebaseline_request", kwargs={"org_slug": "acme",
                                                "initiative_id": initiative.pk})
    cell = f"v-{line.pk}-2026-01"
    bad = owner.post(url, {"reason": "Volumes fell", cell: "abc"})
    assert bad.status_code == 400
    assert "is not an amount" in bad.content.decode() and 'value="abc"' in bad.content.decode()
    good = owner.post(url, {"reason": "Volumes fell", cell: "650.00",
                            f"v-{line.pk}-2026-02": "1000.00"})  # unchanged cell
    assert good.status_code == 302
    with scopes_disabled():
        request = Rebaseline.objects.get()
    assert request.values == {str(line.pk): {"2026-01": "650.00"}}
    controller = client_for(world.a[Role.CONTROLLER].user)
    reviews = controller.get(reverse("my_reviews", kwargs={"org_slug": "acme"})).content.decode()
    assert "Re-baselines waiting for you" in reviews and "Volumes fell" in reviews
    detail = controller.get(reverse("initiative_detail", kwargs={
        "org_slug": "acme", "initiative_id": initiative.pk})).content.decode()
    assert "Approve the new plan" in detail
    controller.post(reverse("rebaseline_decide", kwargs={"org_slug": "acme",
                                                         "rebaseline_id": request.pk}),
                    {"decision": "approved"})
    assert plan(line)[JAN] == Decimal("650.00")

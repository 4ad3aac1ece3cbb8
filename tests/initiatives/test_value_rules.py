"""Monthly values: which kind is editable in which stage, who enters actuals, how
amounts and months are validated (all or nothing), and the values grid page."""

import datetime as dt
from decimal import Decimal

import pytest
from django_scopes import scopes_disabled

from cat4.common.exceptions import ApplicationError, PermissionDeniedError
from cat4.tenancy.models import Role
from governance import services as gov
from initiatives import services
from initiatives.models import ActualsEntry, MonthlyValue, Stage, ValueSettings
from tests.conftest import client_for
from tests.factories import ImpactLineFactory, MembershipFactory, UserFactory
from tests.initiatives.support import drive_to, flashed, input_value, org_url, page_text

pytestmark = pytest.mark.django_db

JAN, FEB, MAR = dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1)


def cells(line, kind=None) -> dict:
    with scopes_disabled():
        qs = MonthlyValue.objects.filter(line=line)
        if kind:
            qs = qs.filter(kind=kind)
        return {(v.month, v.kind): v.amount for v in qs}


def set_values(persona, line, kind, values):
    return services.monthly_values_set(membership=persona.membership, line_id=line.pk,
                                       kind=kind, values=values)


@pytest.fixture
def line(world):
    """A line without values on world.initiative (Jan 2026 to Dec 2027)."""
    with scopes_disabled():
        return ImpactLineFactory(initiative=world.initiative, description="Rates")


def at_stage(world, stage):
    """world.initiative moved to ``stage`` with the services; returns its planned line."""
    return drive_to(world, world.initiative, stage)


def use_actuals_entry(world, mode):
    with scopes_disabled():
        ValueSettings.objects.update_or_create(organization=world.org_a,
                                               defaults={"actuals_entry": mode})


# --- Which kind in which stage ----------------------------------------------------------


@pytest.mark.parametrize("stage", [Stage.IDENTIFIED, Stage.DETAILED])
def test_planned_is_editable_before_the_decided_gate(world, stage):
    planned = at_stage(world, stage)
    set_values(world.a[Role.OWNER], planned, "planned", {JAN: "1200.50", dt.date(2027, 12, 1): 7})
    assert cells(planned, "planned")[(JAN, "planned")] == Decimal("1200.50")
    assert cells(planned, "planned")[(dt.date(2027, 12, 1), "planned")] == Decimal("7.00")


@pytest.mark.parametrize("stage", [Stage.DECIDED, Stage.IMPLEMENTED])
def test_planned_is_frozen_from_the_decided_gate_on(world, stage):
    planned = at_stage(world, stage)
    before = cells(planned)
    for persona in (world.a[Role.OWNER], world.a[Role.ADMIN]):
        with pytest.raises(ApplicationError) as exc:
            set_values(persona, planned, "planned", {JAN: "1.00"})
        assert exc.value.status_code == 409
        assert "re-baseline" in exc.value.message
    assert cells(planned) == before


def test_nothing_is_editable_once_closed(world):
    planned = at_stage(world, Stage.CLOSED)
    for kind in ("planned", "forecast", "actual"):
        # Nobody edits a closed initiative, admins included.
        with pytest.raises(PermissionDeniedError):
            set_values(world.a[Role.ADMIN], planned, kind, {JAN: "1.00"})
    with pytest.raises(ApplicationError) as exc:
        set_values(world.a[Role.CONTROLLER], planned, "actual", {JAN: "1.00"})
    assert exc.value.status_code == 409
    assert "final" in exc.value.message


def test_on_hold_keeps_the_rules_of_the_stage_it_resumes_to(world):
    planned = at_stage(world, Stage.DECIDED)
    gov.initiative_hold(membership=world.a[Role.EXECUTIVE].membership,
                        initiative_id=world.initiative.pk, reason="Budget review")
    with pytest.raises(ApplicationError, match="re-baseline"):
        set_values(world.a[Role.OWNER], planned, "planned", {JAN: "1.00"})
    set_values(world.a[Role.OWNER], planned, "forecast", {JAN: "900"})
    assert cells(planned, "forecast") == {(JAN, "forecast"): Decimal("900.00")}


@pytest.mark.parametrize("stage", [Stage.IDENTIFIED, Stage.DETAILED])
def test_forecast_is_refused_before_the_decided_gate(world, stage):
    planned = at_stage(world, stage)
    with pytest.raises(ApplicationError) as exc:
        set_values(world.a[Role.OWNER], planned, "forecast", {JAN: "900"})
    assert exc.value.status_code == 409
    assert exc.value.message == "Forecasts are entered from the Decided gate on."
    assert cells(planned, "forecast") == {}


@pytest.mark.parametrize("stage", [Stage.DECIDED, Stage.IMPLEMENTED])
def test_forecast_is_allowed_from_the_decided_gate_on(world, stage):
    planned = at_stage(world, stage)
    set_values(world.a[Role.OWNER], planned, "forecast", {JAN: "900", FEB: "950.5"})
    assert cells(planned, "forecast") == {(JAN, "forecast"): Decimal("900.00"),
                                          (FEB, "forecast"): Decimal("950.50")}


@pytest.mark.parametrize("stage", [Stage.IDENTIFIED, Stage.DETAILED, Stage.DECIDED])
def test_actuals_are_refused_before_the_implemented_gate(world, stage):
    planned = at_stage(world, stage)
    for persona in (world.a[Role.OWNER], world.a[Role.CONTROLLER]):
        with pytest.raises(ApplicationError) as exc:
            set_values(persona, planned, "actual", {JAN: "900"})
        assert exc.value.status_code == 409
        assert exc.value.message == "Actuals are entered from the Implemented gate on."
    assert cells(planned, "actual") == {}


def test_unknown_kind_is_refused(world, line):
    with pytest.raises(ApplicationError) as exc:
        set_values(world.a[Role.OWNER], line, "budget", {JAN: "1"})
    assert exc.value.field == "kind"


# --- Who enters actuals ------------------------------------------------------------------


def test_owner_and_named_controller_enter_actuals_when_owners_enter_them(world):
    planned = at_stage(world, Stage.IMPLEMENTED)
    use_actuals_entry(world, ActualsEntry.OWNER_THEN_CONTROLLER)
    set_values(world.a[Role.OWNER], planned, "actual", {JAN: "800"})
    set_values(world.a[Role.CONTROLLER], planned, "actual", {FEB: "810"})
    assert cells(planned, "actual") == {(JAN, "actual"): Decimal("800.00"),
                                        (FEB, "actual"): Decimal("810.00")}


def test_only_the_named_controller_enters_actuals_when_controllers_enter_them(world):
    planned = at_stage(world, Stage.IMPLEMENTED)
    use_actuals_entry(world, ActualsEntry.CONTROLLER_ONLY)
    for role in (Role.OWNER, Role.ADMIN, Role.EXECUTIVE, Role.VIEWER):
        with pytest.raises(PermissionDeniedError):
            set_values(world.a[role], planned, "actual", {JAN: "800"})
    assert cells(planned, "actual") == {}
    set_values(world.a[Role.CONTROLLER], planned, "actual", {JAN: "800"})
    assert cells(planned, "actual") == {(JAN, "actual"): Decimal("800.00")}
    # The owner still edits forecasts.
    set_values(world.a[Role.OWNER], planned, "forecast", {JAN: "820"})


@pytest.mark.parametrize("mode", [ActualsEntry.OWNER_THEN_CONTROLLER,
                                  ActualsEntry.CONTROLLER_ONLY])
def test_a_controller_who_is_not_the_named_one_may_not_enter_actuals(world, mode):
    planned = at_stage(world, Stage.IMPLEMENTED)
    use_actuals_entry(world, mode)
    with scopes_disabled():
        other = MembershipFactory(organization=world.org_a, role=Role.CONTROLLER,
                                  user=UserFactory(email="controller2@acme.test"))
    with pytest.raises(PermissionDeniedError):
        services.monthly_values_set(membership=other, line_id=planned.pk, kind="actual",
                                    values={JAN: "800"})
    assert cells(planned, "actual") == {}


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EXECUTIVE, Role.CONTROLLER])
def test_non_editors_cannot_enter_planned_values(world, line, role):
    with pytest.raises(PermissionDeniedError):
        set_values(world.a[role], line, "planned", {JAN: "1"})
    assert cells(line) == {}


def test_a_line_of_another_org_is_not_found(world, line):
    with scopes_disabled():
        b_member = world.b_executive.membership
    with pytest.raises(ApplicationError) as exc:
        services.monthly_values_set(membership=b_member, line_id=line.pk, kind="planned",
                                    values={JAN: "1"})
    assert exc.value.status_code == 404


# --- Amounts and months --------------------------------------------------------------------

BAD_CELLS = [
    ("negative", MAR, "-1.00", "Amounts cannot be negative."),
    ("text", MAR, "lots", "“lots” is not an amount."),
    ("nan", MAR, "NaN", "is not an amount"),
    ("infinity", MAR, "Infinity", "is not an amount"),
    ("float", MAR, 1.5, "Send amounts as decimal strings, e.g. \"12.50\", not as numbers."),
    ("three decimals", MAR, "10.125", "at most 14 digits and 2 decimal places"),
    ("too large", MAR, "100000000000000", "at most 14 digits and 2 decimal places"),
    ("before the start", dt.date(2025, 12, 1), "1", "outside the initiative's range"),
    ("after the target", dt.date(2028, 1, 1), "1", "outside the initiative's range"),
]


@pytest.mark.parametrize(("case", "month", "raw", "message"), BAD_CELLS,
                         ids=[c[0] for c in BAD_CELLS])
def test_a_bad_cell_is_named_and_nothing_is_saved(world, line, case, month, raw, message):
    set_values(world.a[Role.OWNER], line, "planned", {JAN: "100", FEB: "200"})
    before = cells(line)
    with pytest.raises(ApplicationError) as exc:
        # Good cells around the bad one: a change, a clear and a new month.
        set_values(world.a[Role.OWNER], line, "planned",
                   {JAN: "111", FEB: "", dt.date(2026, 4, 1): "400", month: raw,
                    dt.date(2026, 5, 1): "500"})
    assert exc.value.field == f"values.{month:%Y-%m}"
    assert message in exc.value.message
    assert exc.value.status_code == 400
    assert cells(line) == before


def test_a_month_not_on_the_first_is_refused_and_nothing_is_saved(world, line):
    with pytest.raises(ApplicationError) as exc:
        set_values(world.a[Role.OWNER], line, "planned",
                   {JAN: "100", dt.date(2026, 3, 15): "1"})
    assert "first day of the month" in exc.value.message
    assert cells(line) == {}


def test_a_month_not_on_the_first_names_the_cell(world, line):
    with pytest.raises(ApplicationError) as exc:
        set_values(world.a[Role.OWNER], line, "planned", {dt.date(2026, 3, 15): "1"})
    assert exc.value.field == "values.2026-03"


def test_good_amounts_in_several_forms(world, line):
    set_values(world.a[Role.OWNER], line, "planned",
               {JAN: "1250.75", FEB: Decimal("99.9"), MAR: 42,
                dt.date(2026, 4, 1): " 0 ", dt.date(2026, 5, 1): "99999999999999.99"})
    assert cells(line, "planned") == {
        (JAN, "planned"): Decimal("1250.75"), (FEB, "planned"): Decimal("99.90"),
        (MAR, "planned"): Decimal("42.00"), (dt.date(2026, 4, 1), "planned"): Decimal("0"),
        (dt.date(2026, 5, 1), "planned"): Decimal("99999999999999.99")}


@pytest.mark.parametrize("text", ["1,5", "1,250.75"])
def test_a_comma_is_refused_rather_than_guessed(world, line, text):
    # "1,5" means 1.5 in much of Europe and 15 in the US.
    with pytest.raises(ApplicationError) as exc:
        set_values(world.a[Role.OWNER], line, "planned", {JAN: text})
    assert exc.value.field == "values.2026-01"
    assert "Use a dot for decimals" in exc.value.message
    assert cells(line) == {}


def test_an_empty_cell_clears_and_other_cells_and_kinds_stay(world, line):
    set_values(world.a[Role.OWNER], line, "planned", {JAN: "100", FEB: "200", MAR: "300"})
    set_values(world.a[Role.OWNER], line, "planned", {FEB: "", MAR: None})
    assert cells(line) == {(JAN, "planned"): Decimal("100.00")}
    set_values(world.a[Role.OWNER], line, "planned", {FEB: "  "})  # clearing twice is fine
    assert cells(line) == {(JAN, "planned"): Decimal("100.00")}


def test_setting_a_cell_again_updates_it_in_place(world, line):
    set_values(world.a[Role.OWNER], line, "planned", {JAN: "100"})
    set_values(world.a[Role.OWNER], line, "planned", {JAN: "150.10"})
    with scopes_disabled():
        assert MonthlyValue.objects.filter(line=line).count() == 1
    assert cells(line) == {(JAN, "planned"): Decimal("150.10")}


def test_new_actuals_after_validation_void_the_validation(world):
    planned = at_stage(world, Stage.IMPLEMENTED)
    set_values(world.a[Role.OWNER], planned, "actual", {JAN: "900"})
    gov.value_validate(membership=world.a[Role.CONTROLLER].membership,
                       initiative_id=world.initiative.pk)
    world.initiative.refresh_from_db()
    assert world.initiative.value_validated_at is not None
    # Forecasts do not touch the validation...
    set_values(world.a[Role.OWNER], planned, "forecast", {JAN: "950"})
    world.initiative.refresh_from_db()
    assert world.initiative.value_validated_by_id == world.a[Role.CONTROLLER].user.pk
    # ...new actuals do.
    set_values(world.a[Role.OWNER], planned, "actual", {FEB: "910"})
    world.initiative.refresh_from_db()
    assert world.initiative.value_validated_at is None
    assert world.initiative.value_validated_by_id is None


def test_refused_actuals_keep_the_validation(world):
    planned = at_stage(world, Stage.IMPLEMENTED)
    set_values(world.a[Role.OWNER], planned, "actual", {JAN: "900"})
    gov.value_validate(membership=world.a[Role.CONTROLLER].membership,
                       initiative_id=world.initiative.pk)
    with pytest.raises(ApplicationError):
        set_values(world.a[Role.OWNER], planned, "actual", {FEB: "910", MAR: "-1"})
    world.initiative.refresh_from_db()
    assert world.initiative.value_validated_at is not None


# --- The values grid page ----------------------------------------------------------------------


@pytest.fixture
def two_lines(world, line):
    with scopes_disabled():
        second = ImpactLineFactory(initiative=world.initiative, description="Volumes")
    set_values(world.a[Role.OWNER], line, "planned", {JAN: "100"})
    return line, second


def cell(line, month: dt.date) -> str:
    return f"v-{line.pk}-{month:%Y-%m}"


def versions(*lines) -> dict:
    """The hidden version fields of the grid page for ``lines``, as stored now."""
    with scopes_disabled():
        return {f"version-{ln.pk}": str(type(ln).objects.get(pk=ln.pk).version) for ln in lines}


def test_grid_page_shows_an_input_per_line_and_month(world, two_lines):
    first, second = two_lines
    response = client_for(world.a[Role.OWNER].user).get(
        org_url("values_edit", initiative_id=world.initiative.pk, kind="planned"))
    assert response.status_code == 200
    body = page_text(response)
    for ln in (first, second):
        assert body.count(f'name="v-{ln.pk}-') == 24  # Jan 2026 .. Dec 2027
    assert input_value(response, cell(first, JAN)) == "100.00"
    assert input_value(response, cell(second, JAN)) == ""


def test_grid_page_with_one_bad_cell_keeps_everything_and_saves_nothing(world, two_lines):
    first, second = two_lines
    before = cells(first) | cells(second)
    post = {cell(first, JAN): "120", cell(first, FEB): "130", cell(second, JAN): "10",
            cell(second, MAR): "12.345", cell(second, dt.date(2026, 4, 1)): "14"}
    response = client_for(world.a[Role.OWNER].user).post(
        org_url("values_edit", initiative_id=world.initiative.pk, kind="planned"),
        {**post, **versions(first, second)})
    assert response.status_code == 400
    body = page_text(response)
    assert "Nothing was saved. Fix the marked cells." in body
    bad = cell(second, MAR)
    assert (f'<p class="error" id="{bad}-error">Use at most 14 digits and 2 decimal places.</p>'
            in body)
    assert f'aria-describedby="{bad}-error"' in body
    assert body.count('class="error"') == 1
    for name, raw in post.items():
        assert input_value(response, name) == raw
    # The first line's cells were valid, but the change is all or nothing.
    assert cells(first) | cells(second) == before


def test_grid_page_refuses_a_cell_of_another_initiative(world, two_lines):
    first, _ = two_lines
    with scopes_disabled():
        other = ImpactLineFactory(initiative__program=world.initiative.program,
                                  initiative__owner=world.a[Role.OWNER].user)
    response = client_for(world.a[Role.OWNER].user).post(
        org_url("values_edit", initiative_id=world.initiative.pk, kind="planned"),
        {cell(first, JAN): "999", cell(other, JAN): "1"})
    assert response.status_code == 400
    assert cells(first) == {(JAN, "planned"): Decimal("100.00")}
    assert cells(other) == {}


def test_grid_page_saves_good_values_and_redirects(world, two_lines):
    first, second = two_lines
    response = client_for(world.a[Role.OWNER].user).post(
        org_url("values_edit", initiative_id=world.initiative.pk, kind="planned"),
        {cell(first, JAN): "", cell(first, FEB): "1000.50", cell(second, MAR): "75",
         **versions(first, second)})
    assert response.status_code == 302
    assert response["Location"] == org_url("initiative_detail",
                                           initiative_id=world.initiative.pk)
    assert "Planned values saved." in flashed(response)
    assert cells(first) == {(FEB, "planned"): Decimal("1000.50")}
    assert cells(second) == {(MAR, "planned"): Decimal("75.00")}


def test_grid_page_for_a_frozen_kind_redirects_with_the_reason(world, two_lines):
    first, _ = two_lines
    client = client_for(world.a[Role.OWNER].user)
    url = org_url("values_edit", initiative_id=world.initiative.pk, kind="forecast")
    page = client.get(url)
    assert page.status_code == 200
    assert "Forecasts are entered from the Decided gate on." in page_text(page)
    assert ' disabled' in page_text(page)
    response = client.post(url, {cell(first, JAN): "900"})
    assert response.status_code == 302
    assert response["Location"] == org_url("initiative_detail",
                                           initiative_id=world.initiative.pk)
    assert flashed(response) == ["Forecasts are entered from the Decided gate on."]
    assert cells(first, "forecast") == {}


def test_grid_page_for_the_frozen_plan_mentions_the_re_baseline(world):
    planned = at_stage(world, Stage.DECIDED)
    before = cells(planned)
    response = client_for(world.a[Role.OWNER].user).post(
        org_url("values_edit", initiative_id=world.initiative.pk, kind="planned"),
        {cell(planned, JAN): "1"})
    assert response.status_code == 302
    assert any("re-baseline" in m for m in flashed(response))
    assert cells(planned) == before


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EXECUTIVE, Role.CONTROLLER])
def test_grid_page_is_forbidden_to_non_editors(world, two_lines, role):
    first, _ = two_lines
    client = client_for(world.a[role].user)
    url = org_url("values_edit", initiative_id=world.initiative.pk, kind="planned")
    assert client.get(url).status_code == 403
    assert client.post(url, {cell(first, JAN): "1"}).status_code == 403
    assert cells(first) == {(JAN, "planned"): Decimal("100.00")}


def test_grid_page_for_an_unknown_kind_is_404(world, two_lines):
    response = client_for(world.a[Role.OWNER].user).get(
        org_url("values_edit", initiative_id=world.initiative.pk, kind="budget"))
    assert response.status_code == 404


def test_controller_only_actuals_through_the_grid_page(world):
    planned = at_stage(world, Stage.IMPLEMENTED)
    use_actuals_entry(world, ActualsEntry.CONTROLLER_ONLY)
    url = org_url("values_edit", initiative_id=world.initiative.pk, kind="actual")
    assert client_for(world.a[Role.OWNER].user).post(
        url, {cell(planned, JAN): "1"}).status_code == 403
    response = client_for(world.a[Role.CONTROLLER].user).post(
        url, {cell(planned, JAN): "880", **versions(planned)})
    assert response.status_code == 302
    assert cells(planned, "actual") == {(JAN, "actual"): Decimal("880.00")}

"""The dashboard's filters, built on the ones every portfolio view shares
(``initiatives.filters.PlaceFilterSet``: portfolio, program, business unit and owner of
the organisation) plus the fiscal year:

- ``DashboardFilterSet``: those five; the board pack's request (``BoardPackFilterSet``);
- ``DashboardAsOfFilterSet``: plus the past date to set beside today (the dashboard's
  page and API), and ``ChangesFilterSet`` plus the date "what changed" starts from;
- ``DrillFilterSet``: plus the figure that was clicked (the drill-down's page and API).

An invalid filter shows its error on the page and is left out; the API answers 400
with it. The API's query parameters are generated from these classes."""

from datetime import date

import django_filters
from django.core.exceptions import ValidationError
from django.utils import timezone

from cat4.common.api import described
from cat4.common.widgets import DateInput
from cat4.tenancy.models import Organization
from initiatives import calculations as calc
from initiatives.filters import PlaceFilterSet, stage_filter

from .forms import BoardPackRequestForm
from .models import RAG_CHOICES, InitiativeYearValue
from .selectors import DashboardFilters, DrillFilters


def current_fiscal_year(organization: Organization) -> int:
    return calc.fiscal_year(timezone.localdate(),
                            start_month=organization.fiscal_year_start_month)


def not_in_future(day: date) -> None:
    if day > timezone.localdate():
        raise ValidationError("Pick a date that is not in the future.")


class DashboardFilterSet(PlaceFilterSet):
    """Portfolio, program, business unit, owner and the fiscal year (one with values,
    or the current one, which is the default)."""

    fiscal_year = described(
        django_filters.TypedChoiceFilter(coerce=int, label="Fiscal year"),
        "A fiscal year with values (default: the current one).")

    def __init__(self, data=None, *, organization: Organization, prefix=None):
        super().__init__(data, organization=organization, prefix=prefix)
        self.default_year = current_fiscal_year(organization)
        years = set(InitiativeYearValue.objects.filter(organization=organization)
                    .values_list("fiscal_year", flat=True).distinct())
        years.add(self.default_year)
        start = organization.fiscal_year_start_month
        self.filters["fiscal_year"].extra.update(
            initial=self.default_year,
            choices=[(fy, calc.fiscal_year_label(fy, start_month=start))
                     for fy in sorted(years)])

    def dashboard_filters(self) -> DashboardFilters:
        """The valid filters (an invalid one is left out), the fiscal year defaulted."""
        return DashboardFilters(**self.ids(),
                                fiscal_year=self.value("fiscal_year") or self.default_year)


class DashboardAsOfFilterSet(DashboardFilterSet):
    """The dashboard's filters and, optionally, a past date to set beside today."""

    as_of = described(
        django_filters.DateFilter(label="Compare with", widget=DateInput(),
                                  validators=[not_in_future],
                                  help_text="The portfolio as it was on that date, beside "
                                            "today."),
        "Compare with the portfolio at the end of this day (not in the future).")

    def as_of_date(self) -> date | None:
        return self.value("as_of")


class ChangesFilterSet(DashboardAsOfFilterSet):
    """What changed since a date: the dashboard's filters, its date to compare with, and
    the date the changes start from."""

    since = django_filters.DateFilter(
        label="Changes since", widget=DateInput(), validators=[not_in_future],
        help_text="For example the date of the last steering committee.")

    field_order = ["since", "as_of"]

    def since_date(self) -> date | None:
        return self.value("since")


YES = [("1", "Yes")]


class DrillFilterSet(DashboardFilterSet):
    """The dashboard's filters plus the figure that was clicked."""

    stage = stage_filter()
    schedule_rag = described(
        django_filters.ChoiceFilter(choices=RAG_CHOICES, empty_label="Any",
                                    label="Delivery status"),
        "Delivery status.")
    financial_rag = described(
        django_filters.ChoiceFilter(choices=RAG_CHOICES, empty_label="Any",
                                    label="Money status"),
        "Money status.")
    stale = described(
        django_filters.ChoiceFilter(choices=YES, empty_label="Any", label="Stale"),
        "1: only initiatives with an overdue status update.")
    variance = described(
        django_filters.ChoiceFilter(
            choices=[("shortfall", "Outturn below plan"), ("ahead", "Outturn above plan")],
            empty_label="Any", label="Variance"),
        "Outturn below (shortfall) or above (ahead) plan, of initiatives with a forecast.")
    escalation_level = described(
        django_filters.TypedChoiceFilter(
            coerce=int, empty_value=None, label="Open escalation",
            choices=[("", "Any"), (1, "Owner"), (2, "Sponsor"), (3, "Steering group")]),
        "With an open escalation at this level (1 owner, 2 sponsor, 3 steering group).")

    def drill(self) -> DrillFilters:
        return DrillFilters(
            stage=self.value("stage") or "", schedule_rag=self.value("schedule_rag") or "",
            financial_rag=self.value("financial_rag") or "",
            stale=self.value("stale") == "1", variance=self.value("variance") or "",
            escalation_level=self.value("escalation_level"))


class BoardPackFilterSet(DashboardFilterSet):
    """The board pack's request on its page: the title, the date the appendix starts
    from, then the dashboard's filters."""

    class Meta:
        form = BoardPackRequestForm

    def pack_filters(self) -> dict:
        """The filters chosen, as ``boardpack.board_pack_request`` takes them (ids; the
        fiscal year only when one was picked)."""
        year = self.value("fiscal_year")
        return {**self.ids(), **({"fiscal_year": year} if year else {})}


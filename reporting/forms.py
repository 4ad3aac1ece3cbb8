"""Dashboard filters from the query string. Every id is resolved inside the current
organisation: an id of another organisation is a field error ("Select a valid
choice"), never a lookup outside the tenant."""

from django import forms
from django.utils import timezone

from cat4.tenancy.models import Organization, User
from initiatives import calculations as calc
from initiatives.forms import MemberChoiceField, members_of
from initiatives.models import BusinessUnit, Portfolio, Program, Stage

from .models import RAG_CHOICES, InitiativeYearValue
from .selectors import DashboardFilters, DrillFilters


def current_fiscal_year(organization: Organization) -> int:
    return calc.fiscal_year(timezone.localdate(),
                            start_month=organization.fiscal_year_start_month)


class DashboardFilterForm(forms.Form):
    portfolio = forms.ModelChoiceField(queryset=Portfolio.objects.none(), required=False,
                                       empty_label="All portfolios")
    program = forms.ModelChoiceField(queryset=Program.objects.none(), required=False,
                                     empty_label="All programs")
    business_unit = forms.ModelChoiceField(queryset=BusinessUnit.objects.none(),
                                           required=False, empty_label="All business units",
                                           label="Business unit")
    owner = MemberChoiceField(queryset=User.objects.none(), required=False,
                              empty_label="All owners")
    fiscal_year = forms.TypedChoiceField(coerce=int, required=False, label="Fiscal year")

    def __init__(self, *args, organization: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization
        self.fields["portfolio"].queryset = Portfolio.objects.filter(organization=organization)
        self.fields["program"].queryset = Program.objects.filter(organization=organization)
        self.fields["business_unit"].queryset = BusinessUnit.objects.filter(
            organization=organization)
        self.fields["owner"].queryset = members_of(organization)
        start = organization.fiscal_year_start_month
        self.default_year = current_fiscal_year(organization)
        years = set(InitiativeYearValue.objects.filter(organization=organization)
                    .values_list("fiscal_year", flat=True).distinct())
        years.add(self.default_year)
        self.fields["fiscal_year"].choices = [
            (fy, calc.fiscal_year_label(fy, start_month=start)) for fy in sorted(years)]
        if not self.is_bound or not self.data.get("fiscal_year"):
            self.initial["fiscal_year"] = self.default_year

    def _value(self, name):
        """The cleaned value of a field, or None when it is missing or invalid."""
        if not self.is_bound:
            return None
        self.is_valid()
        return self.cleaned_data.get(name) if name not in self.errors else None

    def filters(self) -> DashboardFilters:
        """The valid filters (an invalid field is ignored and shows its error)."""
        def pk(name):
            value = self._value(name)
            return value.pk if value is not None else None

        return DashboardFilters(
            portfolio=pk("portfolio"), program=pk("program"),
            business_unit=pk("business_unit"), owner=pk("owner"),
            fiscal_year=self._value("fiscal_year") or self.default_year)


class DashboardForm(DashboardFilterForm):
    """The dashboard's filters and, optionally, a past date to set beside today."""

    as_of = forms.DateField(required=False, label="Compare with",
                            widget=forms.DateInput(attrs={"type": "date"}),
                            help_text="The portfolio as it was on that date, beside today.")

    def clean(self):
        data = super().clean()
        if data.get("as_of") and data["as_of"] > timezone.localdate():
            self.add_error("as_of", "Pick a date that is not in the future.")
        return data

    def as_of_date(self):
        return self._value("as_of")


YES = [("", "Any"), ("1", "Yes")]


class DrillFilterForm(DashboardFilterForm):
    """The dashboard's filters plus the figure that was clicked."""

    stage = forms.ChoiceField(required=False, choices=[("", "All stages"), *Stage.choices])
    schedule_rag = forms.ChoiceField(required=False, choices=[("", "Any"), *RAG_CHOICES],
                                     label="Delivery status")
    financial_rag = forms.ChoiceField(required=False, choices=[("", "Any"), *RAG_CHOICES],
                                      label="Money status")
    stale = forms.ChoiceField(required=False, choices=YES, label="Stale")
    variance = forms.ChoiceField(required=False, label="Variance", choices=[
        ("", "Any"), ("shortfall", "Outturn below plan"), ("ahead", "Outturn above plan")])
    escalation_level = forms.TypedChoiceField(
        required=False, coerce=int, label="Open escalation", empty_value=None,
        choices=[("", "Any"), (1, "Owner"), (2, "Sponsor"), (3, "Steering group")])

    def drill(self) -> DrillFilters:
        return DrillFilters(
            stage=self._value("stage") or "", schedule_rag=self._value("schedule_rag") or "",
            financial_rag=self._value("financial_rag") or "",
            stale=self._value("stale") == "1", variance=self._value("variance") or "",
            escalation_level=self._value("escalation_level"))

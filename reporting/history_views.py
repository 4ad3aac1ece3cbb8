"""What changed since a date, and the portfolio as of a date, next to today's. Thin:
parse the dates and filters, call ``reporting.history``, render."""

from datetime import timedelta

from django import forms
from django.shortcuts import render
from django.utils import timezone

from cat4.tenancy.decorators import org_view
from governance.permissions import can_view_escalations
from initiatives.permissions import can_view_initiatives

from . import history
from .forms import DashboardFilterForm

LIMIT = 200  # rows per section on the page; the count above says how many there are


class ChangesForm(DashboardFilterForm):
    since = forms.DateField(required=False, label="Changes since",
                            widget=forms.DateInput(attrs={"type": "date"}),
                            help_text="For example the date of the last steering committee.")
    as_of = forms.DateField(required=False, label="Portfolio as of",
                            widget=forms.DateInput(attrs={"type": "date"}),
                            help_text="Leave empty to hide the comparison.")

    field_order = ["since", "as_of", "portfolio", "program", "business_unit", "owner",
                   "fiscal_year"]

    def clean(self):
        data = super().clean()
        today = timezone.localdate()
        for name in ("since", "as_of"):
            if data.get(name) and data[name] > today:
                self.add_error(name, "Pick a date that is not in the future.")
        return data


@org_view(can_view_initiatives)
def changes(request, org_slug):
    org = request.organization
    today = timezone.localdate()
    default_since = today - timedelta(days=30)
    data = request.GET.copy()
    if not data.get("since"):
        data["since"] = default_since.isoformat()
    form = ChangesForm(data, organization=org)
    filters = form.filters()
    since = form._value("since") or default_since
    as_of_date = form._value("as_of")
    report = history.changes_since(organization=org, since=since, filters=filters)
    show_escalations = can_view_escalations(membership=request.membership)
    as_of = today_figures = None
    if as_of_date:
        as_of = history.portfolio_as_of(organization=org, when=as_of_date, filters=filters,
                                        fiscal_year=filters.fiscal_year)
        today_figures = history.portfolio_as_of(organization=org, when=today, filters=filters,
                                                fiscal_year=filters.fiscal_year)
    headline_rows, stage_rows, initiatives_delta = [], [], 0
    if as_of:
        for label, key in (("Planned", "planned"), ("Forecast", "forecast"),
                           ("Outturn", "outturn"), ("Actual", "actual")):
            then, now = getattr(as_of.headline, key), getattr(today_figures.headline, key)
            headline_rows.append((label, then, now, now - then))
        stage_rows = [(then.label, then.count, now.count, now.count - then.count)
                      for then, now in zip(as_of.stages, today_figures.stages, strict=True)]
        initiatives_delta = today_figures.initiatives - as_of.initiatives
    status = 400 if form.errors else 200
    return render(request, "reporting/changes.html", {
        "form": form, "report": report, "since": since, "as_of": as_of,
        "today_figures": today_figures, "headline_rows": headline_rows,
        "stage_rows": stage_rows, "initiatives_delta": initiatives_delta, "limit": LIMIT,
        "show_escalations": show_escalations, "currency": org.base_currency,
        "financial_changes": [c for c in report.rag_changes if c.kind == "financial"],
        "schedule_changes": [c for c in report.rag_changes if c.kind == "schedule"],
    }, status=status)

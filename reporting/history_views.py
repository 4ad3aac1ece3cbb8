"""What changed since a date, and the portfolio as of a date, next to today's. Thin:
parse the dates and filters, call ``reporting.history``, render."""

from datetime import date, timedelta

from django.shortcuts import render
from django.utils import timezone

from cat4.tenancy.decorators import org_view
from cat4.tenancy.models import Organization
from governance.permissions import can_view_escalations
from initiatives.permissions import can_view_initiatives

from . import history
from .filters import ChangesFilterSet
from .selectors import DashboardFilters

LIMIT = 200  # rows per section on the page; the count above says how many there are


def as_of_context(*, organization: Organization, when: date | None,
                  filters: DashboardFilters) -> dict:
    """The context of templates/reporting/_as_of.html: the portfolio at the end of
    ``when`` beside today (``history.as_of_comparison``), or ``as_of`` None."""
    comparison = history.as_of_comparison(organization=organization, when=when,
                                          filters=filters)
    return comparison.context() if comparison is not None else {"as_of": None}


@org_view(can_view_initiatives)
def changes(request, org_slug):
    org = request.organization
    today = timezone.localdate()
    default_since = today - timedelta(days=30)
    data = request.GET.copy()
    if not data.get("since"):
        data["since"] = default_since.isoformat()
    filterset = ChangesFilterSet(data, organization=org)
    form = filterset.form
    filters = filterset.dashboard_filters()
    since = filterset.since_date() or default_since
    as_of_date = filterset.as_of_date()
    report = history.changes_since(organization=org, since=since, filters=filters)
    show_escalations = can_view_escalations(membership=request.membership)
    status = 400 if form.errors else 200
    return render(request, "reporting/changes.html", {
        "form": form, "report": report, "since": since, "limit": LIMIT,
        **as_of_context(organization=org, when=as_of_date, filters=filters),
        "show_escalations": show_escalations, "currency": org.base_currency,
        "financial_changes": [c for c in report.rag_changes if c.kind == "financial"],
        "schedule_changes": [c for c in report.rag_changes if c.kind == "schedule"],
    }, status=status)

"""The portfolio dashboard in the API: ``GET /api/v1/o/<slug>/dashboard/``.

A thin layer over the page's own reads: the query string is validated by the page's
filter set (``reporting.filters.DashboardAsOfFilterSet``: portfolio, program,
business_unit, owner, fiscal_year and the ``as_of`` date to compare with, also the
schema's query parameters), the figures come from
``reporting.selectors.dashboard`` and the comparison from
``reporting.history.as_of_comparison``, exactly as ``reporting.views.dashboard`` calls
them. The one difference: an invalid parameter (an id of another organisation included)
is a 400 on that parameter, where the page ignores it and shows the field's error.

The serializers only rename and format: money is a decimal string in the organisation's
``currency`` (top level), dates and times ISO 8601. Every figure that the page links to
the initiatives behind it carries ``drill``: the query parameters of that drill-down (the
dashboard's filters plus the figure's own ``stage``, ``schedule_rag`` and
``financial_rag``, ``variance``, ``stale`` or ``escalation_level``), the URL of the
drill-down page with them, which lists those initiatives with their count and sums, and
``api_url``: the same drill-down in the API.

``GET /api/v1/o/<slug>/dashboard/initiatives/`` is that drill-down list, as thin over the
page's reads (``reporting.views.dashboard_initiatives``): the query string is validated by
the page's ``reporting.filters.DrillFilterSet``, the rows and their totals come from
``reporting.selectors.drill_queryset``, ``drill_rows`` and ``drill_totals``, and ``sort``
has the page's keys and default. Paginated by the API's pagination class (``?page=``),
with the totals of every page beside the rows.

The package: ``views`` (the two views and their query parameters), ``figures`` (the
dashboard's serializers), ``as_of`` (the comparison's), ``drill`` (the drill-down's) and
``fields`` (amounts, colours and links they share).
"""

from .views import DashboardDrillListView, DashboardView

__all__ = ["DashboardDrillListView", "DashboardView"]

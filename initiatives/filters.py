"""The portfolio filters, declared once (django-filter).

``PlaceFilterSet`` holds the filters every portfolio view shares: portfolio, program,
business unit and owner, each a choice among the rows of the organisation the filter
set is made for (owners: its members), so an id of another organisation is a field
error ("Select a valid choice"), never a lookup outside it. ``InitiativeFilterSet`` adds
the initiative list's search, stage and order: the list page, the initiatives API list
and the exports (page and API) read it; the dashboard's filter sets
(``reporting.filters``) build on ``PlaceFilterSet``.

A filter set validates the query and renders it (``form``); its values go to the
selectors (``list_filters``), which filter, so ``qs`` is not used. The API's query
parameters are generated from it (``cat4.common.api.filterset_parameters``).
"""

import django_filters

from cat4.common.api import described
from cat4.common.fields import MemberChoiceField
from cat4.tenancy.models import Organization
from cat4.tenancy.selectors import member_users

from .models import BusinessUnit, Initiative, Portfolio, Program, Stage

PLACE_FILTERS = ("portfolio", "program", "business_unit", "owner")


class InOrgChoiceFilter(django_filters.ModelChoiceFilter):
    """A choice among one organisation's rows: ``queryset`` is called with the filter
    set's organisation."""

    def get_queryset(self, request):
        return self.queryset(self.parent.organization)


class MemberFilter(InOrgChoiceFilter):
    """A member of the organisation, shown as "Name (email)"."""

    field_class = MemberChoiceField


def rows_of(model):
    """The ``queryset`` of an ``InOrgChoiceFilter``: the organisation's rows of ``model``."""
    return lambda organization: model.objects.filter(organization=organization)


def stage_filter() -> django_filters.ChoiceFilter:
    return django_filters.ChoiceFilter(choices=Stage.choices, empty_label="All stages",
                                       label="Stage")


class OrgFilterSet(django_filters.FilterSet):
    """A filter set of one organisation. ``field_order``: the fields its form shows
    first, the others follow as declared."""

    field_order: list[str] | None = None

    def __init__(self, data=None, *, organization: Organization, prefix=None):
        self.organization = organization
        # The selectors filter (see the module's docstring): the queryset is never read.
        super().__init__(data, queryset=Initiative.objects.none(), prefix=prefix)

    def get_form_class(self):
        form_class = super().get_form_class()
        if self.field_order is not None:
            form_class.field_order = self.field_order
        return form_class

    def value(self, name: str):
        """The cleaned value of a filter, or None when it is missing or invalid (an
        invalid one shows its error on the page, and callers that must refuse it check
        ``is_valid()`` first)."""
        if not self.is_bound:
            return None
        self.form.is_valid()
        return self.form.cleaned_data.get(name)


class PlaceFilterSet(OrgFilterSet):
    """Where in the portfolio, and whose: the filters every portfolio view shares."""

    portfolio = described(
        InOrgChoiceFilter(queryset=rows_of(Portfolio), label="Portfolio",
                          empty_label="All portfolios"),
        "A portfolio id of the organisation.")
    program = described(
        InOrgChoiceFilter(queryset=rows_of(Program), label="Program",
                          empty_label="All programs"),
        "A program id of the organisation.")
    business_unit = described(
        InOrgChoiceFilter(queryset=rows_of(BusinessUnit), label="Business unit",
                          empty_label="All business units"),
        "A business unit id of the organisation.")
    owner = described(
        MemberFilter(queryset=member_users, label="Owner", empty_label="All owners"),
        "A user id of a member of the organisation.")

    def ids(self) -> dict[str, int]:
        """The valid place filters that are set, as ids: ``{"program": 3}``."""
        return {name: row.pk for name in PLACE_FILTERS
                if (row := self.value(name)) is not None}


SORT_CHOICES = [("code", "Code"), ("title", "Title"), ("stage", "Stage"),
                ("target", "Target date"), ("-target", "Target date, latest first"),
                ("owner", "Owner")]


class InitiativeFilterSet(PlaceFilterSet):
    """The initiative list's filters: also those of its exports (page and API) and, but
    for the order, of the initiatives API list."""

    q = described(django_filters.CharFilter(label="Search"),
                  "Code or title contains this text.")
    stage = stage_filter()
    sort = django_filters.ChoiceFilter(choices=SORT_CHOICES, empty_label=None, label="Sort")

    field_order = ["q", "stage"]

    def list_filters(self) -> dict:
        """Keyword arguments of ``initiatives.selectors.initiative_list`` from the valid
        filters (an invalid one is left out)."""
        ids = self.ids()
        return {"stage": self.value("stage") or "",
                **{name: ids.get(name) for name in PLACE_FILTERS},
                "query": self.value("q") or "", "sort": self.value("sort") or "code"}


class InitiativeListFilterSet(InitiativeFilterSet):
    """The initiatives API list's: its order takes more keys than the page offers
    (``selectors.SORTS``) and is read apart."""

    sort = None

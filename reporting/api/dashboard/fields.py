"""What the dashboard's serializers share: amounts and colours as fields, and the links
of a figure (its drill-down page and API) and of an initiative."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ...models import RAG_CHOICES
from ...selectors import DrillFilters


def money_field(**kwargs):
    # No max_digits: a sum over a large portfolio is never refused on output.
    return serializers.DecimalField(max_digits=None, decimal_places=2, read_only=True,
                                    **kwargs)


RAG_VALUES = ", ".join(value for value, _label in RAG_CHOICES)


def colour_field(help_text: str, **kwargs):
    # A plain string: a ChoiceField under three names (schedule, financial, colour) makes
    # drf-spectacular warn about one choice set with several enum names.
    return serializers.CharField(read_only=True, help_text=f"{help_text} One of {RAG_VALUES}.",
                                 **kwargs)


# --- Links -----------------------------------------------------------------------------


class DashboardDrillSerializer(serializers.Serializer):
    params = serializers.DictField(
        child=serializers.CharField(),
        help_text="The query parameters of the drill-down: the dashboard's filters plus "
                  "the figure's own.")
    url = serializers.CharField(help_text="The drill-down page with these parameters.")
    api_url = serializers.CharField(
        help_text="The same drill-down in the API (GET …/dashboard/initiatives/): the "
                  "initiatives behind the figure, with their count and sums.")


def drill_link(context: dict, **figure) -> dict:
    """The drill-down of one figure, as the page links it."""
    filters = context["filters"]
    extra = DrillFilters(**figure).params()
    query = filters.query(**extra)
    return {"params": {**filters.params(), **extra},
            "url": f"{context['drill_url']}?{query}",
            "api_url": f"{context['drill_api_url']}?{query}"}


def api_url(context: dict, name: str, **kwargs) -> str:
    return reverse(name, kwargs={"org_slug": context["org_slug"], **kwargs})


class DrillMixin:
    """``drill`` for a figure whose drill-down parameters ``drill_params`` returns."""

    @extend_schema_field(DashboardDrillSerializer)
    def get_drill(self, obj) -> dict:
        return DashboardDrillSerializer(drill_link(self.context, **self.drill_params(obj))).data

    def drill_params(self, obj) -> dict:
        return {}


class DashboardInitiativeRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    title = serializers.CharField()
    url = serializers.SerializerMethodField(help_text="The initiative in the API.")

    def get_url(self, initiative) -> str:
        return api_url(self.context, "api_initiative_detail", initiative_id=initiative.pk)


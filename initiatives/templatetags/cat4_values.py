"""Template helpers for value grids, money and RAG badges."""

from decimal import Decimal

from django import template

from cat4.common.money import format_money
from cat4.common.months import month_key

register = template.Library()


@register.simple_tag
def grid_value(cells, month, kind):
    return cells.get((month, kind))


@register.filter
def money(amount, currency):
    if amount is None or amount == "":
        return "–"
    return format_money(Decimal(amount), currency)


@register.simple_tag
def cell_name(line_id, month):
    return f"v-{line_id}-{month_key(month)}"


@register.simple_tag
def dict_get(mapping, key):
    return mapping.get(key, "")

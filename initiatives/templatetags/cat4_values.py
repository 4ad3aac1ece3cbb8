"""Template helpers for value grids, money and RAG badges."""

from decimal import Decimal

from django import template

from initiatives import calculations as calc

register = template.Library()


@register.simple_tag
def grid_value(cells, month, kind):
    return cells.get((month, kind))


@register.filter
def money(amount, currency):
    if amount is None or amount == "":
        return "–"
    return calc.format_money(Decimal(amount), currency)


@register.simple_tag
def cell_name(line_id, month):
    return f"v-{line_id}-{month:%Y-%m}"


@register.simple_tag
def dict_get(mapping, key):
    return mapping.get(key, "")

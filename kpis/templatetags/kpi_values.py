from decimal import Decimal

from django import template

from kpis.calculations import format_value

register = template.Library()


@register.filter
def kpi_value(value, unit):
    """41.5000 with "%" -> "41.5 %" (no trailing zeros, never an exponent)."""
    if value is None or value == "":
        return "–"
    return format_value(value, unit)


@register.filter
def kpi_expected(value, unit):
    """An expected (interpolated) value, shown to 2 decimal places at most."""
    if value is None or value == "":
        return "–"
    return format_value(Decimal(value).quantize(Decimal("0.01")), unit)

"""The initiative's dual status as the detail page shows it."""

import datetime as dt
from decimal import Decimal

import pytest
from django_scopes import scopes_disabled

from initiatives import selectors
from initiatives.calculations import RagColour
from initiatives.models import MonthlyValue
from tests.factories import ImpactLineFactory

pytestmark = pytest.mark.django_db


def _values(line, kind, amounts):
    for month, amount in amounts.items():
        MonthlyValue.objects.create(organization=line.organization, line=line, month=month,
                                    kind=kind, amount=Decimal(amount))


def test_financial_rag_compares_the_outturn_with_the_plan(world):
    months = [dt.date(2026, m, 1) for m in range(1, 7)]
    with scopes_disabled():
        line = ImpactLineFactory(initiative=world.initiative)
        _values(line, "planned", dict.fromkeys(months, "1000"))
        _values(line, "forecast", dict.fromkeys(months, "1000"))
        # Two months delivered at half the plan: outturn 2 x 500 + 4 x 1000 = 5000.
        _values(line, "actual", dict.fromkeys(months[:2], "500"))
        _months, grids = selectors.value_grid(initiative=world.initiative)
        status = selectors.initiative_status(initiative=world.initiative, grids=grids,
                                             today=dt.date(2026, 3, 15))
    assert status.financial.colour == RagColour.RED
    assert "EUR 5.0 k is 83 % of plan EUR 6.0 k" in status.financial.explanation


def test_no_forecast_yet_is_grey_not_red(world):
    with scopes_disabled():
        line = ImpactLineFactory(initiative=world.initiative)
        _values(line, "planned", {dt.date(2026, 1, 1): "1000"})
        _months, grids = selectors.value_grid(initiative=world.initiative)
        status = selectors.initiative_status(initiative=world.initiative, grids=grids)
    assert status.financial.colour == RagColour.GREY
    assert "no forecast yet" in status.financial.explanation

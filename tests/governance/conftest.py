"""A governable initiative in org A: owned by the owner persona, sponsored by the
executive, controlled by the controller."""

import datetime as dt
from decimal import Decimal

import pytest
from django_scopes import scopes_disabled

from cat4.tenancy.models import Role
from initiatives.models import MonthlyValue
from tests.factories import ImpactLineFactory, InitiativeFactory, MilestoneFactory, ProgramFactory


@pytest.fixture
def program(world):
    with scopes_disabled():
        return ProgramFactory(organization=world.org_a, portfolio__organization=world.org_a,
                              name="Procurement excellence")


@pytest.fixture
def initiative(world, program):
    with scopes_disabled():
        return InitiativeFactory(
            program=program, code="AC-001", title="Freight tender",
            owner=world.a[Role.OWNER].user, sponsor=world.a[Role.EXECUTIVE].user,
            controller=world.a[Role.CONTROLLER].user,
            start_date=dt.date(2026, 1, 1), target_date=dt.date(2026, 6, 30))


def add_plan(initiative, amount="1000.00", months=6):
    with scopes_disabled():
        line = ImpactLineFactory(initiative=initiative, description="Freight rates")
        for m in range(1, months + 1):
            MonthlyValue.objects.create(organization=initiative.organization, line=line,
                                        month=dt.date(2026, m, 1), kind="planned",
                                        amount=Decimal(amount))
        return line


def add_milestone(initiative, **kwargs):
    with scopes_disabled():
        return MilestoneFactory(initiative=initiative, **kwargs)

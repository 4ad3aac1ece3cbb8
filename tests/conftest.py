"""Personas (DESIGN.md §7): org A with one user per role, org B with its own
executive, and a consultant who belongs to both. Everything runs on the real
PostgreSQL and Redis that `make test` started."""

from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.test import Client
from django_scopes import scopes_disabled
from rest_framework.test import APIClient

from cat4.tenancy.models import Membership, Organization, Role, User
from initiatives.models import Initiative
from tests.factories import (
    InitiativeFactory,
    MembershipFactory,
    OrganizationFactory,
    ProgramFactory,
    UserFactory,
)

ORG_A_MARKER = "Acme Transformation Holdings"
ORG_B_MARKER = "Globex Restructuring Group"


@dataclass
class Persona:
    user: User
    membership: Membership | None

    @property
    def role(self):
        return self.membership.role if self.membership else None


@dataclass
class World:
    org_a: Organization
    org_b: Organization
    a: dict[str, Persona]  # role -> persona in org A
    b_executive: Persona
    consultant: User
    # An initiative of org A: owned by the owner persona, sponsored by the
    # executive, controlled by the controller.
    initiative: Initiative


@pytest.fixture(autouse=True)
def _clean_cache():
    """Throttles and lockouts live in Redis; no test may see another's."""
    cache.clear()
    yield


@pytest.fixture
def world(db) -> World:
    with scopes_disabled():
        org_a = OrganizationFactory(name=ORG_A_MARKER, slug="acme")
        org_b = OrganizationFactory(name=ORG_B_MARKER, slug="globex", base_currency="USD")
        a = {}
        for role in Role.values:
            m = MembershipFactory(organization=org_a, role=role,
                                  user=UserFactory(email=f"{role}@acme.test",
                                                   full_name=f"Acme {role.title()}"))
            a[role] = Persona(m.user, m)
        b_exec = MembershipFactory(organization=org_b, role=Role.EXECUTIVE,
                                   user=UserFactory(email="executive@globex.test",
                                                    full_name="Globex Executive"))
        consultant = UserFactory(email="consultant@advisers.test", full_name="Casey Consultant")
        MembershipFactory(organization=org_a, user=consultant, role=Role.OWNER)
        MembershipFactory(organization=org_b, user=consultant, role=Role.EXECUTIVE)
        initiative = InitiativeFactory(
            program=ProgramFactory(organization=org_a, portfolio__organization=org_a,
                                   name="Acme Procurement"),
            code="AC-100", title="Acme freight tender", owner=a[Role.OWNER].user,
            sponsor=a[Role.EXECUTIVE].user, controller=a[Role.CONTROLLER].user)
    return World(org_a=org_a, org_b=org_b, a=a, b_executive=Persona(b_exec.user, b_exec),
                 consultant=consultant, initiative=initiative)


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def api_client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user=user)
    return client


@pytest.fixture
def worker(transactional_db):
    """A real Celery worker process on the test database and the test Redis."""
    from tests.workers import start_worker

    with start_worker() as proc:
        yield proc

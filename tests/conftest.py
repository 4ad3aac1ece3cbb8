"""Personas (DESIGN.md §7): org A with one user per role, org B with its own
executive, and a consultant who belongs to both. Everything runs on the real
PostgreSQL and Redis that `make test` started."""

import copy
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.db import transaction
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


def build_world() -> World:
    """Org A with one member per role, org B with its own executive, a consultant in both,
    and one initiative of org A."""
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


# --- The personas, built once per module -------------------------------------
#
# Building the world costs ~90 queries. The tests of one module that use `world` in a
# transaction that is rolled back (pytest-django's default) share one world: it is built
# once inside an outer transaction, each test runs in a savepoint within it (rolled back
# after the test, as before) and gets a deep copy of the Python objects, so a test that
# changes them changes only its own copy. The outer transaction is rolled back at the end
# of the module, or before any test that must not see it: a transactional test (its rows
# must be committed for other connections: live server, Celery worker, threads) or a test
# that does not ask for the world.


def _is_transactional(item) -> bool:
    marker = item.get_closest_marker("django_db")
    if marker and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences")):
        return True
    return bool({"transactional_db", "live_server", "django_db_reset_sequences"}
                & set(item.fixturenames))


def _shares_world(item) -> bool:
    return "world" in item.fixturenames and not _is_transactional(item)


class SharedWorld:
    """The outer transaction and the world of the module that runs now (one at a time)."""

    module = None
    atomic = None
    blocker = None
    world: World | None = None

    @classmethod
    def open(cls, module, blocker) -> None:
        cls.close()
        with blocker.unblock():
            cls.atomic = transaction.atomic()
            cls.atomic.__enter__()
            cls.module, cls.blocker = module, blocker
            cls.world = build_world()

    @classmethod
    def close(cls) -> None:
        if cls.atomic is None:
            return
        with cls.blocker.unblock():
            transaction.set_rollback(True)
            cls.atomic.__exit__(None, None, None)
        cls.module = cls.atomic = cls.blocker = cls.world = None


@pytest.hookimpl(trylast=True)  # after pytest-django has ordered the tests
def pytest_collection_modifyitems(config, items):
    """Within each run of one module's tests of one kind, the tests that share the world
    run first (so it is built once), and set up `_module_world` before anything else."""
    runs, start = [], 0
    for i in range(1, len(items) + 1):
        if i == len(items) or (items[i].module, _is_transactional(items[i])) != (
                items[start].module, _is_transactional(items[start])):
            runs.append(items[start:i])
            start = i
    items[:] = [item for run in runs
                for item in sorted(run, key=lambda item: not _shares_world(item))]
    for item in items:
        if _shares_world(item):
            item.fixturenames.insert(0, "_module_world")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Before any fixture of the next test: close the shared world unless it shares it."""
    if SharedWorld.atomic is not None and (
            SharedWorld.module is not item.module or not _shares_world(item)):
        SharedWorld.close()


@pytest.fixture(scope="module")
def _module_world(request, django_db_setup, django_db_blocker):
    """Set up first for the first test of a module that shares the world, before the
    test's own transaction (pytest-django's `db`), so that one nests in it."""
    SharedWorld.open(request.module, django_db_blocker)
    yield
    SharedWorld.close()


@pytest.fixture
def world(request, db) -> World:
    if _shares_world(request.node) and SharedWorld.module is request.module:
        return copy.deepcopy(SharedWorld.world)
    return build_world()


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

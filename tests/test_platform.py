"""Platform promises: fail-closed tenant scoping, no global permissions for tenant
users, health endpoint, security headers, no inline scripts, migrations in sync,
idempotent demo data."""

import io
import re
from pathlib import Path

import pghistory.models
import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django_scopes import ScopeError, scope, scopes_disabled

from cat4.tenancy.models import Membership, MembershipEvent, Organization, Role, TenantModel, User

ROOT = Path(settings.BASE_DIR)
PROJECT_APPS = {"tenancy", "common", "initiatives", "kpis", "governance", "reporting"}
NOT_TENANT_OWNED = {User, Organization}


# --- Tenancy -----------------------------------------------------------------


def test_every_project_table_is_tenant_owned_and_scoped():
    """Every model of ours but User and Organization carries organization_id and
    a fail-closed manager. New models join by deriving from TenantModel."""
    offenders = []
    for model in apps.get_models(include_auto_created=True):
        if model._meta.app_label not in PROJECT_APPS or model in NOT_TENANT_OWNED:
            continue
        if model._meta.auto_created and model._meta.auto_created is User:
            continue  # User.groups / User.user_permissions (never used for tenant users)
        if issubclass(model, pghistory.models.Event):
            continue  # history rows, read only through org-filtered selectors
        if not issubclass(model, TenantModel):
            offenders.append(model.__name__)
    assert not offenders, f"not tenant-owned: {offenders}"


@pytest.mark.django_db
def test_queries_outside_a_tenant_scope_fail_closed(world):
    for model in (Membership, MembershipEvent):
        with pytest.raises(ScopeError):
            list(model.objects.all())
    with pytest.raises(ScopeError):
        list(world.a[Role.ADMIN].user.memberships.all())


@pytest.mark.django_db
def test_a_tenant_scope_sees_only_its_own_rows(world):
    with scope(organization=world.org_b):
        emails = set(Membership.objects.values_list("user__email", flat=True))
    assert emails == {"executive@globex.test", "consultant@advisers.test"}


@pytest.mark.django_db
def test_tenant_users_hold_no_global_permission(world):
    call_command("seed_demo", "--no-portfolio", stdout=io.StringIO())
    with scopes_disabled():
        members = User.objects.filter(memberships__isnull=False).distinct()
        assert members.count() > 10
        for user in members:
            assert not user.is_superuser, user
            assert not user.user_permissions.exists(), user
            assert not user.groups.exists(), user
            assert user.get_all_permissions() == set(), user


def test_guardian_is_configured_for_object_permissions_only():
    assert settings.ANONYMOUS_USER_NAME is None
    assert "guardian.backends.ObjectPermissionBackend" in settings.AUTHENTICATION_BACKENDS


# --- Demo data ---------------------------------------------------------------


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_lets_every_demo_user_log_in():
    from cat4.tenancy.demo_data import DEMO_PASSWORD, demo_logins

    call_command("seed_demo", "--no-portfolio", stdout=io.StringIO())
    with scopes_disabled():
        first = (Organization.objects.count(), User.objects.count(),
                 Membership.objects.count(), MembershipEvent.objects.count())
    call_command("seed_demo", "--no-portfolio", stdout=io.StringIO())
    with scopes_disabled():
        again = (Organization.objects.count(), User.objects.count(),
                 Membership.objects.count(), MembershipEvent.objects.count())
        assert first == again == (2, 11, 12, 12)
        consultant = User.objects.get(email="consultant@meridian-advisory.example")
        assert consultant.memberships.count() == 2
    for email, _where in demo_logins():
        client = Client()
        response = client.post("/accounts/login/", {"username": email, "password": DEMO_PASSWORD})
        assert response.status_code == 302, email


# --- Health ------------------------------------------------------------------


@pytest.mark.django_db
def test_healthz_reports_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}


@pytest.mark.django_db
def test_healthz_is_503_when_redis_is_down(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "ok"
    assert response.json()["checks"]["redis"].startswith("error")


# --- Security headers and templates -------------------------------------------


@pytest.mark.django_db
def test_pages_send_security_headers(client):
    response = client.get("/accounts/login/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_templates_have_no_inline_script_style_or_cdn():
    offenders = []
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text):
            offenders.append(f"{path.name}: inline <script>")
        if re.search(r"\sstyle=\"", text) or "<style" in text:
            offenders.append(f"{path.name}: inline style")
        if re.search(r"\son[a-z]+=\"", text):
            offenders.append(f"{path.name}: inline event handler")
        if re.search(r"(src|href)=\"(https?:)?//", text):
            offenders.append(f"{path.name}: third-party asset")
    assert not offenders, offenders


def test_template_comments_are_single_line():
    """Django's {# #} comment ends at the line: one spread over lines is shown as text."""
    offenders = [f"{path.name}:{number}"
                 for path in (ROOT / "templates").rglob("*.html")
                 for number, line in enumerate(path.read_text().splitlines(), start=1)
                 if "{#" in line and "#}" not in line.split("{#", 1)[1]]
    assert not offenders, offenders


def test_vendored_front_end_libraries_are_pinned():
    vendor = ROOT / "static" / "vendor"
    htmx = (vendor / "htmx-2.0.11.min.js").read_text()
    chart = (vendor / "chart-4.5.1.umd.min.js").read_text()
    assert 'version:"2.0.11"' in htmx.replace(" ", "")
    assert "Chart.js v4.5.1" in chart


@pytest.mark.django_db
def test_static_files_are_served(client):
    assert client.get("/static/vendor/htmx-2.0.11.min.js").status_code == 200


# --- Migrations and schema ------------------------------------------------------


@pytest.mark.django_db
def test_migrations_are_in_sync_with_models():
    out = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_openapi_schema_has_no_warnings():
    out, err = io.StringIO(), io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out, stderr=err)
    assert "openapi" in out.getvalue()


def test_manage_py_works_without_urls_in_development():
    """Beside `make run`, `manage.py` finds the embedded servers under ./var by itself."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
    result = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "No changes detected" in result.stdout

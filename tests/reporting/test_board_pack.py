"""Board packs: the request, the build (snapshot with its SHA-256, then the PDF drawn
from the snapshot alone), progress and failure, the pages and API, and one build
through a real Celery worker."""

import base64
import contextlib
import re
import zlib
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from cat4.common.exceptions import ApplicationError, PermissionDeniedError
from cat4.tenancy.models import Role
from initiatives.models import Initiative, MonthlyValue
from reporting import boardpack
from reporting.models import BoardPack, JobStatus
from tests.conftest import ORG_B_MARKER, api_client_for, client_for
from tests.factories import EscalationFactory, ImpactLineFactory, InitiativeFactory, ProgramFactory


def pdf_text(content: bytes) -> str:
    """The text drawn by reportlab's standard fonts: the literal strings of the
    (inflated) content streams, joined."""
    chunks = []
    for match in re.finditer(rb"stream\r?\n(.*?)\s*endstream", content, re.S):
        raw = match.group(1).strip()
        if raw.endswith(b"~>"):  # reportlab: ASCII85, then Flate
            with contextlib.suppress(ValueError):
                raw = base64.a85decode(raw[:-2])
        with contextlib.suppress(zlib.error):
            raw = zlib.decompress(raw)
        for text in re.findall(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", raw):
            chunks.append(re.sub(rb"\\(.)", rb"\1", text).decode("latin-1"))
    return "\n".join(chunks)


@pytest.fixture
def portfolio(world):
    """Org A's initiative decided with plan and a lower forecast in the current fiscal
    year (a shortfall), an open escalation; org B with its own data."""
    this_year = timezone.localdate().year
    with scopes_disabled():
        Initiative.objects.filter(pk=world.initiative.pk).update(
            stage="decided", start_date=date(this_year, 1, 1),
            target_date=date(this_year, 12, 31))
        line = ImpactLineFactory(initiative=world.initiative, description="Freight rates")
        for month in range(1, 4):
            MonthlyValue.objects.create(organization=world.org_a, line=line,
                                        month=date(this_year, month, 1), kind="planned",
                                        amount=Decimal("10000.00"))
            MonthlyValue.objects.create(organization=world.org_a, line=line,
                                        month=date(this_year, month, 1), kind="forecast",
                                        amount=Decimal("7500.50"))
        EscalationFactory(rule__organization=world.org_a, rule__name="Money off plan",
                          initiative=world.initiative, level=2,
                          explanation="Forecast 22,501.50 is 75 % of plan 30,000.00.")
        b_init = InitiativeFactory(
            program=ProgramFactory(organization=world.org_b, portfolio__organization=world.org_b),
            code="GX-001", title=f"{ORG_B_MARKER} secret", owner=world.b_executive.user)
        b_line = ImpactLineFactory(initiative=b_init)
        MonthlyValue.objects.create(organization=world.org_b, line=b_line,
                                    month=date(this_year, 1, 1), kind="planned",
                                    amount=Decimal("99999.00"))
    return world


def _request(world, role=Role.EXECUTIVE, **kwargs) -> BoardPack:
    return boardpack.board_pack_request(
        membership=world.a[role].membership, title=kwargs.pop("title", "Q3 steering"),
        changes_since=kwargs.pop("changes_since", timezone.localdate() - timedelta(days=30)),
        filters=kwargs.pop("filters", {}))


def test_only_executives_and_admins_request_packs(world):
    for role in (Role.CONTROLLER, Role.OWNER, Role.VIEWER):
        with pytest.raises(PermissionDeniedError):
            _request(world, role)
    assert _request(world, Role.ADMIN).status == JobStatus.QUEUED
    with pytest.raises(ApplicationError) as exc:
        _request(world, changes_since=timezone.localdate() + timedelta(days=1))
    assert exc.value.field == "changes_since"


def test_filter_ids_are_resolved_inside_the_organisation(world):
    with scopes_disabled():
        b_program = ProgramFactory(organization=world.org_b,
                                   portfolio__organization=world.org_b)
    with pytest.raises(ApplicationError) as exc:
        _request(world, filters={"program": b_program.pk})
    assert exc.value.field == "program"
    with pytest.raises(ApplicationError):
        _request(world, filters={"owner": world.b_executive.user.pk})
    pack = _request(world, filters={"program": world.initiative.program_id, "bogus": 1})
    assert pack.filters == {"program": world.initiative.program_id}


def test_build_makes_snapshot_then_pdf_with_the_headline_numbers(
        portfolio, django_capture_on_commit_callbacks):
    world = portfolio
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        pack = _request(world)
    assert len(callbacks) == 1  # the task is enqueued after the commit
    assert boardpack.board_pack_build(board_pack_id=pack.pk) == "ready"
    with scopes_disabled():
        pack.refresh_from_db()
    assert pack.status == JobStatus.READY and pack.progress == 100
    assert pack.started_at and pack.finished_at and not pack.error
    snap = pack.snapshot
    assert pack.snapshot_sha256 == boardpack.snapshot_sha256(snap)
    assert len(pack.snapshot_sha256) == 64
    head = snap["headline"]
    assert head["planned"] == "30000.00" and head["forecast"] == "22501.50"
    assert head["initiatives"] == 1
    decided = next(s for s in snap["value_by_stage"] if s["stage"] == "decided")
    assert decided["count"] == 1 and decided["planned"] == "30000.00"
    assert snap["top_variances"][0]["code"] == "AC-100"
    assert snap["top_variances"][0]["variance"] == "-7498.50"
    assert sum(map(sum, snap["matrix"]["counts"])) == 1
    assert snap["escalations"][0]["explanation"].startswith("Forecast 22,501.50")
    assert snap["escalations"][0]["level_label"] == "Sponsor"
    assert ORG_B_MARKER not in str(snap) and "99999" not in str(snap)

    with pack.file.open("rb") as handle:
        content = handle.read()
    assert content.startswith(b"%PDF") and pack.size == len(content)
    text = pdf_text(content)
    assert "Q3 steering" in text
    assert "EUR 30,000.00" in text and "EUR 22,501.50" in text
    assert "AC-100 Acme freight tender" in text
    assert "Money off plan" in text
    assert re.fullmatch(r"\d+ pages", pack.step)  # beside the status, not "Ready" again


def test_same_snapshot_renders_the_same_pdf(portfolio):
    pack = _request(portfolio)
    boardpack.board_pack_build(board_pack_id=pack.pk)
    with scopes_disabled():
        pack.refresh_from_db()
        with pack.file.open("rb") as handle:
            stored = handle.read()
    again = boardpack.board_pack_rerender(pack=pack)
    assert again.content == stored
    assert pdf_text(again.content) == pdf_text(stored)
    assert again.pages >= 4  # cover, figures, escalations, appendix
    # A tampered snapshot is refused rather than rendered as if it were the record.
    pack.snapshot["headline"]["planned"] = "1.00"
    with pytest.raises(ApplicationError):
        boardpack.board_pack_rerender(pack=pack)


def test_changes_since_appear_in_the_appendix(portfolio):
    from governance import services

    services.initiative_hold(membership=portfolio.a[Role.ADMIN].membership,
                             initiative_id=portfolio.initiative.pk, reason="Budget freeze")
    pack = _request(portfolio, changes_since=timezone.localdate())
    boardpack.board_pack_build(board_pack_id=pack.pk)
    with scopes_disabled():
        pack.refresh_from_db()
    assert pack.snapshot["sources"]["changes"] == "reporting.history.changes_since"
    stage_moves = [c for c in pack.snapshot["changes"] if c["kind"] == "stage"]
    assert [c["subject"] for c in stage_moves] == ["AC-100 Acme freight tender"]
    assert stage_moves[0]["detail"].startswith("Decided")
    assert "On hold by " in stage_moves[0]["detail"]
    text = pdf_text(boardpack.render_pdf(pack.snapshot).content)
    appendix = text.split("Appendix: changes since", 1)[1]
    assert "On hold by " in appendix  # the move itself, not only the heading


def test_progress_is_committed_step_by_step(portfolio, monkeypatch):
    seen = []
    real = boardpack._progress

    def spy(pack_id, progress, step, **fields):
        real(pack_id, progress, step, **fields)
        with scopes_disabled():
            row = BoardPack.objects.get(pk=pack_id)
        seen.append((row.status, row.progress))

    monkeypatch.setattr(boardpack, "_progress", spy)
    pack = _request(portfolio)
    boardpack.board_pack_build(board_pack_id=pack.pk)
    progresses = [p for _s, p in seen]
    assert len(progresses) >= 3, seen  # collecting, drawing, storing: each committed
    assert progresses == sorted(progresses) and all(s == "running" for s, _p in seen)
    with scopes_disabled():
        assert BoardPack.objects.get(pk=pack.pk).progress == 100


def test_a_failed_build_records_the_error_and_the_page_shows_it(portfolio, monkeypatch):
    def broken(snapshot):
        raise RuntimeError("the PDF engine ran out of ink")

    monkeypatch.setattr(boardpack, "render_pdf", broken)
    pack = _request(portfolio)
    assert boardpack.board_pack_build(board_pack_id=pack.pk) == "failed"
    with scopes_disabled():
        pack.refresh_from_db()
    assert pack.status == JobStatus.FAILED and "ran out of ink" in pack.error
    assert pack.finished_at and not pack.file
    # A second run leaves a finished pack alone.
    assert boardpack.board_pack_build(board_pack_id=pack.pk) == "done"
    client = client_for(portfolio.a[Role.EXECUTIVE].user)
    page = client.get(reverse("board_pack_list", kwargs={"org_slug": "acme"}))
    assert page.status_code == 200 and "ran out of ink" in page.content.decode()
    download = client.get(reverse("board_pack_download",
                                  kwargs={"org_slug": "acme", "pack_id": pack.pk}))
    assert download.status_code == 404
    api = api_client_for(portfolio.a[Role.ADMIN].user)
    detail = api.get(reverse("api_board_pack_detail",
                             kwargs={"org_slug": "acme", "pack_id": pack.pk})).json()
    assert detail["status"] == "failed" and "ran out of ink" in detail["error"]


def test_pages_poll_while_building_and_stop_when_ready(portfolio):
    client = client_for(portfolio.a[Role.EXECUTIVE].user)
    url = reverse("board_pack_list", kwargs={"org_slug": "acme"})
    response = client.post(url, {"title": "Board pack", "changes_since": "2026-01-01"})
    assert response.status_code == 302
    with scopes_disabled():
        pack = BoardPack.objects.get(organization=portfolio.org_a)
    row_url = reverse("board_pack_row", kwargs={"org_slug": "acme", "pack_id": pack.pk})
    html = client.get(url).content.decode()
    assert 'hx-trigger="every 2s"' in html and row_url in html
    row = client.get(row_url, HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 2s"' in row and "<progress" in row
    boardpack.board_pack_build(board_pack_id=pack.pk)
    row = client.get(row_url, HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in row and "Download PDF" in row
    download = client.get(reverse("board_pack_download",
                                  kwargs={"org_slug": "acme", "pack_id": pack.pk}))
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert b"".join(download.streaming_content).startswith(b"%PDF")
    # Form errors stay on the field, with the input kept.
    bad = client.post(url, {"title": "Keep me", "changes_since": ""})
    assert bad.status_code == 400 and "Keep me" in bad.content.decode()


def test_api_request_list_detail_download(portfolio):
    api = api_client_for(portfolio.a[Role.ADMIN].user)
    list_url = reverse("api_board_pack_list", kwargs={"org_slug": "acme"})
    response = api.post(list_url, {"title": "API pack", "changes_since": "2026-01-01",
                                   "program": portfolio.initiative.program_id}, format="json")
    assert response.status_code == 202, response.content
    pack_id = response.json()["id"]
    assert response.json()["status"] == "queued"
    download_url = reverse("api_board_pack_download",
                           kwargs={"org_slug": "acme", "pack_id": pack_id})
    assert api.get(download_url).status_code == 404  # not ready yet
    boardpack.board_pack_build(board_pack_id=pack_id)
    listed = api.get(list_url).json()["results"]
    assert [p["id"] for p in listed] == [pack_id] and listed[0]["download_ready"]
    detail = api.get(reverse("api_board_pack_detail",
                             kwargs={"org_slug": "acme", "pack_id": pack_id})).json()
    assert detail["snapshot"]["headline"]["planned"] == "30000.00"
    assert detail["snapshot_sha256"] == boardpack.snapshot_sha256(detail["snapshot"])
    response = api.get(download_url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    # A filter id of another organisation is refused on its field, not ignored.
    with scopes_disabled():
        b_program = ProgramFactory(organization=portfolio.org_b,
                                   portfolio__organization=portfolio.org_b)
    refused = api.post(list_url, {"title": "Foreign", "changes_since": "2026-01-01",
                                  "program": b_program.pk}, format="json")
    assert refused.status_code == 400 and "program" in refused.json()
    with scopes_disabled():
        assert not BoardPack.objects.filter(title="Foreign").exists()
    # Another organisation's executive cannot reach it, even by id.
    b_api = api_client_for(portfolio.b_executive.user)
    assert b_api.get(reverse("api_board_pack_detail",
                             kwargs={"org_slug": "globex", "pack_id": pack_id})
                     ).status_code == 404


def test_the_snapshot_is_json_safe_with_decimals_as_strings(portfolio):
    import json

    with scope(organization=portfolio.org_a):
        from reporting import rollups

        rollups.rebuild(organization=portfolio.org_a)
        snap = boardpack.collect_snapshot(
            organization=portfolio.org_a, filters={}, changes_since=date(2026, 1, 1),
            title="T", membership=portfolio.a[Role.EXECUTIVE].membership)
    assert json.loads(json.dumps(snap)) == snap
    assert isinstance(snap["headline"]["planned"], str)
    assert snap["sources"]["figures"].startswith("reporting.selectors.dashboard")


@pytest.mark.slow
def test_a_real_worker_builds_the_pack(worker, transactional_db):
    from tests.conftest import world as _world_fixture  # noqa: F401 (documentation only)
    from tests.factories import MembershipFactory, OrganizationFactory, UserFactory
    from tests.workers import wait_for

    with scopes_disabled():
        org = OrganizationFactory(name="Worker Org", slug="worker-org")
        executive = MembershipFactory(organization=org, role=Role.EXECUTIVE,
                                      user=UserFactory(email="exec@worker.test"))
        InitiativeFactory(program=ProgramFactory(organization=org,
                                                 portfolio__organization=org),
                          owner=executive.user)
    pack = boardpack.board_pack_request(membership=executive, title="Worker pack",
                                        changes_since=date(2026, 1, 1))

    def ready():
        with scopes_disabled():
            pack.refresh_from_db()
        return pack.status in (JobStatus.READY, JobStatus.FAILED)

    wait_for(worker, ready, what="build the board pack")
    assert pack.status == JobStatus.READY, pack.error
    assert pack.progress == 100 and pack.size > 0 and len(pack.snapshot_sha256) == 64
    assert pack.snapshot["headline"]["initiatives"] == 1

"""Board packs: a PDF for the steering committee, built by a Celery job.

1. ``board_pack_request`` (an executive or admin) stores a queued ``BoardPack`` and
   enqueues ``reporting.build_board_pack`` after the commit.
2. ``board_pack_build`` (the task calls it) claims the row, then, committing each
   step so the page can poll it: ``collect_snapshot`` assembles every figure into a
   JSON-safe dict (Decimals as strings), which is stored with its SHA-256;
   ``render_pdf`` draws the PDF from that snapshot alone; the file is stored and the
   row marked ready. Any error marks it failed with the message; never a 500.
3. ``board_pack_rerender`` draws a stored pack's snapshot again: the same snapshot
   gives the same PDF (reportlab's ``invariant`` mode: no timestamps, a fixed id).

``collect_snapshot`` is the one place the figures come from: the dashboard's selector
(``reporting.selectors.dashboard``, over the rollups, which the build refreshes first)
and, for the appendix, ``reporting.history.changes_since``.
"""

import hashlib
import io
import json
import logging
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from xml.sax.saxutils import escape

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from cat4.common.exceptions import ApplicationError, PermissionDeniedError
from cat4.common.locks import try_org_job_lock
from cat4.common.tasks_util import enqueue_on_commit
from cat4.tenancy.models import Membership, Organization, User
from governance.models import Level
from initiatives import calculations as calc
from initiatives.filters import PLACE_FILTERS, PlaceFilterSet
from initiatives.models import BusinessUnit, Portfolio, Program

from . import history, selectors
from .models import BoardPack, JobStatus
from .permissions import can_use_board_packs
from .rollups import refresh_rollups_for

logger = logging.getLogger(__name__)

SNAPSHOT_VERSION = 1
MAX_CHANGES = 500
FILTER_KEYS = ("portfolio", "program", "business_unit", "owner", "fiscal_year")


# --- Request ---------------------------------------------------------------------------


def clean_filters(filters: dict, *, organization: Organization) -> dict:
    """Only known keys, as plain JSON numbers: the ids resolved inside the organisation by
    the filters every portfolio view shares (``initiatives.filters.PlaceFilterSet``: an
    id of another organisation is refused like a missing one), the fiscal year a whole
    number from 2000 to 2100 (a pack may be asked for a year without values yet)."""
    places = PlaceFilterSet({key: getattr(value, "pk", value) for key, value in filters.items()
                             if key in PLACE_FILTERS and value not in (None, "")},
                            organization=organization)
    if not places.is_valid():
        field, messages = next(iter(places.errors.items()))
        raise ApplicationError(messages[0], field=field)
    cleaned: dict = places.ids()
    year = filters.get("fiscal_year")
    if year not in (None, ""):
        try:
            year = int(year)
        except (TypeError, ValueError) as exc:
            raise ApplicationError("Give a whole number.", field="fiscal_year") from exc
        if not 2000 <= year <= 2100:
            raise ApplicationError("Give a fiscal year between 2000 and 2100.",
                                   field="fiscal_year")
        cleaned["fiscal_year"] = year
    return cleaned


def board_pack_request(*, membership: Membership, title: str, changes_since: date,
                       filters: dict | None = None) -> BoardPack:
    if not can_use_board_packs(membership=membership):
        raise PermissionDeniedError("Only executives and admins request board packs.")
    organization = membership.organization
    title = (title or "").strip()
    if not title:
        raise ApplicationError("Give the pack a title.", field="title")
    if changes_since > timezone.localdate():
        raise ApplicationError("The date must not be in the future.", field="changes_since")
    with scope(organization=organization), transaction.atomic():
        pack = BoardPack.objects.create(
            organization=organization, title=title[:200], requested_by=membership.user,
            changes_since=changes_since,
            filters=clean_filters(filters or {}, organization=organization),
            step="Waiting for a worker")
        from .tasks import build_board_pack  # cycle: reporting.boardpack <-> reporting.tasks

        enqueue_on_commit(build_board_pack, pack.pk)
    return pack


def board_pack_list(*, organization: Organization):
    return BoardPack.objects.filter(organization=organization).select_related("requested_by")


def board_pack_get(*, organization: Organization, pack_id) -> BoardPack | None:
    return board_pack_list(organization=organization).filter(pk=pack_id).first()


# --- Snapshot --------------------------------------------------------------------------


def money(value) -> str:
    """A Decimal amount as a string with two decimals (JSON-safe, exact)."""
    return str(Decimal(value or 0).quantize(Decimal("0.01")))


def _jsonable(value):
    if isinstance(value, Decimal):
        return money(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def canonical_json(snapshot: dict) -> bytes:
    return json.dumps(snapshot, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


def snapshot_sha256(snapshot: dict) -> str:
    return hashlib.sha256(canonical_json(snapshot)).hexdigest()


def _filter_labels(organization: Organization, filters: dict) -> list[list[str]]:
    labels = []
    lookups = [("portfolio", "Portfolio", Portfolio, "name"),
               ("program", "Program", Program, "name"),
               ("business_unit", "Business unit", BusinessUnit, "name")]
    for key, label, model, attr in lookups:
        if filters.get(key):
            row = model.objects.filter(organization=organization, pk=filters[key]).first()
            labels.append([label, getattr(row, attr) if row else "(removed)"])
    if filters.get("owner"):
        user = User.objects.filter(pk=filters["owner"],
                                   memberships__organization=organization).first()
        labels.append(["Owner", user.full_name if user else "(removed)"])
    if filters.get("fiscal_year"):
        labels.append(["Fiscal year", calc.fiscal_year_label(
            filters["fiscal_year"], start_month=organization.fiscal_year_start_month)])
    return labels


def _dashboard_figures(*, organization: Organization, membership: Membership | None,
                       filters: dict, today: date) -> dict:
    """The figures of the executive dashboard (``reporting.selectors.dashboard``, over
    the rollups), so the pack and the dashboard page never disagree; plus the open
    escalations with their sentences, selected as the dashboard selects them."""
    dashboard_filters = selectors.DashboardFilters(
        **{k: filters.get(k) for k in FILTER_KEYS})
    d = selectors.dashboard(organization=organization, membership=membership,
                            filters=dashboard_filters, today=today)
    headline = {
        "fiscal_year": d.fiscal_year, "fiscal_year_label": d.fiscal_label,
        "initiatives": d.initiatives, "planned": money(d.money.planned),
        "forecast": money(d.money.forecast), "actual": money(d.money.actual),
        "outturn": money(d.money.outturn), "run_rate": money(d.run_rate),
        "rollups_as_of": d.as_of,
    }
    value_by_stage = [
        {"stage": s.stage, "label": s.label, "count": s.count,
         "planned": money(s.money.planned), "outturn": money(s.money.outturn),
         "actual": money(s.money.actual)} for s in d.stages]
    matrix = {"rows": [row[0].schedule for row in d.matrix],
              "columns": [cell.financial for cell in d.matrix[0]],
              "counts": [[cell.count for cell in row] for row in d.matrix]}
    top = [{"code": f.initiative.code, "title": f.initiative.title, "stage": f.stage,
            "planned": money(f.fy_planned), "outturn": money(f.fy_outturn),
            "variance": money(f.fy_variance),
            "variance_pct": (str((f.fy_variance / f.fy_planned * 100).quantize(Decimal("0.1")))
                             if f.fy_planned else "")}
           for f in d.variances]
    escalations = selectors.open_escalations(organization=organization,
                                             filters=dashboard_filters)
    open_escalations = [
        {"level": e.level, "level_label": Level(e.level).label, "rule": e.rule.name,
         "subject": e.subject_label, "state": e.state, "raised_at": e.raised_at.date(),
         "explanation": e.explanation}
        for e in escalations.select_related("rule").order_by("-level", "raised_at", "id")]
    exceptions = {
        "shortfall_count": d.shortfall_count, "shortfall_total": money(d.shortfall_total),
        "stale_count": d.stale_count, "approvals_waiting": d.approvals_waiting,
        "kpi_total": d.kpi_total, "kpi_stale": d.kpi_stale,
        "kpi_counts": {k: d.kpi_counts.get(k, 0) for k in selectors.COLOURS},
    }
    return {"headline": headline, "value_by_stage": value_by_stage, "matrix": matrix,
            "top_variances": top, "escalations": open_escalations, "exceptions": exceptions}


def _changes(*, organization: Organization, since: date, filters: dict,
             today: date) -> list[dict]:
    """What changed since the date (``reporting.history.changes_since``, from the audit
    history: stage moves, value and RAG changes, escalations), oldest first."""
    report = history.changes_since(organization=organization, since=since,
                                   filters={k: filters.get(k) for k in FILTER_KEYS},
                                   today=today)
    return [{"at": e.at, "kind": e.kind, "subject": e.subject, "detail": e.detail}
            for e in report.entries()][:MAX_CHANGES]


def collect_snapshot(*, organization: Organization, filters: dict, changes_since: date,
                     title: str, membership: Membership | None = None,
                     requested_by: str = "", now: datetime | None = None) -> dict:
    """Every figure of the pack as a JSON-safe dict (Decimals as strings). The one
    place the figures come from."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    figures = _dashboard_figures(organization=organization, membership=membership,
                                 filters=filters, today=today)
    changes = _changes(organization=organization, since=changes_since, filters=filters,
                       today=today)
    snapshot = {
        "version": SNAPSHOT_VERSION,
        "organization": {"name": organization.name, "slug": organization.slug,
                         "currency": organization.base_currency},
        "title": title,
        "requested_by": requested_by,
        "generated_at": now,
        "as_of": today,
        "changes_since": changes_since,
        "filters": _filter_labels(organization, filters),
        **figures,
        "changes": changes,
        "sources": {"figures": "reporting.selectors.dashboard (rollups)",
                    "changes": "reporting.history.changes_since"},
    }
    return _jsonable(snapshot)


# --- PDF -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderedPack:
    content: bytes
    pages: int


def amount_text(value: str, currency: str = "") -> str:
    """``"1234567.5"`` -> ``"1,234,567.50"`` (with the currency in front if given)."""
    text = f"{Decimal(value):,.2f}"
    return f"{currency} {text}" if currency else text


def _p(text, style):
    return Paragraph(escape(str(text)), style)


def render_pdf(snapshot: dict) -> RenderedPack:
    """The PDF of a snapshot, from the snapshot alone: no database access. Invariant
    mode makes the bytes a function of the snapshot."""
    styles = getSampleStyleSheet()
    body, small = styles["BodyText"], styles["BodyText"].clone("small", fontSize=8, leading=10)
    h1, h2 = styles["Title"], styles["Heading2"]
    currency = snapshot["organization"]["currency"]
    org_name = snapshot["organization"]["name"]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, invariant=1, title=snapshot["title"],
                            author="cat4", subject=f"Board pack of {org_name}",
                            leftMargin=18 * mm, rightMargin=18 * mm,
                            topMargin=18 * mm, bottomMargin=18 * mm)
    grid = TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#c8ccd4")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#1f2a44")),
        ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
        ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
        ("FONTSIZE", (0, 0), (-1, -1), 8.5),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ])

    def table(rows, widths=None, numeric_from=None):
        t = Table(rows, colWidths=widths, repeatRows=1)
        t.setStyle(grid)
        if numeric_from is not None:
            t.setStyle(TableStyle([("ALIGN", (numeric_from, 0), (-1, -1), "RIGHT")]))
        return t

    def footer(canvas, document):
        canvas.saveState()
        canvas.setFont("Helvetica", 7.5)
        canvas.setFillColor(colors.HexColor("#5b6270"))
        canvas.drawString(18 * mm, 10 * mm, f"{org_name} · {snapshot['title']}")
        canvas.drawRightString(A4[0] - 18 * mm, 10 * mm, f"Page {document.page}")
        canvas.restoreState()

    story = [Spacer(1, 40 * mm), _p(org_name, styles["Heading3"]), _p(snapshot["title"], h1),
             _p(f"Board pack as of {snapshot['as_of']}", body),
             _p(f"Changes since {snapshot['changes_since']}", body)]
    if snapshot.get("requested_by"):
        story.append(_p(f"Requested by {snapshot['requested_by']}", body))
    filters = snapshot.get("filters") or []
    story.append(Spacer(1, 8 * mm))
    story.append(_p("Filters: " + ("; ".join(f"{k}: {v}" for k, v in filters)
                                   if filters else "the whole organisation"), body))
    story.append(_p(f"All amounts in {currency}. Snapshot made at {snapshot['generated_at']}.",
                    small))
    story.append(PageBreak())

    head = snapshot["headline"]
    story += [_p(f"Headline figures, {head['fiscal_year_label']}", h2), table([
        ["Figure", "Value"],
        ["Initiatives", str(head["initiatives"])],
        ["Planned", amount_text(head["planned"], currency)],
        ["Forecast", amount_text(head["forecast"], currency)],
        ["Actual", amount_text(head["actual"], currency)],
        ["Outturn (actual, else forecast)", amount_text(head["outturn"], currency)],
        ["Run-rate", amount_text(head["run_rate"], currency)],
    ], widths=[70 * mm, 60 * mm], numeric_from=1), Spacer(1, 6 * mm)]

    story += [_p("Value by stage", h2), table(
        [["Stage", "Initiatives", "Planned", "Outturn", "Actual"]]
        + [[s["label"], str(s["count"]), amount_text(s["planned"]), amount_text(s["outturn"]),
            amount_text(s["actual"])] for s in snapshot["value_by_stage"]],
        numeric_from=1), Spacer(1, 6 * mm)]

    matrix = snapshot["matrix"]
    story += [_p("Dual status: delivery (rows) against money (columns)", h2), table(
        [["Delivery \\ Money", *[c.title() for c in matrix["columns"]]]]
        + [[r.title(), *[str(n) for n in counts]]
           for r, counts in zip(matrix["rows"], matrix["counts"], strict=True)],
        numeric_from=1),
        _p("Green on delivery and red on money is the cell to watch: "
           f"{matrix['counts'][0][2] if len(matrix['counts']) > 0 else 0} initiative(s).",
           small), Spacer(1, 6 * mm)]

    variances = snapshot["top_variances"]
    story.append(_p("Top variances (outturn against plan)", h2))
    if variances:
        story.append(table(
            [["Initiative", "Planned", "Outturn", "Variance", "%"]]
            + [[_p(f"{v['code']} {v['title']}", small), amount_text(v["planned"]),
                amount_text(v["outturn"]), amount_text(v["variance"]), v["variance_pct"]]
               for v in variances], widths=[70 * mm, 28 * mm, 28 * mm, 28 * mm, 16 * mm],
            numeric_from=1))
    else:
        story.append(_p("No initiative is behind its plan.", body))

    story += [PageBreak(), _p("Open escalations", h2)]
    escalations = snapshot["escalations"]
    if escalations:
        by_level: dict[str, int] = {}
        for e in escalations:
            by_level[e["level_label"]] = by_level.get(e["level_label"], 0) + 1
        story.append(_p("; ".join(f"{k}: {n}" for k, n in by_level.items()), body))
        story.append(table(
            [["Level", "Subject", "Rule", "Why"]]
            + [[e["level_label"], _p(e["subject"], small), _p(e["rule"], small),
                _p(e["explanation"], small)] for e in escalations],
            widths=[22 * mm, 45 * mm, 35 * mm, 72 * mm]))
    else:
        story.append(_p("No open escalations.", body))

    story += [PageBreak(), _p(f"Appendix: changes since {snapshot['changes_since']}", h2)]
    changes = snapshot["changes"]
    if changes:
        story.append(table(
            [["When", "Subject", "Change"]]
            + [[(c["at"] or "")[:10] or "–", _p(c["subject"], small), _p(c["detail"], small)]
               for c in changes], widths=[24 * mm, 70 * mm, 80 * mm]))
    else:
        story.append(_p("Nothing changed since that date.", body))

    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return RenderedPack(buffer.getvalue(), doc.page)


# --- Build -----------------------------------------------------------------------------


def _progress(pack_id: int, progress: int, step: str, **fields) -> None:
    """One committed UPDATE, so a page polling the row sees it at once."""
    with transaction.atomic():
        BoardPack.objects.filter(pk=pack_id).update(progress=progress, step=step, **fields)


def board_pack_build(*, board_pack_id: int) -> str:
    """Build one pack (the task's body). Safe to run twice: a pack that is ready or
    failed is left alone, and two runs at once are kept apart by an advisory lock."""
    with scopes_disabled():
        pack = BoardPack.objects.select_related("organization", "requested_by").filter(
            pk=board_pack_id).first()
    if pack is None:
        return "missing"
    organization = pack.organization
    with try_org_job_lock(f"reporting.build_board_pack:{pack.pk}", organization.pk) as got:
        if not got:
            return "locked"
        # The organisation's time zone, as its pages: "today" and the dates in the pack.
        with scope(organization=organization), timezone.override(organization.zone):
            claimed = BoardPack.objects.filter(
                pk=pack.pk, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).update(
                status=JobStatus.RUNNING, started_at=timezone.now(), progress=5,
                step="Refreshing the rollups", error="")
            if not claimed:
                return "done"
            try:
                _build(pack)
            except Exception as exc:  # the page shows the error; the log has the trace
                logger.exception("board pack %s failed", pack.pk)
                message = exc.message if isinstance(exc, ApplicationError) else (
                    f"{type(exc).__name__}: {exc}")
                _progress(pack.pk, 100, "Failed", status=JobStatus.FAILED,
                          error=message[:2000], finished_at=timezone.now())
                return "failed"
    return "ready"


def _build(pack: BoardPack) -> None:
    organization = pack.organization
    # The dashboard's figures come from the rollups: bring them up to date first (a
    # rebuild already running elsewhere holds the lock, and this one skips).
    refresh_rollups_for(organization.pk)
    _progress(pack.pk, 20, "Collecting the figures")
    membership = Membership.objects.filter(organization=organization,
                                           user=pack.requested_by).first()
    snapshot = collect_snapshot(
        organization=organization, filters=pack.filters or {},
        changes_since=pack.changes_since, title=pack.title, membership=membership,
        requested_by=pack.requested_by.full_name)
    digest = snapshot_sha256(snapshot)
    _progress(pack.pk, 50, "Drawing the PDF", snapshot=snapshot, snapshot_sha256=digest)
    rendered = render_pdf(snapshot)
    _progress(pack.pk, 85, "Storing the file")
    pack.refresh_from_db()
    if pack.file:
        pack.file.delete(save=False)
    pack.file.save("board-pack.pdf", ContentFile(rendered.content), save=False)
    with transaction.atomic():
        BoardPack.objects.filter(pk=pack.pk).update(
            file=pack.file.name, size=len(rendered.content), status=JobStatus.READY,
            progress=100, step=f"{rendered.pages} pages", finished_at=timezone.now())


def board_pack_rerender(*, pack: BoardPack) -> RenderedPack:
    """Draw a stored pack again from its snapshot, after checking the snapshot is the
    one recorded (its SHA-256)."""
    if not pack.snapshot:
        raise ApplicationError("This pack has no snapshot yet.")
    if snapshot_sha256(pack.snapshot) != pack.snapshot_sha256:
        raise ApplicationError("The stored snapshot does not match its checksum.")
    return render_pdf(pack.snapshot)


def download_name(pack: BoardPack) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in pack.title.lower())
    safe = "-".join(part for part in safe.split("-") if part)[:60] or "board-pack"
    return f"{safe}-{pack.requested_at:%Y-%m-%d}.pdf"

"""``changes_since``: stage moves, value and RAG changes, and escalations raised or
resolved since the start of a day (the package docstring says what each one compares)."""

from datetime import date

from django.db.models.functions import TruncDate

from cat4.tenancy.models import Organization
from governance.models import Escalation, EscalationState, StageEvent
from initiatives.models import Initiative

from .query import clean_filters, local_today, moment_at
from .report import ChangeReport, EscalationChange, InitiativeRef, StageMove
from .value_and_rag import value_and_rag_changes


def _selected_initiatives(organization: Organization, filters: dict[str, int]):
    qs = Initiative.objects.filter(organization=organization)
    if "portfolio" in filters:
        qs = qs.filter(program__portfolio_id=filters["portfolio"])
    for key in ("program", "business_unit", "owner"):
        if key in filters:
            qs = qs.filter(**{f"{key}_id": filters[key]})
    return qs


def changes_since(*, organization: Organization, since: date, filters=None,
                  today: date | None = None) -> ChangeReport:
    """Stage moves, value and RAG changes, and escalations raised or resolved since the
    start of ``since`` (see the package docstring for what each one compares)."""
    filters = clean_filters(filters)
    today = today or local_today(organization)
    moment = moment_at(organization, since)
    report = ChangeReport(since=since, moment=moment, currency=organization.base_currency)
    selected = _selected_initiatives(organization, filters)
    refs, current = {}, {}
    for pk, code, title, stage, created, cadence in (
            selected.annotate(created_day=TruncDate("created_at")).values_list(
                "pk", "code", "title", "stage", "created_day", "update_cadence_days")):
        refs[pk] = InitiativeRef(pk, code, title)
        current[pk] = (stage, created, cadence)

    # Stage moves: the explicit, immutable StageEvent rows.
    moves = (StageEvent.objects.filter(organization=organization, at__gte=moment)
             .select_related("actor").order_by("at", "id"))
    if filters:
        moves = moves.filter(initiative_id__in=selected.values("pk"))
    report.stage_moves = [
        StageMove(e.at, refs[e.initiative_id], e.from_stage, e.to_stage,
                  e.actor.full_name or e.actor.email, e.reason)
        for e in moves if e.initiative_id in refs]

    # Values and RAG.
    value_and_rag_changes(report, organization=organization, refs=refs, current=current,
                          today=today, filtered=bool(filters))

    # Escalations: the explicit rows carry when they were raised and resolved.
    escalations = Escalation.objects.filter(organization=organization).select_related("rule")
    if filters:
        escalations = escalations.filter(initiative_id__in=selected.values("pk"))
    for e in escalations.filter(raised_at__gte=moment).order_by("raised_at", "id"):
        report.escalations_raised.append(EscalationChange(
            e.raised_at, e.pk, e.initiative_id, e.subject_label, e.rule.name, e.level,
            e.explanation))
    for e in (escalations.filter(state=EscalationState.RESOLVED, resolved_at__gte=moment)
              .order_by("resolved_at", "id")):
        report.escalations_resolved.append(EscalationChange(
            e.resolved_at, e.pk, e.initiative_id, e.subject_label, e.rule.name, e.level,
            e.explanation))
    return report


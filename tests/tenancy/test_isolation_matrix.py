"""The tenant isolation matrix (DESIGN.md §7).

Every organisation-scoped page and API operation is listed here with the roles
allowed to use it, and is tried by:
- a stranger (member of another organisation only) -> 404, with nothing of
  org A in the answer;
- every role of org A not allowed -> 403;
- every role allowed -> success;
- an anonymous visitor -> login redirect (pages) or 401 (API).
The meta-tests fail when a URL pattern or OpenAPI operation is not listed, so
every new endpoint is checked by default.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.contrib.messages import constants as message_levels
from django.contrib.messages import get_messages
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms import BaseForm
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django_scopes import scopes_disabled
from drf_spectacular.generators import SchemaGenerator

from cat4.tenancy.models import Role
from governance import services as hold_services
from governance.models import Approval, Evidence, GateCriterion, GateSubmission, Rebaseline
from initiatives.models import BusinessUnit, Dependency, Initiative, MonthlyValue, Risk
from kpis.models import Kpi, KpiLink
from tests.conftest import ORG_A_MARKER, World, api_client_for, client_for
from tests.factories import (
    EscalationFactory,
    EscalationRuleFactory,
    ImpactLineFactory,
    InitiativeFactory,
    InvitationFactory,
    MembershipFactory,
    MilestoneFactory,
    UserFactory,
)

ALL = frozenset(Role.values)
ADMIN = frozenset({Role.ADMIN})


def _fresh_member(world: World) -> dict:
    with scopes_disabled():
        m = MembershipFactory(organization=world.org_a, role=Role.VIEWER,
                              user=UserFactory(email="target@acme.test"))
    return {"member_id": m.pk}


def _fresh_invitation(world: World) -> dict:
    with scopes_disabled():
        inv = InvitationFactory(organization=world.org_a, email="pending@acme.test")
    return {"invitation_id": inv.pk}


def _viewer_member(world: World) -> dict:
    return {"member_id": world.a[Role.VIEWER].membership.pk}


SETTINGS_FORM = {"name": ORG_A_MARKER, "base_currency": "EUR", "fiscal_year_start_month": "4",
                 "time_zone": "Europe/Berlin"}


def _initiative(world: World) -> dict:
    return {"initiative_id": world.initiative.pk}


def _milestone(world: World) -> dict:
    with scopes_disabled():
        m = MilestoneFactory(initiative=world.initiative)
    return {"milestone_id": m.pk}


def _pending_sponsor_approval(world: World) -> dict:
    with scopes_disabled():
        submission = GateSubmission.objects.create(
            organization=world.org_a, initiative=world.initiative, gate="detailed",
            from_stage="identified", submitted_by=world.a[Role.OWNER].user)
        approval = Approval.objects.create(organization=world.org_a, submission=submission,
                                           role="sponsor", approver=world.a[Role.EXECUTIVE].user)
    return {"approval_id": approval.pk}


def _new_initiative_form(world: World) -> dict:
    with scopes_disabled():
        program = world.initiative.program_id
    return {"code": "AC-200", "title": "Warehouse consolidation", "program": program,
            "owner": world.a[Role.OWNER].user.pk, "start_date": "2026-01-01",
            "target_date": "2027-06-30"}


def _line(world: World) -> dict:
    with scopes_disabled():
        line = ImpactLineFactory(initiative=world.initiative)
    return {"line_id": line.pk}


def _ready_for_detailed(world: World) -> dict:
    with scopes_disabled():
        line = ImpactLineFactory(initiative=world.initiative)
        MonthlyValue.objects.create(organization=world.org_a, line=line,
                                    month=world.initiative.start_date, kind="planned",
                                    amount="1000.00")
    return _initiative(world)


def _on_hold(world: World) -> dict:
    hold_services.initiative_hold(membership=world.a[Role.ADMIN].membership,
                                  initiative_id=world.initiative.pk, reason="Budget freeze")
    return _initiative(world)


def _implemented(world: World) -> dict:
    with scopes_disabled():
        # Test set-up only: the stage moves through services everywhere else.
        Initiative.objects.filter(pk=world.initiative.pk).update(stage="implemented")
    return _initiative(world)


def _new_initiative_json(world: World) -> dict:
    return {**_new_initiative_form(world), "program": world.initiative.program_id}


def _criterion(world: World) -> dict:
    with scopes_disabled():
        return {"criterion_id": GateCriterion.objects.filter(organization=world.org_a).first().pk}


def _business_unit(world: World) -> dict:
    with scopes_disabled():
        unit = BusinessUnit.objects.create(organization=world.org_a, name="Shared services")
    return {"kind": "business_unit", "item_id": unit.pk}


def _dependency(world: World) -> dict:
    with scopes_disabled():
        other = InitiativeFactory(program=world.initiative.program, code="AC-300",
                                  owner=world.a[Role.OWNER].user)
        dep = Dependency.objects.create(organization=world.org_a, initiative=world.initiative,
                                        depends_on=other, need_by=world.initiative.start_date)
    return {"dependency_id": dep.pk}


def _risk(world: World) -> dict:
    with scopes_disabled():
        risk = Risk.objects.create(organization=world.org_a, initiative=world.initiative,
                                   description="Supplier insolvency", probability=2, impact=4,
                                   owner=world.a[Role.OWNER].user)
    return {"risk_id": risk.pk}


def _other_initiative_json(world: World) -> dict:
    with scopes_disabled():
        other = InitiativeFactory(program=world.initiative.program, code="AC-301",
                                  owner=world.a[Role.OWNER].user)
    return {"depends_on": other.pk, "need_by": "2026-09-30"}


def _pdf(world: World) -> dict:
    return {"file": SimpleUploadedFile("case.pdf", b"%PDF-1.7 business case",
                                       content_type="application/pdf")}


def _evidence(world: World) -> dict:
    with scopes_disabled():
        evidence = Evidence(organization=world.org_a, initiative=world.initiative,
                            file_name="case.pdf", content_type="application/pdf", size=10,
                            uploaded_by=world.a[Role.OWNER].user)
        evidence.file.save("case.pdf", ContentFile(b"%PDF-1.7 x"), save=True)
    return {"evidence_id": evidence.pk}


def _rebaseline(world: World) -> dict:
    with scopes_disabled():
        line = ImpactLineFactory(initiative=world.initiative)
        rebaseline = Rebaseline.objects.create(
            organization=world.org_a, initiative=world.initiative, reason="Volumes fell",
            values={str(line.pk): {"2026-01": "10.00"}}, requested_by=world.a[Role.OWNER].user)
    return {"rebaseline_id": rebaseline.pk}


def _every_kind_by_digest(world: World) -> dict:
    from governance.models import NotificationKind

    return dict.fromkeys(NotificationKind.values, "digest")


def _kpi(world: World) -> dict:
    with scopes_disabled():
        kpi = Kpi.objects.create(organization=world.org_a, name="On-time delivery", unit="%",
                                 direction="higher", baseline="80",
                                 baseline_date=world.initiative.start_date, target="90",
                                 target_date=world.initiative.target_date,
                                 owner=world.a[Role.OWNER].user)
    return {"kpi_id": kpi.pk}


def _csv(world: World) -> dict:
    return {"file": SimpleUploadedFile("readings.csv", b"period,value\n2026-01-01,81\n")}


def _kpi_link(world: World) -> dict:
    kpi_id = _kpi(world)["kpi_id"]
    with scopes_disabled():
        link = KpiLink.objects.create(organization=world.org_a, kpi_id=kpi_id,
                                      initiative=world.initiative, weight="1")
    return {"link_id": link.pk}


KPI_PLAN_FORM = {"p-2026-03-01": "84", "p-2026-04-01": ""}
KPI_PLAN_JSON = {"points": [{"period": "2026-03-01", "value": "84"},
                            {"period": "2026-04-01", "value": None}]}


KPI_FORM = {"name": "Cost to serve", "unit": "EUR", "direction": "lower",
            "frequency": "monthly", "baseline": "12.5", "baseline_date": "2026-01-01",
            "target": "10", "target_date": "2027-12-31"}
KPI_RECORDERS = frozenset({Role.ADMIN, Role.OWNER})  # admins and the KPI's owner

def _decided_with_plan(world: World) -> dict:
    with scopes_disabled():
        line = ImpactLineFactory(initiative=world.initiative)
        MonthlyValue.objects.create(organization=world.org_a, line=line,
                                    month=world.initiative.start_date, kind="planned",
                                    amount="1000.00")
        # Test set-up only: the stage moves through services everywhere else.
        Initiative.objects.filter(pk=world.initiative.pk).update(stage="decided")
    return _initiative(world)


def _rebaseline_body(world: World) -> dict:
    with scopes_disabled():
        line = world.initiative.impact_lines.get()
    return {"reason": "Volumes fell", "values": {str(line.pk): {"2026-01": "800.00"}}}


DECISION = {"date": "2026-11-20", "forum": "Steering committee", "decision": "Go ahead"}

EDITORS = frozenset({Role.ADMIN, Role.OWNER})  # admins and the initiative's owner
STEERERS = frozenset({Role.ADMIN, Role.EXECUTIVE})  # admins and the initiative's sponsor
NOT_VIEWER = ALL - {Role.VIEWER}
# Act on an escalation of the world's initiative: admins, executives, its owner and sponsor.
ESCALATION_ACTORS = frozenset({Role.ADMIN, Role.EXECUTIVE, Role.OWNER})


def _escalation_rule(world: World) -> dict:
    with scopes_disabled():
        rule = EscalationRuleFactory(organization=world.org_a, name="Stale initiatives")
    return {"rule_id": rule.pk}


def _escalation(world: World) -> dict:
    with scopes_disabled():
        escalation = EscalationFactory(rule__organization=world.org_a,
                                       rule__name="Stale initiatives",
                                       initiative=world.initiative)
    return {"escalation_id": escalation.pk}


def _board_pack(world: World) -> dict:
    from reporting.models import BoardPack

    with scopes_disabled():
        pack = BoardPack(organization=world.org_a, title=f"{ORG_A_MARKER} pack",
                         requested_by=world.a[Role.EXECUTIVE].user,
                         changes_since=world.initiative.start_date, status="ready",
                         progress=100)
        pack.file.save("pack.pdf", ContentFile(b"%PDF-1.4 pack"), save=True)
    return {"pack_id": pack.pk}


BOARD_PACK_REQUEST = {"title": "Steering committee", "changes_since": "2026-01-01"}


RULE_FORM = {"name": "Overdue milestones", "condition": "milestone_overdue", "threshold": "14",
             "promote_after_days": "5", "top_level": "3", "active": "on"}
RULE_JSON = {"name": "Overdue milestones", "condition": "milestone_overdue", "threshold": "14"}


def _import_upload(world: World) -> dict:
    from tests.reporting.import_workbooks import clean_file, upload

    return {"file": upload(clean_file())}


def _import_job(world: World) -> dict:
    """A checked Excel import of org A with one valid and one rejected row."""
    from reporting import imports
    from tests.reporting.import_workbooks import initiative, upload, workbook

    job = imports.import_upload(
        membership=world.a[Role.ADMIN].membership,
        upload=upload(workbook([initiative(), initiative(code="AC-202", program="Foo")])))
    return {"import_id": job.pk}


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    allowed: frozenset
    kwargs: Callable[[World], dict] = field(default=lambda world: {})
    data: dict | Callable[[World], dict] | None = None
    headers: Callable[[World], dict] = field(default=lambda world: {})
    fmt: str = "json"  # API request body format

    def __str__(self):
        return f"{self.method} {self.name}"


PAGE_CASES = [
    Case("org_home", "GET", ALL),
    Case("member_list", "GET", ALL),
    Case("member_invite", "POST", ADMIN, data={"email": "new@acme.test", "role": "viewer"}),
    Case("member_role", "POST", ADMIN, _viewer_member, data={"role": "owner"}),
    Case("member_remove", "POST", ADMIN, _fresh_member),
    Case("invitation_revoke", "POST", ADMIN, _fresh_invitation),
    Case("org_settings", "GET", ADMIN),
    Case("org_settings", "POST", ADMIN, data=SETTINGS_FORM),
    Case("initiative_list", "GET", ALL),
    Case("initiative_create", "GET", EDITORS),
    Case("initiative_create", "POST", EDITORS, data=_new_initiative_form),
    Case("initiative_detail", "GET", ALL, _initiative),
    Case("initiative_edit", "GET", EDITORS, _initiative),
    Case("milestone_add", "GET", EDITORS, _initiative),
    Case("milestone_edit", "GET", EDITORS, _milestone),
    Case("milestone_delete", "POST", EDITORS, _milestone, data={"version": "1"}),
    Case("impact_line_add", "GET", EDITORS, _initiative),
    Case("values_edit", "GET", EDITORS,
         lambda world: {**_initiative(world), "kind": "planned"}),
    Case("status_update_add", "GET", EDITORS, _initiative),
    Case("gate_submit", "POST", EDITORS, _ready_for_detailed),
    Case("initiative_hold", "POST", STEERERS, _initiative, data={"reason": "Budget freeze"}),
    Case("initiative_resume", "POST", STEERERS, _on_hold),
    Case("initiative_cancel", "POST", STEERERS, _initiative, data={"reason": "Merged"}),
    Case("value_validate", "POST", frozenset({Role.CONTROLLER}), _implemented),
    Case("approval_decide", "POST", frozenset({Role.EXECUTIVE}), _pending_sponsor_approval,
         data={"decision": "approved"}),
    Case("my_reviews", "GET", NOT_VIEWER),
    Case("inbox", "GET", ALL),
    Case("inbox_mark_read", "POST", ALL),
    Case("notification_preferences", "GET", ALL),
    Case("notification_preferences", "POST", ALL, data=_every_kind_by_digest),
    Case("decision_log", "GET", ALL),
    Case("dependency_add", "GET", EDITORS, _initiative),
    Case("dependency_remove", "POST", EDITORS, _dependency),
    Case("risk_add", "GET", EDITORS, _initiative),
    Case("risk_edit", "GET", EDITORS, _risk),
    Case("decision_log", "POST", STEERERS, data=DECISION),
    Case("evidence_upload", "POST", ALL - {Role.VIEWER}, _initiative, data=_pdf),
    Case("evidence_download", "GET", ALL, _evidence),
    Case("evidence_delete", "POST", EDITORS, _evidence),
    Case("rebaseline_request", "GET", EDITORS, _initiative),
    Case("rebaseline_decide", "POST", frozenset({Role.CONTROLLER}), _rebaseline,
         data={"decision": "approved"}),
    Case("kpi_list", "GET", ALL),
    Case("kpi_create", "GET", STEERERS),
    Case("kpi_create", "POST", STEERERS,
         data=lambda world: {**KPI_FORM, "owner": world.a[Role.OWNER].user.pk}),
    Case("kpi_detail", "GET", ALL, _kpi),
    Case("reading_add", "POST", KPI_RECORDERS, _kpi,
         data={"period": "2026-02-01", "value": "81.5"}),
    Case("readings_upload", "POST", KPI_RECORDERS, _kpi, data=_csv),
    Case("kpi_edit", "GET", STEERERS, _kpi),
    Case("kpi_edit", "POST", STEERERS, _kpi,
         data=lambda world: {**KPI_FORM, "owner": world.a[Role.OWNER].user.pk,
                             "green_at": "0.95", "red_below": "0.85", "version": "1"}),
    Case("kpi_plan", "GET", ALL, _kpi),
    Case("kpi_plan", "POST", STEERERS, _kpi, data={**KPI_PLAN_FORM, "version": "1"}),
    Case("kpi_link_add", "POST", STEERERS, _kpi,
         data=lambda world: {"link-initiative": world.initiative.pk, "link-weight": "2"}),
    Case("kpi_link_remove", "POST", STEERERS, _kpi_link, data={"version": "1"}),
    Case("governance_settings", "GET", ADMIN),
    Case("value_settings_save", "POST", ADMIN,
         data={"green_at": "95", "red_below": "85", "actuals_entry": "owner"}),
    Case("checklist_add", "POST", ADMIN, data={"gate": "detailed", "label": "Works council"}),
    Case("criterion_toggle", "POST", ADMIN, _criterion, data={"active": "false", "version": "1"}),
    Case("approvers_save", "POST", ADMIN, lambda world: {"gate": "detailed"},
         data={"roles": ["sponsor"]}),
    Case("list_item_add", "POST", ADMIN, lambda world: {"kind": "function"},
         data={"function-name": "Legal"}),
    Case("list_item_remove", "POST", ADMIN, _business_unit),
    Case("escalation_list", "GET", NOT_VIEWER),
    Case("escalation_detail", "GET", NOT_VIEWER, _escalation),
    Case("escalation_acknowledge", "POST", ESCALATION_ACTORS, _escalation,
         data={"comment": "Owner chased"}),
    Case("escalation_resolve", "POST", ESCALATION_ACTORS, _escalation,
         data={"comment": "Update posted"}),
    Case("escalation_rules", "GET", ADMIN),
    Case("escalation_rules", "POST", ADMIN, data=RULE_FORM),
    Case("escalation_rule_edit", "GET", ADMIN, _escalation_rule),
    Case("escalation_rule_edit", "POST", ADMIN, _escalation_rule,
         data={**RULE_FORM, "version": "1"}),
    Case("escalation_rule_toggle", "POST", ADMIN, _escalation_rule,
         data={"active": "false", "version": "1"}),
    Case("dashboard", "GET", ALL),
    Case("dashboard_initiatives", "GET", ALL),
    Case("changes", "GET", ALL),
    Case("export_initiatives_xlsx", "GET", ALL),
    Case("export_initiatives_csv", "GET", ALL),
    Case("board_pack_list", "GET", STEERERS),
    Case("board_pack_list", "POST", STEERERS, data=BOARD_PACK_REQUEST),
    Case("board_pack_row", "GET", STEERERS, _board_pack),
    Case("board_pack_download", "GET", STEERERS, _board_pack),
    Case("import_list", "GET", ADMIN),
    Case("import_list", "POST", ADMIN, data=_import_upload),
    Case("import_template", "GET", ADMIN),
    Case("import_detail", "GET", ADMIN, _import_job),
    Case("import_run", "POST", ADMIN, _import_job, data={"mode": "valid"}),
    Case("import_rejected", "GET", ADMIN, _import_job),
]

IF_MATCH = {"HTTP_IF_MATCH": '"v1"'}

API_CASES = [
    Case("api_organization", "GET", ALL),
    Case("api_organization", "PATCH", ADMIN, data={"fiscal_year_start_month": 4}),
    Case("api_member_list", "GET", ALL),
    Case("api_member_detail", "GET", ALL, _viewer_member),
    Case("api_member_detail", "PATCH", ADMIN, _viewer_member, data={"role": "owner"}),
    Case("api_member_detail", "DELETE", ADMIN, _fresh_member),
    Case("api_invitation_list", "GET", ADMIN),
    Case("api_invitation_list", "POST", ADMIN, data={"email": "new@acme.test", "role": "owner"}),
    Case("api_invitation_detail", "DELETE", ADMIN, _fresh_invitation),
    Case("api_membership_event_list", "GET", ADMIN),
    Case("api_program_list", "GET", ALL),
    Case("api_initiative_list", "GET", ALL),
    Case("api_initiative_list", "POST", EDITORS, data=_new_initiative_json),
    Case("api_initiative_detail", "GET", ALL, _initiative),
    Case("api_initiative_detail", "PATCH", EDITORS, _initiative, data={"title": "Renamed"},
         headers=lambda world: IF_MATCH),
    Case("api_milestone_list", "GET", ALL, _initiative),
    Case("api_milestone_list", "POST", EDITORS, _initiative,
         data={"title": "Tender issued", "due_date": "2026-03-31"}),
    Case("api_milestone_detail", "PATCH", EDITORS, _milestone, data={"weight": 3},
         headers=lambda world: IF_MATCH),
    Case("api_milestone_detail", "DELETE", EDITORS, _milestone, headers=lambda world: IF_MATCH),
    Case("api_impact_line_list", "GET", ALL, _initiative),
    Case("api_impact_line_list", "POST", EDITORS, _initiative,
         data={"category": "cost_reduction", "description": "Freight rates"}),
    Case("api_line_values", "PUT", EDITORS, _line,
         data={"kind": "planned", "values": {"2026-01": "1000.00"}},
         headers=lambda world: IF_MATCH),
    Case("api_status_update_list", "GET", ALL, _initiative),
    Case("api_status_update_list", "POST", EDITORS, _initiative,
         data={"narrative": "Tender out", "confidence": "high"}),
    Case("api_gate", "GET", ALL, _initiative),
    Case("api_gate", "POST", EDITORS, _ready_for_detailed),
    Case("api_initiative_hold", "POST", STEERERS, _initiative, data={"reason": "Budget"}),
    Case("api_initiative_resume", "POST", STEERERS, _on_hold),
    Case("api_initiative_cancel", "POST", STEERERS, _initiative, data={"reason": "Merged"}),
    Case("api_value_validate", "POST", frozenset({Role.CONTROLLER}), _implemented),
    Case("api_approval_decide", "POST", frozenset({Role.EXECUTIVE}),
         _pending_sponsor_approval, data={"decision": "approved"}),
    Case("api_dependency_list", "GET", ALL, _initiative),
    Case("api_dependency_list", "POST", EDITORS, _initiative, data=_other_initiative_json),
    Case("api_dependency_detail", "DELETE", EDITORS, _dependency),
    Case("api_risk_list", "GET", ALL, _initiative),
    Case("api_risk_list", "POST", EDITORS, _initiative,
         data=lambda world: {"description": "Volumes drop", "probability": 3, "impact": 3,
                             "owner": world.a[Role.OWNER].user.pk}),
    Case("api_risk_detail", "PATCH", EDITORS, _risk, data={"status": "mitigated"},
         headers=lambda world: IF_MATCH),
    Case("api_decision_list", "POST", STEERERS, data=DECISION),
    Case("api_kpi_list", "GET", ALL),
    Case("api_kpi_list", "POST", STEERERS,
         data=lambda world: {**KPI_FORM, "owner": world.a[Role.OWNER].user.pk}),
    Case("api_kpi_detail", "GET", ALL, _kpi),
    Case("api_kpi_detail", "PATCH", STEERERS, _kpi,
         data={"green_at": "0.95", "red_below": "0.85"}, headers=lambda world: IF_MATCH),
    Case("api_kpi_link_list", "GET", ALL, _kpi),
    Case("api_kpi_link_list", "POST", STEERERS, _kpi,
         data=lambda world: {"initiative": world.initiative.pk, "weight": "2"}),
    Case("api_kpi_link_detail", "DELETE", STEERERS, _kpi_link, headers=lambda world: IF_MATCH),
    Case("api_kpi_plan", "GET", ALL, _kpi),
    Case("api_kpi_plan", "PUT", STEERERS, _kpi, data=KPI_PLAN_JSON,
         headers=lambda world: IF_MATCH),
    Case("api_reading_list", "GET", ALL, _kpi),
    Case("api_reading_list", "POST", KPI_RECORDERS, _kpi,
         data={"period": "2026-02-01", "value": "81.5"}),
    Case("api_history", "GET", ALL, _initiative),
    Case("api_rebaseline_list", "GET", ALL, _initiative),
    Case("api_rebaseline_list", "POST", EDITORS, _decided_with_plan, data=_rebaseline_body),
    Case("api_rebaseline_decide", "POST", frozenset({Role.CONTROLLER}), _rebaseline,
         data={"decision": "approved"}),
    Case("api_evidence_list", "GET", ALL, _initiative),
    Case("api_evidence_list", "POST", ALL - {Role.VIEWER}, _initiative, data=_pdf,
         fmt="multipart"),
    Case("api_evidence_download", "GET", ALL, _evidence),
    Case("api_gate_settings", "GET", ADMIN),
    Case("api_checklist_add", "POST", ADMIN, data={"gate": "detailed", "label": "Works council"}),
    Case("api_criterion", "PATCH", ADMIN, _criterion, data={"active": False},
         headers=lambda world: IF_MATCH),
    Case("api_approvers", "PUT", ADMIN, lambda world: {"gate": "detailed"},
         data={"roles": ["sponsor"]}),
    Case("api_value_rules", "GET", ADMIN),
    Case("api_value_rules", "PUT", ADMIN,
         data={"green_at": "0.9", "red_below": "0.8", "actuals_entry": "controller"}),
    Case("api_review_list", "GET", NOT_VIEWER),
    Case("api_notification_list", "GET", ALL),
    Case("api_notification_preferences", "GET", ALL),
    Case("api_notification_preferences", "PUT", ALL, data={"reminder": "digest"}),
    Case("api_decision_list", "GET", ALL),
    Case("api_escalation_rule_list", "GET", NOT_VIEWER),
    Case("api_escalation_rule_list", "POST", ADMIN, data=RULE_JSON),
    Case("api_escalation_rule_detail", "GET", NOT_VIEWER, _escalation_rule),
    Case("api_escalation_rule_detail", "PATCH", ADMIN, _escalation_rule,
         data={"active": False}, headers=lambda world: IF_MATCH),
    Case("api_escalation_list", "GET", NOT_VIEWER),
    Case("api_escalation_detail", "GET", NOT_VIEWER, _escalation),
    Case("api_escalation_acknowledge", "POST", ESCALATION_ACTORS, _escalation,
         data={"comment": "Owner chased"}),
    Case("api_escalation_resolve", "POST", ESCALATION_ACTORS, _escalation,
         data={"comment": "Update posted"}),
    Case("api_dashboard", "GET", ALL),
    Case("api_dashboard_initiatives", "GET", ALL),
    Case("api_export_initiatives_xlsx", "GET", ALL),
    Case("api_export_initiatives_csv", "GET", ALL),
    Case("api_board_pack_list", "GET", STEERERS),
    Case("api_board_pack_list", "POST", STEERERS, data=BOARD_PACK_REQUEST),
    Case("api_board_pack_detail", "GET", STEERERS, _board_pack),
    Case("api_board_pack_download", "GET", STEERERS, _board_pack),
    Case("api_import_list", "GET", ADMIN),
    Case("api_import_list", "POST", ADMIN, data=_import_upload, fmt="multipart"),
    Case("api_import_template", "GET", ADMIN),
    Case("api_import_detail", "GET", ADMIN, _import_job),
    Case("api_import_run", "POST", ADMIN, _import_job, data={"mode": "valid"}),
    Case("api_import_rejected", "GET", ADMIN, _import_job),
]


def _request(client, case: Case, world: World, *, org_slug: str, api: bool):
    url = reverse(case.name, kwargs={"org_slug": org_slug, **case.kwargs(world)})
    call = getattr(client, case.method.lower())
    data = case.data(world) if callable(case.data) else (case.data or {})
    if api:
        return call(url, data, format=case.fmt, **case.headers(world))
    return call(url, data)


def _role_params(cases):
    return [pytest.param(case, role, id=f"{case}-{role}") for case in cases for role in Role.values]


# --- Pages -------------------------------------------------------------------


@pytest.mark.parametrize("case", PAGE_CASES, ids=str)
def test_page_stranger_gets_404(world, case):
    response = _request(client_for(world.b_executive.user), case, world, org_slug="acme",
                        api=False)
    assert response.status_code == 404
    assert ORG_A_MARKER not in response.content.decode()


@pytest.mark.parametrize("case", PAGE_CASES, ids=str)
def test_page_unknown_org_gets_404(world, case):
    response = _request(client_for(world.a[Role.ADMIN].user), case, world,
                        org_slug="no-such-org", api=False)
    assert response.status_code == 404


@pytest.mark.parametrize("case", PAGE_CASES, ids=str)
def test_page_anonymous_goes_to_login(world, case):
    response = _request(client_for(None), case, world, org_slug="acme", api=False)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(("case", "role"), _role_params(PAGE_CASES))
def test_page_roles(world, case, role):
    response = _request(client_for(world.a[role].user), case, world, org_slug="acme", api=False)
    if role in case.allowed:
        _assert_page_succeeded(response, case)
    else:
        assert response.status_code == 403


def _assert_page_succeeded(response, case: Case) -> None:
    """An allowed role's request did what it asked: a page answers 200; a form post
    answers 200 or redirects, with no error message and no form error (a post that was
    refused and redirected back with a message fails here)."""
    if case.method == "GET":
        assert response.status_code == 200, response.content[:500]
        return
    assert response.status_code in (200, 302), response.content[:500]
    refused = [str(m) for m in get_messages(response.wsgi_request)
               if m.level >= message_levels.WARNING]
    assert not refused, f"{case} was refused: {refused}"
    contexts = response.context if isinstance(response.context, list) else [response.context]
    for context in filter(None, contexts):
        for value in context.flatten().values():
            if isinstance(value, BaseForm) and value.is_bound:
                assert not value.errors, f"{case} has form errors: {value.errors.as_data()}"


# --- API ---------------------------------------------------------------------


@pytest.mark.parametrize("case", API_CASES, ids=str)
def test_api_stranger_gets_404(world, case):
    response = _request(api_client_for(world.b_executive.user), case, world, org_slug="acme",
                        api=True)
    assert response.status_code == 404
    assert ORG_A_MARKER not in response.content.decode()


@pytest.mark.parametrize("case", API_CASES, ids=str)
def test_api_unknown_org_gets_404(world, case):
    response = _request(api_client_for(world.a[Role.ADMIN].user), case, world,
                        org_slug="no-such-org", api=True)
    assert response.status_code == 404


@pytest.mark.parametrize("case", API_CASES, ids=str)
def test_api_anonymous_gets_401(world, case):
    response = _request(api_client_for(None), case, world, org_slug="acme", api=True)
    assert response.status_code == 401


@pytest.mark.parametrize(("case", "role"), _role_params(API_CASES))
def test_api_roles(world, case, role):
    response = _request(api_client_for(world.a[role].user), case, world, org_slug="acme",
                        api=True)
    if role in case.allowed:
        assert 200 <= response.status_code < 300, response.content[:500]
    else:
        assert response.status_code == 403


# --- Meta-tests: nothing org-scoped escapes the matrix -------------------------


def _org_page_url_names(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    names = set()
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            names |= _org_page_url_names(pattern, route)
        elif isinstance(pattern, URLPattern) and route.startswith("o/<slug:org_slug>/"):
            names.add(pattern.name)
    return names


def test_every_org_page_is_in_the_matrix():
    listed = {case.name for case in PAGE_CASES}
    missing = _org_page_url_names() - listed
    assert not missing, f"org pages missing from the isolation matrix: {sorted(missing)}"


def test_every_org_api_operation_is_in_the_matrix():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    listed = {(case.name, case.method) for case in API_CASES}
    operations = set()
    for path, methods in schema["paths"].items():
        if not path.startswith("/api/v1/o/{org_slug}/"):
            continue
        concrete = re.sub(r"\{[a-z_]+\}", "1", path.replace("{org_slug}", "acme"))
        name = resolve(concrete).url_name
        operations |= {(name, method.upper()) for method in methods}
    assert operations, "the schema lists no org-scoped operation; is the API mounted?"
    missing = operations - listed
    assert not missing, f"API operations missing from the isolation matrix: {sorted(missing)}"

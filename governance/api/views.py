"""Gates, approvals, steering actions, the review queue, notifications and decisions."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from cat4.tenancy.api.base import OrgAPIView
from initiatives import permissions as initiative_perms
from initiatives import services as initiative_services
from initiatives.api.serializers import InitiativeSerializer
from initiatives.api.views import InitiativeScoped

from .. import permissions as perms
from .. import selectors, services
from ..models import Approval, Evidence, Rebaseline
from .serializers import (
    ApprovalSerializer,
    ApproversSerializer,
    ChecklistAddSerializer,
    CommentSerializer,
    CriterionActiveSerializer,
    DecisionEntrySerializer,
    DecisionLogSerializer,
    DecisionSerializer,
    EscalationDetailSerializer,
    EscalationRuleSerializer,
    EscalationRuleWriteSerializer,
    EscalationSerializer,
    EvidenceSerializer,
    EvidenceUploadSerializer,
    GatePanelSerializer,
    GateSettingsSerializer,
    GateSubmitSerializer,
    HistoryEntrySerializer,
    NotificationPreferencesSerializer,
    NotificationSerializer,
    ReasonSerializer,
    RebaselineRequestSerializer,
    RebaselineSerializer,
    ReviewSerializer,
    SubmissionSerializer,
    ValueRulesSerializer,
)


class GateView(InitiativeScoped):
    predicates = {"GET": initiative_perms.can_view_initiatives,
                  "POST": initiative_perms.can_view_initiatives}
    serializer_class = GatePanelSerializer

    def get(self, request, org_slug, initiative_id):
        panel = selectors.gate_panel(initiative=self.get_initiative(),
                                     membership=self.membership)
        return Response(GatePanelSerializer(panel).data)

    @extend_schema(request=GateSubmitSerializer, responses={201: SubmissionSerializer})
    def post(self, request, org_slug, initiative_id):
        initiative = self.get_initiative()
        data = GateSubmitSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        submission = services.gate_submit(membership=self.membership,
                                          initiative_id=initiative.pk, **data.validated_data)
        return Response(SubmissionSerializer(submission).data, status=201)


class ApprovalDecisionView(InitiativeScoped):
    predicates = {"POST": perms.can_view_reviews}
    serializer_class = ApprovalSerializer

    @extend_schema(request=DecisionSerializer, responses=ApprovalSerializer)
    def post(self, request, org_slug, approval_id):
        approval = Approval.objects.filter(organization=self.organization,
                                           pk=approval_id).first()
        if approval is None:
            raise exceptions.NotFound()
        data = DecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        approval = services.approval_decide(membership=self.membership,
                                            approval_id=approval.pk, **data.validated_data)
        return Response(ApprovalSerializer(approval).data)


def _steering_view(service, *, with_reason: bool, doc: str):
    class View(InitiativeScoped):
        predicates = {"POST": initiative_perms.can_view_initiatives}
        serializer_class = InitiativeSerializer

        @extend_schema(request=ReasonSerializer if with_reason else None,
                       responses=InitiativeSerializer, description=doc)
        def post(self, request, org_slug, initiative_id):
            initiative = self.get_initiative()
            kwargs = {}
            if with_reason:
                data = ReasonSerializer(data=request.data)
                data.is_valid(raise_exception=True)
                kwargs["reason"] = data.validated_data["reason"]
            service(membership=self.membership, initiative_id=initiative.pk, **kwargs)
            return Response(InitiativeSerializer(self.get_initiative()).data)

    View.__name__ = View.__qualname__ = f"{service.__name__.title().replace('_', '')}View"
    return View


HoldView = _steering_view(services.initiative_hold, with_reason=True,
                          doc="Put on hold (sponsor or admin); resumes to the stage it left.")
ResumeView = _steering_view(services.initiative_resume, with_reason=False,
                            doc="Resume an initiative on hold (sponsor or admin).")
CancelView = _steering_view(services.initiative_cancel, with_reason=True,
                            doc="Cancel for good (sponsor or admin).")
ValidateValueView = _steering_view(services.value_validate, with_reason=False,
                                   doc="The initiative's controller validates the realised "
                                       "value (never its owner).")


class ReviewListView(mixins.ListModelMixin, InitiativeScoped):
    predicates = {"GET": perms.can_view_reviews}
    serializer_class = ReviewSerializer

    def get_queryset(self):
        return selectors.reviews_for(organization=self.organization, user=self.request.user)

    def get(self, request, org_slug):
        return self.list(request)


class NotificationListView(mixins.ListModelMixin, InitiativeScoped):
    predicates = {"GET": initiative_perms.can_view_initiatives}
    serializer_class = NotificationSerializer

    def get_queryset(self):
        return selectors.inbox_for(organization=self.organization, user=self.request.user)

    def get(self, request, org_slug):
        return self.list(request)


class DecisionLogListView(mixins.ListModelMixin, InitiativeScoped):
    predicates = {"GET": perms.can_view_decisions, "POST": perms.can_record_decisions}
    serializer_class = DecisionLogSerializer

    def get_queryset(self):
        return selectors.decision_log(organization=self.organization)

    def get(self, request, org_slug):
        return self.list(request)

    @extend_schema(request=DecisionEntrySerializer, responses={201: DecisionLogSerializer})
    def post(self, request, org_slug):
        data = DecisionEntrySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = services.decision_log_add(membership=self.membership, **data.validated_data)
        return Response(DecisionLogSerializer(entry).data, status=201)


# --- History, re-baselines, evidence ---------------------------------------------------


class HistoryView(InitiativeScoped):
    predicates = {"GET": initiative_perms.can_view_initiatives}
    serializer_class = HistoryEntrySerializer

    @extend_schema(responses=HistoryEntrySerializer(many=True))
    def get(self, request, org_slug, initiative_id):
        from initiatives.selectors import history_of

        return Response(HistoryEntrySerializer(history_of(initiative=self.get_initiative()),
                                               many=True).data)


class RebaselineListView(InitiativeScoped):
    predicates = {"GET": initiative_perms.can_view_initiatives,
                  "POST": initiative_perms.can_view_initiatives}
    serializer_class = RebaselineSerializer

    @extend_schema(responses=RebaselineSerializer(many=True))
    def get(self, request, org_slug, initiative_id):
        return Response(RebaselineSerializer(self.get_initiative().rebaselines.all(),
                                              many=True).data)

    @extend_schema(request=RebaselineRequestSerializer, responses={201: RebaselineSerializer})
    def post(self, request, org_slug, initiative_id):
        from datetime import date

        initiative = self.get_initiative()
        data = RebaselineRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = {}
        for line_id, cells in data.validated_data["values"].items():
            parsed = {}
            for key, amount in cells.items():
                try:
                    year, month = (int(part) for part in key.split("-"))
                    parsed[date(year, month, 1)] = amount
                except (ValueError, TypeError) as exc:
                    raise exceptions.ValidationError(
                        {f"values.{key}": ["Months look like 2026-03."]}) from exc
            values[line_id] = parsed
        rebaseline = services.rebaseline_request(
            membership=self.membership, initiative_id=initiative.pk,
            reason=data.validated_data["reason"], values=values)
        return Response(RebaselineSerializer(rebaseline).data, status=201)


class RebaselineDecisionView(InitiativeScoped):
    predicates = {"POST": initiative_perms.can_view_initiatives}
    serializer_class = RebaselineSerializer

    @extend_schema(request=DecisionSerializer, responses=RebaselineSerializer)
    def post(self, request, org_slug, rebaseline_id):
        if not Rebaseline.objects.filter(organization=self.organization,
                                         pk=rebaseline_id).exists():
            raise exceptions.NotFound()
        data = DecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rebaseline = services.rebaseline_decide(membership=self.membership,
                                                rebaseline_id=rebaseline_id,
                                                **data.validated_data)
        return Response(RebaselineSerializer(rebaseline).data)


class EvidenceListView(InitiativeScoped):
    predicates = {"GET": initiative_perms.can_view_initiatives,
                  "POST": initiative_perms.can_view_initiatives}
    serializer_class = EvidenceSerializer
    parser_classes = [MultiPartParser]

    @extend_schema(responses=EvidenceSerializer(many=True))
    def get(self, request, org_slug, initiative_id):
        return Response(EvidenceSerializer(selectors.evidence_of(
            initiative=self.get_initiative()), many=True).data)

    @extend_schema(request={"multipart/form-data": EvidenceUploadSerializer},
                   responses={201: EvidenceSerializer})
    def post(self, request, org_slug, initiative_id):
        initiative = self.get_initiative()
        data = EvidenceUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        evidence = services.evidence_upload(membership=self.membership,
                                            initiative_id=initiative.pk,
                                            upload=data.validated_data["file"],
                                            description=data.validated_data["description"])
        return Response(EvidenceSerializer(evidence).data, status=201)


class EvidenceDownloadView(InitiativeScoped):
    predicates = {"GET": initiative_perms.can_view_initiatives}

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request, org_slug, evidence_id):
        from django.http import FileResponse

        evidence = Evidence.objects.filter(organization=self.organization,
                                           pk=evidence_id).first()
        if evidence is None:
            raise exceptions.NotFound()
        try:
            handle = evidence.file.open("rb")
        except FileNotFoundError as exc:
            raise exceptions.NotFound("The stored file is missing.") from exc
        response = FileResponse(handle, as_attachment=True,
                                filename=evidence.file_name,
                                content_type=evidence.content_type)
        response["X-Content-Type-Options"] = "nosniff"
        return response


# --- Gate and value settings (admins) ----------------------------------------------------


class GateSettingsView(InitiativeScoped):
    predicates = {"GET": perms.can_configure_gates}
    serializer_class = GateSettingsSerializer

    @extend_schema(responses=GateSettingsSerializer(many=True))
    def get(self, request, org_slug):
        overview = selectors.settings_overview(organization=self.organization)
        return Response([{"gate": g["value"], "approvers": g["roles"],
                          "criteria": [{"id": c.pk, "label": c.label, "rule": c.rule,
                                        "active": c.active} for c in g["criteria"]]}
                         for g in overview["gates"]])


class ChecklistAddView(InitiativeScoped):
    predicates = {"POST": perms.can_configure_gates}

    @extend_schema(request=ChecklistAddSerializer, responses={201: None})
    def post(self, request, org_slug):
        data = ChecklistAddSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        item = services.gate_checklist_add(membership=self.membership, **data.validated_data)
        return Response({"id": item.pk, "gate": item.gate, "label": item.label}, status=201)


class CriterionView(InitiativeScoped):
    predicates = {"PATCH": perms.can_configure_gates}

    @extend_schema(request=CriterionActiveSerializer, responses={200: None})
    def patch(self, request, org_slug, criterion_id):
        data = CriterionActiveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        criterion = services.gate_criterion_set_active(
            membership=self.membership, criterion_id=criterion_id, **data.validated_data)
        return Response({"id": criterion.pk, "active": criterion.active})


class ApproversView(InitiativeScoped):
    predicates = {"PUT": perms.can_configure_gates}

    @extend_schema(request=ApproversSerializer, responses=ApproversSerializer)
    def put(self, request, org_slug, gate):
        data = ApproversSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        roles = services.gate_approvers_set(membership=self.membership, gate=gate,
                                            roles=data.validated_data["roles"])
        return Response({"roles": roles})


class ValueRulesView(InitiativeScoped):
    predicates = {"GET": perms.can_configure_gates, "PUT": perms.can_configure_gates}
    serializer_class = ValueRulesSerializer

    def get(self, request, org_slug):
        settings = initiative_services.value_settings_for(self.organization)
        return Response(ValueRulesSerializer(settings).data)

    @extend_schema(request=ValueRulesSerializer, responses=ValueRulesSerializer)
    def put(self, request, org_slug):
        from decimal import Decimal, InvalidOperation

        data = ValueRulesSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        shares = {}
        for field in ("green_at", "red_below"):
            try:
                shares[field] = Decimal(data.validated_data[field])
            except InvalidOperation as exc:
                raise exceptions.ValidationError({field: ["Give a share like 0.95."]}) from exc
        settings = initiative_services.value_settings_update(
            membership=self.membership, actuals_entry=data.validated_data["actuals_entry"],
            **shares)
        return Response(ValueRulesSerializer(settings).data)


# --- Escalations -------------------------------------------------------------------------


class EscalationRuleListView(mixins.ListModelMixin, OrgAPIView):
    predicates = {"GET": perms.can_view_escalations, "POST": perms.can_manage_escalation_rules}
    serializer_class = EscalationRuleSerializer

    def get_queryset(self):
        return selectors.escalation_rules(organization=self.organization)

    def get(self, request, org_slug):
        return self.list(request)

    @extend_schema(request=EscalationRuleWriteSerializer, responses={201: EscalationRuleSerializer})
    def post(self, request, org_slug):
        data = EscalationRuleWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rule = services.escalation_rule_create(membership=self.membership,
                                               **data.validated_data)
        return Response(EscalationRuleSerializer(rule).data, status=201)


class EscalationRuleDetailView(OrgAPIView):
    predicates = {"GET": perms.can_view_escalations,
                  "PATCH": perms.can_manage_escalation_rules}
    serializer_class = EscalationRuleSerializer

    def get_rule(self):
        rule = selectors.escalation_rules(organization=self.organization).filter(
            pk=self.kwargs["rule_id"]).first()
        if rule is None:
            raise exceptions.NotFound()
        return rule

    def get(self, request, org_slug, rule_id):
        return Response(EscalationRuleSerializer(self.get_rule()).data)

    @extend_schema(request=EscalationRuleWriteSerializer(partial=True),
                   responses=EscalationRuleSerializer,
                   description="Change a rule, or switch it off or on with "
                               '{"active": false}. The condition of a rule that has raised '
                               "escalations cannot change (409).")
    def patch(self, request, org_slug, rule_id):
        rule = self.get_rule()
        data = EscalationRuleWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        rule = services.escalation_rule_update(membership=self.membership, rule_id=rule.pk,
                                               **data.validated_data)
        return Response(EscalationRuleSerializer(rule).data)


ESCALATION_STATES = ["open", "acknowledged", "resolved", selectors.UNRESOLVED]


@extend_schema(parameters=[
    OpenApiParameter("state", OpenApiTypes.STR, enum=ESCALATION_STATES,
                     description="unresolved = open or acknowledged; all states when left out."),
    OpenApiParameter("level", OpenApiTypes.INT, enum=[1, 2, 3]),
    OpenApiParameter("rule", OpenApiTypes.INT, description="A rule id."),
])
class EscalationListView(mixins.ListModelMixin, OrgAPIView):
    predicates = {"GET": perms.can_view_escalations}
    serializer_class = EscalationSerializer

    def get_queryset(self):
        params = self.request.query_params
        state = params.get("state", "")
        if state and state not in ESCALATION_STATES:
            raise exceptions.ValidationError(
                {"state": [f"Choose one of {', '.join(ESCALATION_STATES)}."]})
        level = params.get("level", "")
        if level and level not in {"1", "2", "3"}:
            raise exceptions.ValidationError(
                {"level": ["Choose 1 (owner), 2 (sponsor) or 3 (steering group)."]})
        rule = params.get("rule", "")
        if rule and not (rule.isascii() and rule.isdigit() and selectors.escalation_rules(
                organization=self.organization).filter(pk=int(rule)).exists()):
            raise exceptions.ValidationError({"rule": ["No such rule of this organisation."]})
        return selectors.escalation_list(organization=self.organization, state=state,
                                         level=int(level) if level else None,
                                         rule=int(rule) if rule else None)

    def get(self, request, org_slug):
        return self.list(request)


class EscalationScoped(OrgAPIView):
    def get_escalation(self):
        escalation = selectors.escalation_get(organization=self.organization,
                                              escalation_id=self.kwargs["escalation_id"])
        if escalation is None:
            raise exceptions.NotFound()
        return escalation


class EscalationDetailView(EscalationScoped):
    predicates = {"GET": perms.can_view_escalations}
    serializer_class = EscalationDetailSerializer

    def get(self, request, org_slug, escalation_id):
        return Response(EscalationDetailSerializer(self.get_escalation()).data)


def _escalation_action(service, *, doc: str):
    class View(EscalationScoped):
        predicates = {"POST": perms.can_view_escalations}
        serializer_class = EscalationDetailSerializer

        @extend_schema(request=CommentSerializer, responses=EscalationDetailSerializer,
                       description=doc)
        def post(self, request, org_slug, escalation_id):
            escalation = self.get_escalation()
            data = CommentSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            service(membership=self.membership, escalation_id=escalation.pk,
                    comment=data.validated_data["comment"])
            return Response(EscalationDetailSerializer(self.get_escalation()).data)

    View.__name__ = View.__qualname__ = f"{service.__name__.title().replace('_', '')}View"
    return View


EscalationAcknowledgeView = _escalation_action(
    services.escalation_acknowledge,
    doc="Acknowledge an open escalation, with a comment (409 unless it is open).")
EscalationResolveView = _escalation_action(
    services.escalation_resolve,
    doc="Resolve an open or acknowledged escalation, with a comment (409 when already "
        "resolved); everyone notified of it is told.")


# --- Notification preferences ------------------------------------------------------------


class NotificationPreferencesView(OrgAPIView):
    """The caller's own preferences in this organisation: every kind with its delivery.
    PUT changes the kinds it names (the others keep theirs); an unknown kind or
    delivery is a 400 on that kind."""

    predicates = {"GET": initiative_perms.can_view_initiatives,
                  "PUT": initiative_perms.can_view_initiatives}
    serializer_class = NotificationPreferencesSerializer

    def get(self, request, org_slug):
        current = selectors.notification_preferences_of(organization=self.organization,
                                                        user=request.user)
        return Response(NotificationPreferencesSerializer(current).data)

    @extend_schema(request=NotificationPreferencesSerializer,
                   responses=NotificationPreferencesSerializer)
    def put(self, request, org_slug):
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError(
                {"non_field_errors": ['Send an object such as {"reminder": "digest"}.']})
        NotificationPreferencesSerializer(data=request.data).is_valid(raise_exception=True)
        preferences = {kind: request.data.get(kind) for kind in request.data}  # QueryDict too
        saved = services.notification_preferences_set(membership=self.membership,
                                                      preferences=preferences)
        return Response(NotificationPreferencesSerializer(saved).data)

"""Escalation rules (admins configure them) and escalations: list, detail,
acknowledge, resolve."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins
from rest_framework.response import Response

from cat4.common.api import IF_MATCH, if_match_version, with_etag
from cat4.tenancy.api.base import OrgAPIView

from .. import permissions as perms
from .. import selectors, services
from .serializers import (
    CommentSerializer,
    EscalationDetailSerializer,
    EscalationRuleSerializer,
    EscalationRuleWriteSerializer,
    EscalationSerializer,
)


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
        rule = self.get_rule()
        return with_etag(Response(EscalationRuleSerializer(rule).data), rule)

    @extend_schema(request=EscalationRuleWriteSerializer(partial=True),
                   responses=EscalationRuleSerializer, parameters=[IF_MATCH],
                   description="Change a rule, or switch it off or on with "
                               '{"active": false}. The condition of a rule that has raised '
                               "escalations cannot change (409).")
    def patch(self, request, org_slug, rule_id):
        rule = self.get_rule()
        version = if_match_version(request)
        data = EscalationRuleWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        rule = services.escalation_rule_update(membership=self.membership, rule_id=rule.pk,
                                               version=version, **data.validated_data)
        return with_etag(Response(EscalationRuleSerializer(rule).data), rule)


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

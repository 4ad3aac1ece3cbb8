"""Gate and value settings (admins): criteria, checklist items, approvers, value rules."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from cat4.common.amounts import AmountRules, parse_amount
from cat4.common.api import IF_MATCH, if_match_version, with_etag
from initiatives import services as initiative_services
from initiatives.api.views import InitiativeScoped

from .. import permissions as perms
from .. import selectors, services
from .serializers import (
    ApproversSerializer,
    ChecklistAddSerializer,
    CriterionActiveSerializer,
    GateSettingsSerializer,
    ValueRulesSerializer,
)

# A share of plan as text ("0.95"); its range is the service's to check.
SHARE = AmountRules(
    places=20, digits=1, not_text="Give a share like 0.95.",
    not_a_number="Give a share like 0.95.",
    not_finite="Give a percentage above 0 and at most 100.",
    too_large="Give a percentage above 0 and at most 100.",
    too_precise="Give a share like 0.95.")


class GateSettingsView(InitiativeScoped):
    predicates = {"GET": perms.can_configure_gates}
    serializer_class = GateSettingsSerializer

    @extend_schema(responses=GateSettingsSerializer(many=True))
    def get(self, request, org_slug):
        overview = selectors.settings_overview(organization=self.organization)
        return Response([{"gate": g["value"], "approvers": g["roles"],
                          "criteria": [{"id": c.pk, "label": c.label, "rule": c.rule,
                                        "active": c.active, "version": c.version}
                                       for c in g["criteria"]]}
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

    @extend_schema(request=CriterionActiveSerializer, responses={200: None},
                   parameters=[IF_MATCH])
    def patch(self, request, org_slug, criterion_id):
        version = if_match_version(request)
        data = CriterionActiveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        criterion = services.gate_criterion_set_active(
            membership=self.membership, criterion_id=criterion_id, version=version,
            **data.validated_data)
        return with_etag(Response({"id": criterion.pk, "active": criterion.active}), criterion)


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
        data = ValueRulesSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        shares = {field: parse_amount(data.validated_data[field], field=field, rules=SHARE)
                  for field in ("green_at", "red_below")}
        settings = initiative_services.value_settings_update(
            membership=self.membership, actuals_entry=data.validated_data["actuals_entry"],
            **shares)
        return Response(ValueRulesSerializer(settings).data)

"""Re-baselines of a frozen plan: the owner's request and the controller's decision."""

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.response import Response

from cat4.common.months import parse_month_key
from initiatives import permissions as initiative_perms
from initiatives.api.views import InitiativeScoped

from .. import services
from ..models import Rebaseline
from .serializers import DecisionSerializer, RebaselineRequestSerializer, RebaselineSerializer


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
        initiative = self.get_initiative()
        data = RebaselineRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = {}
        for line_id, cells in data.validated_data["values"].items():
            parsed = {}
            for key, amount in cells.items():
                month = parse_month_key(key)
                if month is None:
                    raise exceptions.ValidationError(
                        {f"values.{key}": ["Months look like 2026-03."]})
                parsed[month] = amount
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

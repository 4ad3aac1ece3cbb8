"""What happened: an initiative's audit trail and the organisation's decision log."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.response import Response

from initiatives import permissions as initiative_perms
from initiatives.api.views import InitiativeScoped
from initiatives.selectors import history_of

from .. import permissions as perms
from .. import selectors, services
from .serializers import DecisionEntrySerializer, DecisionLogSerializer, HistoryEntrySerializer


class HistoryView(InitiativeScoped):
    predicates = {"GET": initiative_perms.can_view_initiatives}
    serializer_class = HistoryEntrySerializer

    @extend_schema(responses=HistoryEntrySerializer(many=True))
    def get(self, request, org_slug, initiative_id):
        return Response(HistoryEntrySerializer(history_of(initiative=self.get_initiative()),
                                               many=True).data)


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

"""The gate panel, approval decisions, the steering moves (hold, resume, cancel,
validate value) and the review queue."""

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins
from rest_framework.response import Response

from initiatives import permissions as initiative_perms
from initiatives.api.serializers import InitiativeSerializer
from initiatives.api.views import InitiativeScoped

from .. import permissions as perms
from .. import selectors, services
from ..models import Approval
from .serializers import (
    ApprovalSerializer,
    DecisionSerializer,
    GatePanelSerializer,
    GateSubmitSerializer,
    ReasonSerializer,
    ReviewSerializer,
    SubmissionSerializer,
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

"""Evidence documents of an initiative: list, upload and the download."""

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from initiatives import permissions as initiative_perms
from initiatives.api.views import InitiativeScoped

from .. import selectors, services
from ..models import Evidence
from .serializers import EvidenceSerializer, EvidenceUploadSerializer


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

"""Exports and board packs in the API.

The exports take the initiative list's filters as query parameters
(``initiatives.filters.InitiativeFilterSet``: ``q``, ``stage``, ``portfolio``,
``program``, ``business_unit``, ``owner``, ``sort``); an invalid one (an id of another
organisation included) answers 400 with the field's error.
Board packs: list, request (202, queued), detail (status, progress, step, error,
snapshot SHA-256) and the PDF download once ready.
"""

import json

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, renderers, serializers, status
from rest_framework.response import Response

from cat4.common.api import filterset_parameters
from cat4.tenancy.api.base import OrgAPIView
from cat4.tenancy.api.serializers import UserSerializer
from initiatives.filters import InitiativeFilterSet

from .. import boardpack, exports
from ..boardpack_views import pack_file_response
from ..export_views import csv_response, xlsx_response
from ..models import BoardPack, JobStatus
from ..permissions import can_export, can_use_board_packs


class _FileRenderer(renderers.BaseRenderer):
    """Lets a client ask for the file's type in ``Accept``; errors are still JSON."""

    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return json.dumps(data).encode() if data is not None else b""


class CsvRenderer(_FileRenderer):
    media_type = "text/csv"
    format = "csv"


class XlsxRenderer(_FileRenderer):
    media_type = exports.XLSX_CONTENT_TYPE
    format = "xlsx"


class PdfRenderer(_FileRenderer):
    media_type = "application/pdf"
    format = "pdf"


class _ExportView(OrgAPIView):
    predicates = {"GET": can_export}

    def filters(self) -> dict:
        try:
            return exports.parse_filters(self.request.query_params,
                                         organization=self.organization)
        except exports.FilterError as exc:
            raise exceptions.ValidationError(exc.errors) from exc


class InitiativesXlsxView(_ExportView):
    renderer_classes = [renderers.JSONRenderer, XlsxRenderer]

    @extend_schema(
        operation_id="export_initiatives_xlsx",
        parameters=filterset_parameters(InitiativeFilterSet),
        summary="The initiatives as an xlsx workbook",
        description="Sheets Initiatives, Values, Milestones and KPIs, with the same filters "
                    "as the initiative list. Amounts are numbers with a number format.",
        responses={(200, exports.XLSX_CONTENT_TYPE): OpenApiTypes.BINARY,
                   400: OpenApiResponse(description="An invalid filter.")})
    def get(self, request, org_slug):
        return xlsx_response(organization=self.organization, filters=self.filters())


class InitiativesCsvView(_ExportView):
    renderer_classes = [renderers.JSONRenderer, CsvRenderer]

    @extend_schema(
        operation_id="export_initiatives_csv",
        parameters=filterset_parameters(InitiativeFilterSet),
        summary="The initiatives as csv",
        description="The Initiatives sheet only: UTF-8 with a byte-order mark, streamed; a "
                    "text cell starting with = + - @ is prefixed with a quote.",
        responses={(200, "text/csv"): OpenApiTypes.BINARY,
                   400: OpenApiResponse(description="An invalid filter.")})
    def get(self, request, org_slug):
        return csv_response(organization=self.organization, filters=self.filters())


# --- Board packs -----------------------------------------------------------------------


class BoardPackSerializer(serializers.ModelSerializer):
    requested_by = UserSerializer(read_only=True)
    download_ready = serializers.SerializerMethodField()

    class Meta:
        model = BoardPack
        fields = ["id", "title", "changes_since", "filters", "status", "progress", "step",
                  "error", "requested_by", "requested_at", "started_at", "finished_at",
                  "size", "snapshot_sha256", "download_ready"]

    def get_download_ready(self, pack) -> bool:
        return pack.status == JobStatus.READY and bool(pack.file)


class BoardPackDetailSerializer(BoardPackSerializer):
    class Meta(BoardPackSerializer.Meta):
        fields = [*BoardPackSerializer.Meta.fields, "snapshot"]


class BoardPackRequestSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    changes_since = serializers.DateField()
    portfolio = serializers.IntegerField(required=False, allow_null=True)
    program = serializers.IntegerField(required=False, allow_null=True)
    business_unit = serializers.IntegerField(required=False, allow_null=True)
    owner = serializers.IntegerField(required=False, allow_null=True)
    fiscal_year = serializers.IntegerField(required=False, allow_null=True)


class _BoardPackView(OrgAPIView):
    predicates = {"GET": can_use_board_packs}

    def get_pack(self) -> BoardPack:
        pack = boardpack.board_pack_get(organization=self.organization,
                                        pack_id=self.kwargs["pack_id"])
        if pack is None:
            raise exceptions.NotFound()
        return pack


class BoardPackListView(mixins.ListModelMixin, _BoardPackView):
    predicates = {"GET": can_use_board_packs, "POST": can_use_board_packs}
    serializer_class = BoardPackSerializer

    def get_queryset(self):
        return boardpack.board_pack_list(organization=self.organization)

    def get(self, request, org_slug):
        return self.list(request)

    @extend_schema(request=BoardPackRequestSerializer, responses={202: BoardPackSerializer},
                   description="Queue a board pack; poll its detail until status is ready "
                               "or failed.")
    def post(self, request, org_slug):
        data = BoardPackRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        pack = boardpack.board_pack_request(
            membership=self.membership, title=values.pop("title"),
            changes_since=values.pop("changes_since"), filters=values)
        return Response(BoardPackSerializer(pack).data, status=status.HTTP_202_ACCEPTED)


class BoardPackDetailView(_BoardPackView):
    serializer_class = BoardPackDetailSerializer

    def get(self, request, org_slug, pack_id):
        return Response(BoardPackDetailSerializer(self.get_pack()).data)


class BoardPackDownloadView(_BoardPackView):
    renderer_classes = [renderers.JSONRenderer, PdfRenderer]

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY,
                              404: OpenApiResponse(description="No such pack, or not ready.")})
    def get(self, request, org_slug, pack_id):
        return pack_file_response(self.get_pack())

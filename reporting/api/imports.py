"""The Excel import in the API: upload (multipart; the dry run starts at once), list,
detail with the row-level report, the import action, the template and the rejected
rows. Admins only, like the pages; the work is in the package reporting/imports/."""

from django.http import FileResponse, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, renderers, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from cat4.tenancy.api.base import OrgAPIView

from .. import imports
from ..import_views import XLSX
from ..models import ImportJob, ImportMode, ImportStatus
from ..permissions import can_import


class XlsxFileRenderer(renderers.BaseRenderer):
    """Lets a client ask for the workbook in ``Accept``."""

    media_type = XLSX
    format = "xlsx"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return b""


class ProblemSerializer(serializers.Serializer):
    sheet = serializers.CharField()
    row = serializers.IntegerField()
    column = serializers.CharField()
    message = serializers.CharField()


class SummarySerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    rejected = serializers.IntegerField()
    values_written = serializers.IntegerField()
    values_unchanged = serializers.IntegerField()


class ImportJobSerializer(serializers.ModelSerializer):
    uploaded_by = serializers.EmailField(source="uploaded_by.email", read_only=True)
    # Plain strings (not enums) so their names cannot collide with other "status" fields.
    status = serializers.CharField(read_only=True, help_text="uploaded, checking, checked, "
                                   "importing, imported or failed")
    mode = serializers.CharField(read_only=True, help_text="all, valid, or empty before "
                                 "the import")
    problems = ProblemSerializer(many=True, read_only=True)
    summary = serializers.SerializerMethodField()
    has_rejected_rows = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = ["id", "file_name", "size", "uploaded_at", "uploaded_by", "status", "mode",
                  "progress", "total_rows", "valid_rows", "file_error", "problems", "summary",
                  "has_rejected_rows", "finished_at"]
        read_only_fields = fields

    def get_has_rejected_rows(self, job) -> bool:
        return bool(job.rejected_file)

    @extend_schema_field(SummarySerializer(allow_null=True))
    def get_summary(self, job):
        return SummarySerializer(job.summary).data if job.summary else None


class ImportListSerializer(ImportJobSerializer):
    class Meta(ImportJobSerializer.Meta):
        fields = [f for f in ImportJobSerializer.Meta.fields if f != "problems"]
        read_only_fields = fields


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField()


class ModeSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=ImportMode.choices)


def _answer(job: ImportJob, created: bool = False) -> Response:
    running = job.status in (ImportStatus.CHECKING, ImportStatus.IMPORTING)
    code = (status.HTTP_202_ACCEPTED if running
            else status.HTTP_201_CREATED if created else status.HTTP_200_OK)
    return Response(ImportJobSerializer(job).data, status=code)


class _ImportView(OrgAPIView):
    def get_job(self) -> ImportJob:
        job = imports.import_job_get(organization=self.organization,
                                     job_id=self.kwargs["import_id"])
        if job is None:
            raise exceptions.NotFound()
        return job


class ImportListView(OrgAPIView):
    """``GET`` the organisation's imports, newest first; ``POST`` a workbook (multipart,
    field ``file``): 201 with the dry run's report, or 202 while a large file is being
    checked (poll the detail). A file that cannot be read is a 400 on ``file``."""

    predicates = {"GET": can_import, "POST": can_import}
    serializer_class = ImportListSerializer
    parser_classes = [MultiPartParser]

    @extend_schema(responses=ImportListSerializer(many=True))
    def get(self, request, org_slug):
        jobs = imports.import_job_list(organization=self.organization)[:100]
        return Response(ImportListSerializer(jobs, many=True).data)

    @extend_schema(request={"multipart/form-data": UploadSerializer},
                   responses={201: ImportJobSerializer, 202: ImportJobSerializer})
    def post(self, request, org_slug):
        data = UploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = imports.import_upload(membership=self.membership,
                                    upload=data.validated_data["file"])
        return _answer(job, created=True)


class ImportDetailView(_ImportView):
    predicates = {"GET": can_import}
    serializer_class = ImportJobSerializer

    def get(self, request, org_slug, import_id):
        return Response(ImportJobSerializer(self.get_job()).data)


class ImportRunView(_ImportView):
    """Import a checked file: ``{"mode": "all"}`` (only when the dry run found no problem;
    all or nothing) or ``{"mode": "valid"}`` (the valid rows, one initiative per
    transaction). 200 when done, 202 while a large file is imported; 409 when the mode
    is not allowed for this file."""

    predicates = {"POST": can_import}
    serializer_class = ImportJobSerializer

    @extend_schema(request=ModeSerializer,
                   responses={200: ImportJobSerializer, 202: ImportJobSerializer})
    def post(self, request, org_slug, import_id):
        job = self.get_job()
        data = ModeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = imports.import_start(membership=self.membership, job_id=job.pk,
                                   mode=data.validated_data["mode"])
        return _answer(job)


class ImportTemplateView(OrgAPIView):
    """The template workbook, with the organisation's programs, units, functions and
    members in its Lists sheet."""

    predicates = {"GET": can_import}
    renderer_classes = [renderers.JSONRenderer, XlsxFileRenderer]

    @extend_schema(responses={(200, XLSX): OpenApiTypes.BINARY})
    def get(self, request, org_slug):
        response = HttpResponse(imports.template_workbook(organization=self.organization),
                                content_type=XLSX)
        response["Content-Disposition"] = (
            f'attachment; filename="cat4-import-template-{self.organization.slug}.xlsx"')
        return response


class ImportRejectedView(_ImportView):
    """The rejected rows with a ``reason`` column (404 when no row was rejected)."""

    predicates = {"GET": can_import}
    renderer_classes = [renderers.JSONRenderer, XlsxFileRenderer]

    @extend_schema(responses={(200, XLSX): OpenApiTypes.BINARY})
    def get(self, request, org_slug, import_id):
        job = self.get_job()
        if not job.rejected_file:
            raise exceptions.NotFound("No row was rejected.")
        try:
            handle = job.rejected_file.open("rb")
        except FileNotFoundError as exc:
            raise exceptions.NotFound("The stored file is missing.") from exc
        stem = job.file_name.rsplit(".", 1)[0] or "import"
        return FileResponse(handle, as_attachment=True, filename=f"{stem}-rejected.xlsx",
                            content_type=XLSX)

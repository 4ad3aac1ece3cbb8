from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, status
from rest_framework.response import Response

from cat4.tenancy.api.base import OrgAPIView

from .. import permissions as perms
from .. import selectors, services
from .serializers import (
    KpiSerializer,
    KpiWriteSerializer,
    ReadingSerializer,
    ReadingWriteSerializer,
)


class KpiListView(mixins.ListModelMixin, OrgAPIView):
    predicates = {"GET": perms.can_view_kpis, "POST": perms.can_manage_kpis}
    serializer_class = KpiSerializer

    def get_queryset(self):
        return selectors.kpi_queryset(organization=self.organization).order_by("name", "id")

    def get(self, request, org_slug):
        return self.list(request)

    @extend_schema(request=KpiWriteSerializer, responses={201: KpiSerializer})
    def post(self, request, org_slug):
        data = KpiWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        kpi = services.kpi_create(membership=self.membership, **data.validated_data)
        kpi = selectors.kpi_get(organization=self.organization, kpi_id=kpi.pk)
        return Response(KpiSerializer(kpi).data, status=status.HTTP_201_CREATED)


class KpiDetailView(OrgAPIView):
    predicates = {"GET": perms.can_view_kpis}
    serializer_class = KpiSerializer

    def get(self, request, org_slug, kpi_id):
        kpi = selectors.kpi_get(organization=self.organization, kpi_id=kpi_id)
        if kpi is None:
            raise exceptions.NotFound()
        return Response(KpiSerializer(kpi).data)


class ReadingListView(OrgAPIView):
    predicates = {"GET": perms.can_view_kpis, "POST": perms.can_view_kpis}
    serializer_class = ReadingSerializer

    def get_kpi(self):
        kpi = selectors.kpi_get(organization=self.organization, kpi_id=self.kwargs["kpi_id"])
        if kpi is None:
            raise exceptions.NotFound()
        return kpi

    @extend_schema(responses=ReadingSerializer(many=True))
    def get(self, request, org_slug, kpi_id):
        kpi = self.get_kpi()
        return Response(ReadingSerializer(kpi.readings.select_related("entered_by"),
                                          many=True).data)

    @extend_schema(request=ReadingWriteSerializer, responses={201: ReadingSerializer})
    def post(self, request, org_slug, kpi_id):
        kpi = self.get_kpi()
        if not perms.can_record_reading(membership=self.membership, kpi=kpi):
            raise exceptions.PermissionDenied("Only the KPI's owner or an admin enters readings.")
        data = ReadingWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        reading = services.reading_record(membership=self.membership, kpi_id=kpi.pk,
                                          **data.validated_data)
        return Response(ReadingSerializer(reading).data, status=status.HTTP_201_CREATED)

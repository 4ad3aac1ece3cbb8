"""KPI API. A change of a KPI (its definition or its planned series) and the removal
of a link need ``If-Match`` with the ETag read (412 when stale, 428 when missing;
``cat4.common.versioning``)."""

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, status
from rest_framework.response import Response

from cat4.common.api import IF_MATCH, if_match_version, with_etag
from cat4.tenancy.api.base import OrgAPIView

from .. import permissions as perms
from .. import selectors, services
from ..models import KpiLink
from .serializers import (
    KpiLinkSerializer,
    KpiLinkWriteSerializer,
    KpiSerializer,
    KpiWriteSerializer,
    PlanSerializer,
    PlanWriteSerializer,
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
        return with_etag(Response(KpiSerializer(kpi).data, status=status.HTTP_201_CREATED), kpi)


class KpiChildView(OrgAPIView):
    """A view of one KPI of the organisation (``kpi_id`` in the path)."""

    def get_kpi(self):
        kpi = selectors.kpi_get(organization=self.organization, kpi_id=self.kwargs["kpi_id"])
        if kpi is None:
            raise exceptions.NotFound()
        return kpi


class KpiDetailView(KpiChildView):
    """GET a KPI (with an ``ETag``); PATCH its definition, thresholds included, with
    ``If-Match``: a PATCH after someone else saved is refused (412)."""

    predicates = {"GET": perms.can_view_kpis, "PATCH": perms.can_manage_kpis}
    serializer_class = KpiSerializer

    def get(self, request, org_slug, kpi_id):
        kpi = self.get_kpi()
        return with_etag(Response(KpiSerializer(kpi).data), kpi)

    @extend_schema(request=KpiWriteSerializer(partial=True), responses=KpiSerializer,
                   parameters=[IF_MATCH])
    def patch(self, request, org_slug, kpi_id):
        kpi = self.get_kpi()
        version = if_match_version(request)
        data = KpiWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = {k: v for k, v in data.validated_data.items() if k in request.data}
        services.kpi_update(membership=self.membership, kpi_id=kpi.pk, version=version,
                            **changes)
        kpi = self.get_kpi()
        return with_etag(Response(KpiSerializer(kpi).data), kpi)


class KpiLinkListView(KpiChildView):
    """The initiatives and strategic objectives a KPI serves, with their weights."""

    predicates = {"GET": perms.can_view_kpis, "POST": perms.can_manage_kpis}
    serializer_class = KpiLinkSerializer

    @extend_schema(responses=KpiLinkSerializer(many=True))
    def get(self, request, org_slug, kpi_id):
        return Response(KpiLinkSerializer(selectors.kpi_links(kpi=self.get_kpi()),
                                          many=True).data)

    @extend_schema(request=KpiLinkWriteSerializer, responses={201: KpiLinkSerializer})
    def post(self, request, org_slug, kpi_id):
        kpi = self.get_kpi()
        data = KpiLinkWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        link = services.kpi_link(membership=self.membership, kpi_id=kpi.pk,
                                 **data.validated_data)
        return with_etag(Response(KpiLinkSerializer(link).data, status=status.HTTP_201_CREATED),
                         link)


class KpiLinkDetailView(OrgAPIView):
    predicates = {"DELETE": perms.can_manage_kpis}

    @extend_schema(responses={204: None}, parameters=[IF_MATCH])
    def delete(self, request, org_slug, link_id):
        # An id of another organisation is a 404 (before If-Match is asked for).
        if not KpiLink.objects.filter(organization=self.organization, pk=link_id).exists():
            raise exceptions.NotFound()
        services.kpi_unlink(membership=self.membership, link_id=link_id,
                            version=if_match_version(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class KpiPlanView(KpiChildView):
    """The expected path per period: the planned value where one is set, else the
    straight line from baseline to target. PUT sets or clears planned values, with
    ``If-Match``: the plan is part of the KPI, so its ETag is the KPI's."""

    predicates = {"GET": perms.can_view_kpis, "PUT": perms.can_manage_kpis}
    serializer_class = PlanSerializer

    def _plan(self, kpi):
        return with_etag(Response(PlanSerializer({"points": selectors.kpi_plan(kpi=kpi)}).data),
                         kpi)

    def get(self, request, org_slug, kpi_id):
        return self._plan(self.get_kpi())

    @extend_schema(request=PlanWriteSerializer, responses=PlanSerializer, parameters=[IF_MATCH])
    def put(self, request, org_slug, kpi_id):
        kpi = self.get_kpi()
        version = if_match_version(request)
        data = PlanWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        points = {}
        for point in data.validated_data["points"]:
            if point["period"] in points:
                raise exceptions.ValidationError(
                    {f"points.{point['period']:%Y-%m-%d}": ["This period appears twice."]})
            points[point["period"]] = point["value"]
        services.kpi_plan_set(membership=self.membership, kpi_id=kpi.pk, points=points,
                              version=version)
        return self._plan(selectors.kpi_get(organization=self.organization, kpi_id=kpi.pk))


class ReadingListView(KpiChildView):
    predicates = {"GET": perms.can_view_kpis, "POST": perms.can_view_kpis}
    serializer_class = ReadingSerializer

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

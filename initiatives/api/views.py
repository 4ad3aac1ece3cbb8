"""Initiatives API. Writes go through the services; PATCH on an initiative needs
``If-Match`` with the ETag from GET (412 when stale, 428 when missing)."""

import re
from datetime import date

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status
from rest_framework.response import Response

from cat4.common.api import form_errors
from cat4.tenancy.api.base import OrgAPIView

from .. import permissions as perms
from .. import selectors, services
from ..forms import InitiativeFilterForm
from ..models import ImpactLine, Milestone, Stage
from .serializers import (
    DependencySerializer,
    DependencyWriteSerializer,
    ImpactLineSerializer,
    ImpactLineWriteSerializer,
    InitiativeSerializer,
    InitiativeWriteSerializer,
    MilestoneSerializer,
    MilestoneWriteSerializer,
    ProgramSerializer,
    RiskSerializer,
    RiskWriteSerializer,
    StatusUpdateSerializer,
    StatusUpdateWriteSerializer,
    ValuesWriteSerializer,
)

MONTH_KEY = re.compile(r"^(\d{4})-(\d{2})$")


def _etag(initiative) -> str:
    return f'"v{initiative.version}"'


class InitiativeScoped(OrgAPIView):
    """Resolves <initiative_id> inside the organisation (404 otherwise)."""

    def get_initiative(self):
        initiative = selectors.initiative_get(organization=self.organization,
                                              initiative_id=self.kwargs["initiative_id"])
        if initiative is None:
            raise exceptions.NotFound()
        return initiative

    def require_editor(self, initiative):
        # 403 for who the caller is; the service answers 409 for a closed initiative.
        if not perms.is_editor(membership=self.membership, initiative=initiative):
            raise exceptions.PermissionDenied("Only the owner or an admin can change this.")


class ProgramListView(mixins.ListModelMixin, OrgAPIView):
    predicates = {"GET": perms.can_view_initiatives}
    serializer_class = ProgramSerializer

    def get_queryset(self):
        from ..models import Program

        return Program.objects.filter(organization=self.organization).select_related(
            "portfolio")

    def get(self, request, org_slug):
        return self.list(request)


@extend_schema(parameters=[
    OpenApiParameter("stage", OpenApiTypes.STR, enum=Stage.values),
    OpenApiParameter("portfolio", OpenApiTypes.INT,
                     description="A portfolio id of the organisation."),
    OpenApiParameter("program", OpenApiTypes.INT, description="A program id of the organisation."),
    OpenApiParameter("business_unit", OpenApiTypes.INT,
                     description="A business unit id of the organisation."),
    OpenApiParameter("owner", OpenApiTypes.INT,
                     description="A user id of an owner in the organisation."),
    OpenApiParameter("q", OpenApiTypes.STR, description="Search in code and title."),
    OpenApiParameter("sort", OpenApiTypes.STR, enum=list(selectors.SORTS)),
])
class InitiativeListView(mixins.ListModelMixin, OrgAPIView):
    predicates = {"GET": perms.can_view_initiatives, "POST": perms.can_create_initiative}
    serializer_class = InitiativeSerializer

    def get_queryset(self):
        # The list page's filters, read by its form: an id of another organisation (or
        # not an id) is a 400 on that parameter, as in the exports. The API sorts by
        # more keys than the page offers (``selectors.SORTS``), so sort is read apart.
        params = self.request.query_params
        form = InitiativeFilterForm(
            {name: params.get(name, "") for name in InitiativeFilterForm.base_fields
             if name != "sort"}, organization=self.organization)
        if not form.is_valid():
            raise exceptions.ValidationError(form_errors(form))
        return selectors.initiative_list(organization=self.organization,
                                         **{**form.list_filters(),
                                            "sort": params.get("sort", "code")})

    def get(self, request, org_slug):
        return self.list(request)

    @extend_schema(request=InitiativeWriteSerializer, responses={201: InitiativeSerializer})
    def post(self, request, org_slug):
        data = InitiativeWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        initiative = services.initiative_create(membership=self.membership,
                                                **data.validated_data)
        initiative = selectors.initiative_get(organization=self.organization,
                                              initiative_id=initiative.pk)
        response = Response(InitiativeSerializer(initiative).data, status=status.HTTP_201_CREATED)
        response["ETag"] = _etag(initiative)
        return response


class InitiativeDetailView(InitiativeScoped):
    predicates = {"GET": perms.can_view_initiatives, "PATCH": perms.can_view_initiatives}
    serializer_class = InitiativeSerializer

    def get(self, request, org_slug, initiative_id):
        initiative = self.get_initiative()
        response = Response(InitiativeSerializer(initiative).data)
        response["ETag"] = _etag(initiative)
        return response

    @extend_schema(
        request=InitiativeWriteSerializer(partial=True), responses=InitiativeSerializer,
        parameters=[OpenApiParameter("If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER,
                                     required=True, description="The ETag from GET.")])
    def patch(self, request, org_slug, initiative_id):
        initiative = self.get_initiative()
        self.require_editor(initiative)
        if_match = request.headers.get("If-Match")
        if not if_match:
            return Response({"detail": "Send If-Match with the ETag you read, so that no "
                                       "one's changes are overwritten."},
                            status=status.HTTP_428_PRECONDITION_REQUIRED)
        match = re.fullmatch(r'(?:W/)?"v(\d+)"', if_match.strip())
        version = int(match.group(1)) if match else -1
        data = InitiativeWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = {k: v for k, v in data.validated_data.items() if k in request.data}
        updated = services.initiative_update(membership=self.membership,
                                             initiative_id=initiative.pk, version=version,
                                             **changes)
        updated = selectors.initiative_get(organization=self.organization,
                                           initiative_id=updated.pk)
        response = Response(InitiativeSerializer(updated).data)
        response["ETag"] = _etag(updated)
        return response


class InitiativeChildrenView(InitiativeScoped):
    """GET lists what hangs off an initiative (milestones, lines, ...); POST adds one
    through its service. Every member reads; editors add (the service says 409 when
    the initiative is closed)."""

    predicates = {"GET": perms.can_view_initiatives, "POST": perms.can_view_initiatives}
    write_serializer_class = None

    def children(self, initiative):
        raise NotImplementedError

    def create(self, initiative, data):
        raise NotImplementedError

    def present(self, initiative, created):
        return created

    def get(self, request, org_slug, initiative_id):
        initiative = self.get_initiative()
        return Response(self.serializer_class(self.children(initiative), many=True).data)

    def post(self, request, org_slug, initiative_id):
        initiative = self.get_initiative()
        self.require_editor(initiative)
        data = self.write_serializer_class(data=request.data)
        data.is_valid(raise_exception=True)
        created = self.create(initiative, data.validated_data)
        return Response(self.serializer_class(self.present(initiative, created)).data,
                        status=status.HTTP_201_CREATED)


def _children_schema(read, write):
    return extend_schema_view(get=extend_schema(responses=read(many=True)),
                              post=extend_schema(request=write, responses={201: read}))


@_children_schema(MilestoneSerializer, MilestoneWriteSerializer)
class MilestoneListView(InitiativeChildrenView):
    serializer_class = MilestoneSerializer
    write_serializer_class = MilestoneWriteSerializer

    def children(self, initiative):
        return initiative.milestones.all()

    def create(self, initiative, data):
        return services.milestone_create(membership=self.membership,
                                         initiative_id=initiative.pk, **data)


@_children_schema(ImpactLineSerializer, ImpactLineWriteSerializer)
class ImpactLineListView(InitiativeChildrenView):
    serializer_class = ImpactLineSerializer
    write_serializer_class = ImpactLineWriteSerializer

    def children(self, initiative):
        return initiative.impact_lines.prefetch_related("values")

    def create(self, initiative, data):
        return services.impact_line_create(membership=self.membership,
                                           initiative_id=initiative.pk, **data)


@_children_schema(StatusUpdateSerializer, StatusUpdateWriteSerializer)
class StatusUpdateListView(InitiativeChildrenView):
    serializer_class = StatusUpdateSerializer
    write_serializer_class = StatusUpdateWriteSerializer

    def children(self, initiative):
        return initiative.status_updates.select_related("author")[:50]

    def create(self, initiative, data):
        return services.status_update_create(membership=self.membership,
                                             initiative_id=initiative.pk, **data)


@_children_schema(DependencySerializer, DependencyWriteSerializer)
class DependencyListView(InitiativeChildrenView):
    serializer_class = DependencySerializer
    write_serializer_class = DependencyWriteSerializer

    def children(self, initiative):
        return selectors.dependencies_of(initiative=initiative)

    def create(self, initiative, data):
        return services.dependency_add(membership=self.membership,
                                       initiative_id=initiative.pk, **data)

    def present(self, initiative, created):
        return next(v for v in selectors.dependencies_of(initiative=initiative)
                    if v.dependency.pk == created.pk)


@_children_schema(RiskSerializer, RiskWriteSerializer)
class RiskListView(InitiativeChildrenView):
    serializer_class = RiskSerializer
    write_serializer_class = RiskWriteSerializer

    def children(self, initiative):
        return initiative.risks.select_related("owner")

    def create(self, initiative, data):
        return services.risk_add(membership=self.membership, initiative_id=initiative.pk,
                                 **data)


class MilestoneDetailView(OrgAPIView):
    predicates = {"PATCH": perms.can_view_initiatives, "DELETE": perms.can_view_initiatives}
    serializer_class = MilestoneSerializer

    def get_milestone(self):
        milestone = Milestone.objects.filter(organization=self.organization,
                                             pk=self.kwargs["milestone_id"]).select_related(
            "initiative").first()
        if milestone is None:
            raise exceptions.NotFound()
        if not perms.is_editor(membership=self.membership, initiative=milestone.initiative):
            raise exceptions.PermissionDenied("Only the owner or an admin can change this.")
        return milestone

    @extend_schema(request=MilestoneWriteSerializer(partial=True), responses=MilestoneSerializer)
    def patch(self, request, org_slug, milestone_id):
        milestone = self.get_milestone()
        data = MilestoneWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = {k: v for k, v in data.validated_data.items() if k in request.data}
        milestone = services.milestone_update(membership=self.membership,
                                              milestone_id=milestone.pk, **changes)
        return Response(MilestoneSerializer(milestone).data)

    @extend_schema(responses={204: None})
    def delete(self, request, org_slug, milestone_id):
        milestone = self.get_milestone()
        services.milestone_delete(membership=self.membership, milestone_id=milestone.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LineValuesView(OrgAPIView):
    predicates = {"PUT": perms.can_view_initiatives}
    serializer_class = ImpactLineSerializer

    @extend_schema(request=ValuesWriteSerializer, responses=ImpactLineSerializer)
    def put(self, request, org_slug, line_id):
        line = ImpactLine.objects.filter(organization=self.organization, pk=line_id).first()
        if line is None:
            raise exceptions.NotFound()
        data = ValuesWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = {}
        for key, amount in data.validated_data["values"].items():
            match = MONTH_KEY.fullmatch(key)
            month = None
            if match and int(match.group(1)) >= 1 and 1 <= int(match.group(2)) <= 12:
                month = date(int(match.group(1)), int(match.group(2)), 1)
            if month is None:
                raise exceptions.ValidationError({f"values.{key}": ["Months look like 2026-03."]})
            values[month] = amount
        services.monthly_values_set(membership=self.membership, line_id=line.pk,
                                    kind=data.validated_data["kind"], values=values)
        line = ImpactLine.objects.prefetch_related("values").get(pk=line.pk)
        return Response(ImpactLineSerializer(line).data)


class DependencyDetailView(OrgAPIView):
    predicates = {"DELETE": perms.can_view_initiatives}

    @extend_schema(responses={204: None})
    def delete(self, request, org_slug, dependency_id):
        from ..models import Dependency

        dependency = Dependency.objects.filter(organization=self.organization,
                                               pk=dependency_id).select_related(
            "initiative").first()
        if dependency is None:
            raise exceptions.NotFound()
        if not perms.is_editor(membership=self.membership, initiative=dependency.initiative):
            raise exceptions.PermissionDenied("Only the owner or an admin can change this.")
        services.dependency_remove(membership=self.membership, dependency_id=dependency.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RiskDetailView(OrgAPIView):
    predicates = {"PATCH": perms.can_view_initiatives}
    serializer_class = RiskSerializer

    @extend_schema(request=RiskWriteSerializer(partial=True), responses=RiskSerializer)
    def patch(self, request, org_slug, risk_id):
        from ..models import Risk

        risk = Risk.objects.filter(organization=self.organization, pk=risk_id).select_related(
            "initiative").first()
        if risk is None:
            raise exceptions.NotFound()
        if not perms.is_editor(membership=self.membership, initiative=risk.initiative):
            raise exceptions.PermissionDenied("Only the owner or an admin can change this.")
        data = RiskWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = {k: v for k, v in data.validated_data.items() if k in request.data}
        risk = services.risk_update(membership=self.membership, risk_id=risk.pk, **changes)
        return Response(RiskSerializer(risk).data)

"""Initiatives API. Writes go through the services; a change of an initiative, a
milestone, a risk or a line's values needs ``If-Match`` with the ETag read (412 when
stale, 428 when missing; ``cat4.common.versioning``)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status
from rest_framework.response import Response

from cat4.common.api import (
    IF_MATCH,
    filterset_parameters,
    form_errors,
    if_match_version,
    with_etag,
)
from cat4.common.months import parse_month_key
from cat4.tenancy.api.base import OrgAPIView

from .. import permissions as perms
from .. import selectors, services
from ..filters import InitiativeListFilterSet
from ..models import Dependency, ImpactLine, Milestone, Program, Risk
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
        return Program.objects.filter(organization=self.organization).select_related(
            "portfolio")

    def get(self, request, org_slug):
        return self.list(request)


@extend_schema(parameters=[
    *filterset_parameters(InitiativeListFilterSet),
    OpenApiParameter("sort", OpenApiTypes.STR, enum=list(selectors.SORTS)),
])
class InitiativeListView(mixins.ListModelMixin, OrgAPIView):
    predicates = {"GET": perms.can_view_initiatives, "POST": perms.can_create_initiative}
    serializer_class = InitiativeSerializer

    def get_queryset(self):
        # The list page's filters: an id of another organisation (or not an id) is a 400
        # on that parameter, as in the exports. The API sorts by more keys than the page
        # offers (``selectors.SORTS``), so sort is read apart.
        params = self.request.query_params
        filterset = InitiativeListFilterSet(params, organization=self.organization)
        if not filterset.is_valid():
            raise exceptions.ValidationError(form_errors(filterset.form))
        return selectors.initiative_list(organization=self.organization,
                                         **{**filterset.list_filters(),
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
        return with_etag(Response(InitiativeSerializer(initiative).data,
                                  status=status.HTTP_201_CREATED), initiative)


class InitiativeDetailView(InitiativeScoped):
    predicates = {"GET": perms.can_view_initiatives, "PATCH": perms.can_view_initiatives}
    serializer_class = InitiativeSerializer

    def get(self, request, org_slug, initiative_id):
        initiative = self.get_initiative()
        return with_etag(Response(InitiativeSerializer(initiative).data), initiative)

    @extend_schema(request=InitiativeWriteSerializer(partial=True),
                   responses=InitiativeSerializer, parameters=[IF_MATCH])
    def patch(self, request, org_slug, initiative_id):
        initiative = self.get_initiative()
        self.require_editor(initiative)
        version = if_match_version(request)
        data = InitiativeWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = {k: v for k, v in data.validated_data.items() if k in request.data}
        updated = services.initiative_update(membership=self.membership,
                                             initiative_id=initiative.pk, version=version,
                                             **changes)
        updated = selectors.initiative_get(organization=self.organization,
                                           initiative_id=updated.pk)
        return with_etag(Response(InitiativeSerializer(updated).data), updated)


class InitiativeChildrenView(InitiativeScoped):
    """GET lists what hangs off an initiative (milestones, lines, ...); POST adds one
    through its service. Every member reads; editors add (the service says 409 when
    the initiative is closed)."""

    predicates = {"GET": perms.can_view_initiatives, "POST": perms.can_view_initiatives}
    write_serializer_class = None
    versioned = False  # the ETag of what POST added goes with the answer


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
        response = Response(self.serializer_class(self.present(initiative, created)).data,
                            status=status.HTTP_201_CREATED)
        return with_etag(response, created) if self.versioned else response


def _children_schema(read, write):
    return extend_schema_view(get=extend_schema(responses=read(many=True)),
                              post=extend_schema(request=write, responses={201: read}))


@_children_schema(MilestoneSerializer, MilestoneWriteSerializer)
class MilestoneListView(InitiativeChildrenView):
    serializer_class = MilestoneSerializer
    write_serializer_class = MilestoneWriteSerializer
    versioned = True

    def children(self, initiative):
        return initiative.milestones.all()

    def create(self, initiative, data):
        return services.milestone_create(membership=self.membership,
                                         initiative_id=initiative.pk, **data)


@_children_schema(ImpactLineSerializer, ImpactLineWriteSerializer)
class ImpactLineListView(InitiativeChildrenView):
    serializer_class = ImpactLineSerializer
    write_serializer_class = ImpactLineWriteSerializer
    versioned = True

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
    versioned = True

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

    @extend_schema(request=MilestoneWriteSerializer(partial=True), responses=MilestoneSerializer,
                   parameters=[IF_MATCH])
    def patch(self, request, org_slug, milestone_id):
        milestone = self.get_milestone()
        version = if_match_version(request)
        data = MilestoneWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = {k: v for k, v in data.validated_data.items() if k in request.data}
        milestone = services.milestone_update(membership=self.membership,
                                              milestone_id=milestone.pk, version=version,
                                              **changes)
        return with_etag(Response(MilestoneSerializer(milestone).data), milestone)

    @extend_schema(responses={204: None}, parameters=[IF_MATCH])
    def delete(self, request, org_slug, milestone_id):
        milestone = self.get_milestone()
        services.milestone_delete(membership=self.membership, milestone_id=milestone.pk,
                                  version=if_match_version(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class LineValuesView(OrgAPIView):
    predicates = {"PUT": perms.can_view_initiatives}
    serializer_class = ImpactLineSerializer

    @extend_schema(request=ValuesWriteSerializer, responses=ImpactLineSerializer,
                   parameters=[IF_MATCH])
    def put(self, request, org_slug, line_id):
        line = ImpactLine.objects.filter(organization=self.organization, pk=line_id).first()
        if line is None:
            raise exceptions.NotFound()
        version = if_match_version(request)
        data = ValuesWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = {}
        for key, amount in data.validated_data["values"].items():
            month = parse_month_key(key, zero_padded=True)
            if month is None:
                raise exceptions.ValidationError({f"values.{key}": ["Months look like 2026-03."]})
            values[month] = amount
        services.monthly_values_set(membership=self.membership, line_id=line.pk,
                                    kind=data.validated_data["kind"], values=values,
                                    version=version)
        line = ImpactLine.objects.prefetch_related("values").get(pk=line.pk)
        return with_etag(Response(ImpactLineSerializer(line).data), line)


class DependencyDetailView(OrgAPIView):
    predicates = {"DELETE": perms.can_view_initiatives}

    @extend_schema(responses={204: None})
    def delete(self, request, org_slug, dependency_id):
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

    @extend_schema(request=RiskWriteSerializer(partial=True), responses=RiskSerializer,
                   parameters=[IF_MATCH])
    def patch(self, request, org_slug, risk_id):
        risk = Risk.objects.filter(organization=self.organization, pk=risk_id).select_related(
            "initiative").first()
        if risk is None:
            raise exceptions.NotFound()
        if not perms.is_editor(membership=self.membership, initiative=risk.initiative):
            raise exceptions.PermissionDenied("Only the owner or an admin can change this.")
        version = if_match_version(request)
        data = RiskWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = {k: v for k, v in data.validated_data.items() if k in request.data}
        risk = services.risk_update(membership=self.membership, risk_id=risk.pk,
                                    version=version, **changes)
        return with_etag(Response(RiskSerializer(risk).data), risk)

from axes.exceptions import AxesBackendPermissionDenied
from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, permissions, status
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from .. import permissions as perms
from .. import selectors, services
from .base import OrgAPIView
from .serializers import (
    InvitationCreateSerializer,
    InvitationSerializer,
    MembershipEventSerializer,
    MembershipSerializer,
    MeSerializer,
    OrganizationSerializer,
    OrganizationUpdateSerializer,
    RoleUpdateSerializer,
    TokenRequestSerializer,
    TokenResponseSerializer,
)


class TokenCreateView(APIView):
    """Exchange email + password for a personal API token (failed attempts count
    towards the same lockout as the login page)."""

    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []
    throttle_classes = [AnonRateThrottle]

    @extend_schema(request=TokenRequestSerializer, responses={201: TokenResponseSerializer})
    def post(self, request):
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            user = authenticate(request._request, username=data.validated_data["email"],
                                password=data.validated_data["password"])
        except AxesBackendPermissionDenied:
            user = None
        if getattr(request._request, "axes_locked_out", False):
            return Response({"detail": "Too many failed attempts. Try again later."},
                            status=status.HTTP_429_TOO_MANY_REQUESTS)
        if user is None:
            raise exceptions.ValidationError(
                {"non_field_errors": ["That email and password do not match an account."]})
        instance, token = services.api_token_create(user=user)
        return Response({"token": token, "expiry": instance.expiry},
                        status=status.HTTP_201_CREATED)


class MeView(APIView):
    @extend_schema(responses=MeSerializer)
    def get(self, request):
        memberships = selectors.memberships_of_user(user=request.user)
        return Response(MeSerializer(request.user, context={"memberships": memberships}).data)


class OrganizationView(OrgAPIView):
    predicates = {"GET": perms.can_view_organization, "PATCH": perms.can_configure_organization}
    serializer_class = OrganizationSerializer

    def get(self, request, org_slug):
        return Response(OrganizationSerializer(self.organization).data)

    @extend_schema(request=OrganizationUpdateSerializer, responses=OrganizationSerializer)
    def patch(self, request, org_slug):
        current = OrganizationUpdateSerializer(self.organization).data
        data = OrganizationUpdateSerializer(data={**current, **request.data})
        data.is_valid(raise_exception=True)
        org = services.organization_update(membership=self.membership, **data.validated_data)
        return Response(OrganizationSerializer(org).data)


class MemberListView(mixins.ListModelMixin, OrgAPIView):
    predicates = {"GET": perms.can_view_members}
    serializer_class = MembershipSerializer

    def get_queryset(self):
        return selectors.member_list(organization=self.organization)

    def get(self, request, org_slug):
        return self.list(request)


class MemberDetailView(OrgAPIView):
    predicates = {"GET": perms.can_view_members, "PATCH": perms.can_manage_members,
                  "DELETE": perms.can_manage_members}
    serializer_class = MembershipSerializer

    def get_object(self):
        member = selectors.member_get(organization=self.organization,
                                      membership_id=self.kwargs["member_id"])
        if member is None:
            raise exceptions.NotFound()
        return member

    def get(self, request, org_slug, member_id):
        return Response(MembershipSerializer(self.get_object()).data)

    @extend_schema(request=RoleUpdateSerializer, responses=MembershipSerializer)
    def patch(self, request, org_slug, member_id):
        data = RoleUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        member = services.member_change_role(membership=self.membership,
                                             member_id=self.get_object().pk,
                                             role=data.validated_data["role"])
        return Response(MembershipSerializer(member).data)

    @extend_schema(responses={204: None})
    def delete(self, request, org_slug, member_id):
        services.member_remove(membership=self.membership, member_id=self.get_object().pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationListView(mixins.ListModelMixin, OrgAPIView):
    predicates = {"GET": perms.can_manage_members, "POST": perms.can_manage_members}
    serializer_class = InvitationSerializer

    def get_queryset(self):
        return selectors.pending_invitation_list(organization=self.organization)

    def get(self, request, org_slug):
        return self.list(request)

    @extend_schema(request=InvitationCreateSerializer, responses={201: InvitationSerializer})
    def post(self, request, org_slug):
        data = InvitationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invitation, _token = services.invitation_create(membership=self.membership,
                                                        **data.validated_data)
        return Response(InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)


class InvitationDetailView(OrgAPIView):
    predicates = {"DELETE": perms.can_manage_members}

    @extend_schema(responses={204: None})
    def delete(self, request, org_slug, invitation_id):
        services.invitation_revoke(membership=self.membership, invitation_id=invitation_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MembershipEventListView(mixins.ListModelMixin, OrgAPIView):
    predicates = {"GET": perms.can_manage_members}
    serializer_class = MembershipEventSerializer

    def get_queryset(self):
        return selectors.membership_event_list(organization=self.organization)

    def get(self, request, org_slug):
        return self.list(request)

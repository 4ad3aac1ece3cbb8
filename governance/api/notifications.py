"""The caller's notifications and their delivery preferences."""

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins
from rest_framework.response import Response

from cat4.tenancy.api.base import OrgAPIView
from initiatives import permissions as initiative_perms
from initiatives.api.views import InitiativeScoped

from .. import selectors, services
from .serializers import NotificationPreferencesSerializer, NotificationSerializer


class NotificationListView(mixins.ListModelMixin, InitiativeScoped):
    predicates = {"GET": initiative_perms.can_view_initiatives}
    serializer_class = NotificationSerializer

    def get_queryset(self):
        return selectors.inbox_for(organization=self.organization, user=self.request.user)

    def get(self, request, org_slug):
        return self.list(request)


class NotificationPreferencesView(OrgAPIView):
    """The caller's own preferences in this organisation: every kind with its delivery.
    PUT changes the kinds it names (the others keep theirs); an unknown kind or
    delivery is a 400 on that kind."""

    predicates = {"GET": initiative_perms.can_view_initiatives,
                  "PUT": initiative_perms.can_view_initiatives}
    serializer_class = NotificationPreferencesSerializer

    def get(self, request, org_slug):
        current = selectors.notification_preferences_of(organization=self.organization,
                                                        user=request.user)
        return Response(NotificationPreferencesSerializer(current).data)

    @extend_schema(request=NotificationPreferencesSerializer,
                   responses=NotificationPreferencesSerializer)
    def put(self, request, org_slug):
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError(
                {"non_field_errors": ['Send an object such as {"reminder": "digest"}.']})
        NotificationPreferencesSerializer(data=request.data).is_valid(raise_exception=True)
        preferences = {kind: request.data.get(kind) for kind in request.data}  # QueryDict too
        saved = services.notification_preferences_set(membership=self.membership,
                                                      preferences=preferences)
        return Response(NotificationPreferencesSerializer(saved).data)

"""The base every org-scoped API view derives from.

The middleware has opened the tenant scope for /api/v1/o/<slug>/. Here, after
DRF has authenticated the request (token or session), the caller's membership
is resolved: a stranger gets 404, a member whose role the view's predicate
refuses gets 403.
"""

from rest_framework import exceptions, generics, permissions

from ..selectors import membership_for


class OrgRolePermission(permissions.BasePermission):
    def has_permission(self, request, view):
        org = getattr(request, "organization", None)
        membership = membership_for(user=request.user, organization=org) if org else None
        if membership is None:
            raise exceptions.NotFound()
        request.membership = membership
        predicate = view.predicates.get(request.method)
        if predicate is None:
            raise exceptions.MethodNotAllowed(request.method)
        if not predicate(membership=membership):
            raise exceptions.PermissionDenied("Your role does not allow this.")
        return True


class OrgAPIView(generics.GenericAPIView):
    """Set ``predicates = {"GET": can_view_x, "PATCH": can_manage_x, ...}``."""

    permission_classes = [permissions.IsAuthenticated, OrgRolePermission]
    predicates: dict = {}

    @property
    def organization(self):
        return self.request.organization

    @property
    def membership(self):
        return self.request.membership

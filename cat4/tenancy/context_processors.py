from . import permissions
from .selectors import memberships_of_user


def tenancy(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    membership = getattr(request, "membership", None)
    return {
        "current_org": getattr(request, "organization", None),
        "current_membership": membership,
        "my_memberships": memberships_of_user(user=user),
        "can_manage_members": permissions.can_manage_members(membership=membership),
        "can_configure_org": permissions.can_configure_organization(membership=membership),
    }

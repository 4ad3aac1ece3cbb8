from django_scopes import scope

from . import permissions, selectors


def governance_counts(request):
    """Pending reviews, unread notifications and unresolved escalations for the
    navigation (four counts)."""
    membership = getattr(request, "membership", None)
    if membership is None:
        return {}
    org = membership.organization
    with scope(organization=org):
        return {
            "can_review": permissions.can_view_reviews(membership=membership),
            "pending_review_count": (
                selectors.reviews_for(organization=org, user=request.user).count()
                + selectors.rebaselines_for(organization=org, user=request.user).count()
                if permissions.can_view_reviews(membership=membership) else 0),
            "unread_count": selectors.unread_count(organization=org, user=request.user),
            "can_view_escalations": permissions.can_view_escalations(membership=membership),
            "open_escalation_count": (
                selectors.open_escalation_count(organization=org)
                if permissions.can_view_escalations(membership=membership) else 0),
        }

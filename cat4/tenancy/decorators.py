import functools

from django.core.exceptions import PermissionDenied


def org_view(predicate):
    """Guard an org page with a role predicate from ``permissions``.

    The middleware has already answered 404 to strangers and set
    ``request.membership``; a member whose role fails the predicate gets 403.
    """

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if not predicate(membership=request.membership):
                raise PermissionDenied("Your role does not allow this.")
            return view(request, *args, **kwargs)

        wrapper.org_predicate = predicate
        return wrapper

    return decorator

"""Helpers around django-scopes' fail-closed tenant scope."""

import functools

from django_scopes import scope


def acting_in_org(func):
    """Run a service inside the scope of the acting membership's organisation.

    Services take ``membership=`` (the acting user's membership). Opening the
    scope here means a service works the same from a view, a task or a shell,
    and a filter it forgot still cannot reach another tenant's rows.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        membership = kwargs["membership"]
        with scope(organization=membership.organization):
            return func(*args, **kwargs)

    return wrapper

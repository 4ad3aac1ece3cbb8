"""Small helpers shared by page views."""

from django import forms

from .exceptions import ApplicationError, NotFoundError, PermissionDeniedError


def add_form_error(form: forms.Form, exc: ApplicationError) -> None:
    """Show a service's refusal on the field it names (or on the form).

    Permission and not-found refusals are not form errors: they are raised on,
    to become the 403 and 404 pages."""
    if isinstance(exc, (PermissionDeniedError, NotFoundError)):
        raise exc
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)

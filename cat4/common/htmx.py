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


def partial_template(request, template: str, part: str) -> str:
    """The named partial alone for an htmx swap; the whole page otherwise, including when
    htmx restores a page from its history (it expects the whole page then).

    A view answering both ways at one URL must also send ``Vary: HX-Request``
    (``@vary_on_headers("HX-Request")``): otherwise the browser's cache may serve the
    partial for a Back navigation to that URL, a page without its layout."""
    htmx = request.htmx
    partial = htmx and not htmx.boosted and not htmx.history_restore_request
    return f"{template}#{part}" if partial else template

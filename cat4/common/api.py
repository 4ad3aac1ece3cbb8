"""API plumbing shared by every app: error format and the org-scoped base view."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .exceptions import ApplicationError


def exception_handler(exc, context):
    """DRF's handler, plus ApplicationError -> 400/403/404/409 with a field error
    when the message belongs to an input."""
    if isinstance(exc, ApplicationError):
        body = {exc.field: [exc.message]} if exc.field else {"detail": exc.message}
        return Response(body, status=exc.status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    return drf_exception_handler(exc, context)


def form_errors(form) -> dict[str, list[str]]:
    """A bound form's errors as a 400 body, as the API's field errors: ``{"program": ["…"]}``."""
    return {name: [str(m) for m in messages] for name, messages in form.errors.items()}


__all__ = ["exception_handler", "form_errors", "status"]

"""API plumbing shared by every app: error format, field errors, query parameters of a
filter set, and optimistic locking (``ETag`` / ``If-Match``)."""

import django_filters
from django.core.exceptions import PermissionDenied
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .exceptions import ApplicationError
from .versioning import etag, version_of_etag


def exception_handler(exc, context):
    """DRF's handler, plus ApplicationError -> its status (400, 403, 404, 409, 412) with a
    field error when the message belongs to an input."""
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


def described(filter_: django_filters.Filter, description: str) -> django_filters.Filter:
    """``filter_`` with the words its parameter has in the API (``filterset_parameters``);
    pages show only its label and help text."""
    filter_.description = description
    return filter_


def filterset_parameters(filterset_class: type[django_filters.FilterSet]
                         ) -> list[OpenApiParameter]:
    """The query parameters of a django-filter ``FilterSet`` class, for
    ``extend_schema(parameters=...)``: a model choice is an id (integer), a typed choice
    coerced by ``int`` an integer, a date filter a date, anything else a string; fixed
    choices are the enum; the description is the one given with ``described``."""
    return [_filter_parameter(name, filter_)
            for name, filter_ in filterset_class.base_filters.items()]


def _filter_parameter(name: str, filter_: django_filters.Filter) -> OpenApiParameter:
    if isinstance(filter_, django_filters.ModelChoiceFilter) or (
            isinstance(filter_, django_filters.TypedChoiceFilter)
            and filter_.extra.get("coerce") is int):
        kind = OpenApiTypes.INT
    elif isinstance(filter_, django_filters.DateFilter):
        kind = OpenApiTypes.DATE
    else:
        kind = OpenApiTypes.STR
    choices = filter_.extra.get("choices")
    enum = ([value for value, _label in choices if value != ""]
            if choices and not callable(choices) else None)
    return OpenApiParameter(name, kind, enum=enum,
                            description=getattr(filter_, "description", ""))


class PreconditionRequired(exceptions.APIException):
    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_detail = ("Send If-Match with the ETag you read, so that no one's changes are "
                      "overwritten.")
    default_code = "precondition_required"


# Declare it on every write of a versioned object: ``extend_schema(parameters=[IF_MATCH])``.
IF_MATCH = OpenApiParameter(
    "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True,
    description='The ETag you read ("v3"): from GET, or "v" and the object\'s version '
                "in a list. 412 when someone saved since, 428 when missing.")


def if_match_version(request) -> int:
    """The version the caller read, from ``If-Match`` (428 when the header is missing;
    a value that names no version is never current, so the service answers 412)."""
    value = request.headers.get("If-Match")
    if not value:
        raise PreconditionRequired()
    return version_of_etag(value)


def with_etag(response: Response, obj) -> Response:
    """``response`` with the ``ETag`` of ``obj``, to send back as If-Match."""
    response["ETag"] = etag(obj)
    return response


__all__ = ["IF_MATCH", "described", "exception_handler", "filterset_parameters", "form_errors",
           "if_match_version", "status", "with_etag"]

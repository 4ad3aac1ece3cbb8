from django.core.exceptions import PermissionDenied
from django.http import Http404


class ApplicationError(Exception):
    """A rule of the domain refused the request (bad state, not allowed, conflict).

    Services raise it with a message meant for the user; views turn it into a
    message on the page and the API into a 400 (or the given status).
    ``field`` names the input the message belongs to, when there is one.
    """

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None, status_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if status_code is not None:
            self.status_code = status_code


class PermissionDeniedError(ApplicationError, PermissionDenied):
    """Also a Django PermissionDenied: uncaught in a page view, it renders the 403 page."""

    status_code = 403


class NotFoundError(ApplicationError, Http404):
    """Also an Http404: uncaught in a page view, it renders the 404 page."""

    status_code = 404


class ConflictError(ApplicationError):
    """The object's state refuses the request (a decided approval, a closed escalation...)."""

    status_code = 409


class StaleVersionError(ApplicationError):
    """Someone else saved the object since this form or request read it
    (``cat4.common.versioning``)."""

    status_code = 412

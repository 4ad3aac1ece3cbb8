"""Small helpers shared by page views."""

from django import forms

from .exceptions import ApplicationError


def add_form_error(form: forms.Form, exc: ApplicationError) -> None:
    """Show a service's refusal on the field it names (or on the form)."""
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)

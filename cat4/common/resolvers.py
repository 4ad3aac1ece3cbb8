"""Ids from outside resolved inside one organisation: an id of another organisation is
indistinguishable from a missing one."""

from django.db.models import Model, QuerySet
from django.http import Http404

__all__ = ["object_in_org", "object_in_org_or_404"]


def object_in_org(model_or_queryset: type[Model] | QuerySet, *, organization, ref):
    """The object of this model (or queryset) with this id inside ``organization``, or
    None. ``ref`` is an id, or an object whose ``pk`` is taken."""
    queryset = (model_or_queryset._default_manager.all()
                if isinstance(model_or_queryset, type) else model_or_queryset)
    return queryset.filter(organization=organization, pk=getattr(ref, "pk", ref)).first()


def object_in_org_or_404(model_or_queryset: type[Model] | QuerySet, *, organization, ref,
                         message: str = "Not found."):
    """As ``object_in_org``, but a missing object is an Http404 (the 404 page; the API's
    plain 404)."""
    found = object_in_org(model_or_queryset, organization=organization, ref=ref)
    if found is None:
        raise Http404(message)
    return found

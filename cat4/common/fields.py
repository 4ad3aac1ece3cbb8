"""Form fields shared by the apps' forms."""

from django import forms

from .widgets import QuickSelect

__all__ = ["MemberChoiceField"]


class MemberChoiceField(forms.ModelChoiceField):
    """A person of the organisation, shown as "Name (email)". Its queryset is the
    organisation's members (``cat4.tenancy.selectors.member_users``), so anyone else
    is not a valid choice."""

    widget = QuickSelect  # an organisation can have hundreds of members

    def label_from_instance(self, obj):
        return f"{obj.full_name} ({obj.email})"

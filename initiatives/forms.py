"""Page forms. Every choice field's queryset is scoped to the organisation, so an
id of another organisation is simply not a valid choice."""

from django import forms

from cat4.common.fields import MemberChoiceField
from cat4.common.widgets import DateInput
from cat4.tenancy.models import Organization, User
from cat4.tenancy.selectors import member_users

from .models import (
    BusinessUnit,
    Cadence,
    Confidence,
    Function,
    ImpactCategory,
    Initiative,
    Program,
    RiskStatus,
    StrategicObjective,
)


class InitiativeForm(forms.Form):
    code = forms.CharField(max_length=20, help_text="Unique in the organisation, e.g. NW-042.")
    title = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}))
    program = forms.ModelChoiceField(queryset=Program.objects.none())
    owner = MemberChoiceField(queryset=User.objects.none())
    sponsor = MemberChoiceField(queryset=User.objects.none(), required=False)
    controller = MemberChoiceField(queryset=User.objects.none(), required=False)
    business_unit = forms.ModelChoiceField(queryset=BusinessUnit.objects.none(), required=False)
    function = forms.ModelChoiceField(queryset=Function.objects.none(), required=False)
    objectives = forms.ModelMultipleChoiceField(queryset=StrategicObjective.objects.none(),
                                                required=False,
                                                widget=forms.CheckboxSelectMultiple)
    start_date = forms.DateField(widget=DateInput())
    target_date = forms.DateField(widget=DateInput(),
                                  help_text="The end of the value horizon.")
    # Not required: a form posted without it keeps the initiative's cadence (or, for a
    # new one, the monthly default); the select itself always sends a value.
    update_cadence_days = forms.TypedChoiceField(
        choices=Cadence.choices, coerce=int, required=False, empty_value=None,
        initial=Cadence.MONTHLY, label="Status updates",
        help_text="How often the owner posts a status update. Past the due date the "
                  "initiative is stale and never shows green.")
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, organization: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        members = member_users(organization)
        self.fields["program"].queryset = Program.objects.filter(organization=organization)
        for name in ("owner", "sponsor", "controller"):
            self.fields[name].queryset = members
        self.fields["business_unit"].queryset = BusinessUnit.objects.filter(
            organization=organization)
        self.fields["function"].queryset = Function.objects.filter(organization=organization)
        self.fields["objectives"].queryset = StrategicObjective.objects.filter(
            organization=organization)

    def clean(self):
        cleaned = super().clean()
        start, target = cleaned.get("start_date"), cleaned.get("target_date")
        if start and target and target < start:
            self.add_error("target_date", "The target date must not be before the start date.")
        return cleaned


class MilestoneForm(forms.Form):
    title = forms.CharField(max_length=200)
    due_date = forms.DateField(widget=DateInput())
    weight = forms.IntegerField(min_value=0, max_value=100, initial=1,
                                help_text="Its share of the work, for % complete.")
    done_date = forms.DateField(widget=DateInput(), required=False)
    waived = forms.BooleanField(required=False)
    waiver_reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class MilestoneEditForm(MilestoneForm):
    """An existing milestone, with the version the editor read."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class ImpactLineForm(forms.Form):
    category = forms.ChoiceField(choices=ImpactCategory.choices)
    description = forms.CharField(max_length=200)
    recurring = forms.BooleanField(required=False, initial=True)
    ebit_relevant = forms.BooleanField(required=False, initial=True, label="EBIT-relevant")


class StatusUpdateForm(forms.Form):
    narrative = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}),
                                help_text="What happened, what is next, what you need.")
    confidence = forms.ChoiceField(choices=Confidence.choices,
                                   help_text="How sure are you of the plan's dates and value?")
    rag_override = forms.ChoiceField(
        required=False, label="Override the calculated status",
        choices=[("", "No override"), ("green", "Green"), ("amber", "Amber"), ("red", "Red")])
    override_reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                      label="Reason for the override")


class DependencyForm(forms.Form):
    depends_on = forms.ModelChoiceField(queryset=None, label="Depends on",
                                        help_text="The initiative that must deliver first.")
    need_by = forms.DateField(widget=DateInput(), label="Needed by")
    note = forms.CharField(max_length=200, required=False,
                           help_text="What exactly is needed, e.g. “new WMS live in Leipzig”.")

    def __init__(self, *args, organization: Organization, initiative, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["depends_on"].queryset = (Initiative.objects.filter(
            organization=organization).exclude(pk=initiative.pk).order_by("code"))


RATING = [(i, f"{i} – {label}") for i, label in
          enumerate(["rare / minor", "unlikely / moderate", "possible / serious",
                     "likely / major", "almost certain / severe"], start=1)]


class RiskForm(forms.Form):
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    probability = forms.TypedChoiceField(choices=RATING, coerce=int)
    impact = forms.TypedChoiceField(choices=RATING, coerce=int)
    owner = MemberChoiceField(queryset=User.objects.none(), label="Risk owner")
    mitigation = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    status = forms.ChoiceField(choices=RiskStatus.choices, initial=RiskStatus.OPEN)

    def __init__(self, *args, organization: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = member_users(organization)


class RiskEditForm(RiskForm):
    """An existing risk, with the version the editor read."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

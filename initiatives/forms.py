"""Page forms. Every choice field's queryset is scoped to the organisation, so an
id of another organisation is simply not a valid choice."""

from datetime import date

from django import forms

from cat4.common.widgets import QuickSelect
from cat4.tenancy.models import Organization, User

from .models import (
    BusinessUnit,
    Cadence,
    Confidence,
    Function,
    ImpactCategory,
    Portfolio,
    Program,
    RiskStatus,
    Stage,
    StrategicObjective,
)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


def members_of(organization: Organization):
    return User.objects.filter(memberships__organization=organization).order_by("full_name")


class MemberChoiceField(forms.ModelChoiceField):
    widget = QuickSelect  # an organisation can have hundreds of members

    def label_from_instance(self, obj):
        return f"{obj.full_name} ({obj.email})"


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
        members = members_of(organization)
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
        from .models import Initiative

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
        self.fields["owner"].queryset = members_of(organization)


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))


class GateSubmitForm(forms.Form):
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}),
                              help_text="What the approvers should know.")
    confirmed = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple,
                                          label="Checklist")

    def __init__(self, *args, checklist=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["confirmed"].choices = [(str(c.criterion_id), c.label) for c in checklist]
        if not checklist:
            del self.fields["confirmed"]


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approved", "Approve"), ("rejected", "Reject")])
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                              help_text="Required when you reject.")


class InitiativeFilterForm(forms.Form):
    """The initiative list's filters, also those of its exports (page and API) and of the
    initiatives API list. Every id is resolved inside the organisation: an id of another
    organisation is a field error ("Select a valid choice"), never a lookup outside it."""

    q = forms.CharField(required=False, label="Search")
    stage = forms.ChoiceField(required=False, choices=[("", "All stages"), *Stage.choices])
    portfolio = forms.ModelChoiceField(queryset=Portfolio.objects.none(), required=False,
                                       empty_label="All portfolios")
    program = forms.ModelChoiceField(queryset=Program.objects.none(), required=False,
                                     empty_label="All programs")
    business_unit = forms.ModelChoiceField(queryset=BusinessUnit.objects.none(),
                                           required=False, empty_label="All business units",
                                           label="Business unit")
    owner = MemberChoiceField(queryset=User.objects.none(), required=False,
                              empty_label="All owners")
    sort = forms.ChoiceField(required=False, choices=[
        ("code", "Code"), ("title", "Title"), ("stage", "Stage"), ("target", "Target date"),
        ("-target", "Target date, latest first"), ("owner", "Owner")])

    ID_FIELDS = ("portfolio", "program", "business_unit", "owner")

    def __init__(self, *args, organization: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["portfolio"].queryset = Portfolio.objects.filter(organization=organization)
        self.fields["program"].queryset = Program.objects.filter(organization=organization)
        self.fields["business_unit"].queryset = BusinessUnit.objects.filter(
            organization=organization)
        self.fields["owner"].queryset = members_of(organization)

    def list_filters(self) -> dict:
        """Keyword arguments of ``initiatives.selectors.initiative_list`` from the valid
        fields (an invalid field is left out, and shows its error on the page; callers
        that must refuse invalid input check ``is_valid()`` first)."""
        cleaned = {}
        if self.is_bound:
            self.is_valid()  # an invalid field is not in cleaned_data
            cleaned = self.cleaned_data
        filters = {name: cleaned[name].pk if cleaned.get(name) else None
                   for name in self.ID_FIELDS}
        return {"stage": cleaned.get("stage") or "", **filters,
                "query": cleaned.get("q") or "", "sort": cleaned.get("sort") or "code"}


def parse_month_key(key: str) -> date | None:
    """"2026-03" -> date(2026, 3, 1); anything else -> None."""
    try:
        year, month = key.split("-")
        return date(int(year), int(month), 1)
    except (ValueError, TypeError):
        return None

"""Governance page forms: gate actions and decisions, the decision log, evidence,
notification preferences, escalations and their rules, and the governance settings.
Every choice field's queryset is scoped to the organisation."""

from decimal import Decimal

from django import forms

from cat4.common.widgets import DateInput
from initiatives.models import ActualsEntry, Initiative, Portfolio

from . import selectors
from .models import (
    GATE_CHOICES,
    ApproverRole,
    Condition,
    Delivery,
    EscalationRule,
    EscalationState,
    Level,
    NotificationKind,
)

# --- Gate actions and decisions -------------------------------------------------------


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


class DecisionEntryForm(forms.Form):
    date = forms.DateField(widget=DateInput())
    forum = forms.CharField(max_length=120, initial="Steering committee")
    decision = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    options_considered = forms.CharField(required=False,
                                         widget=forms.Textarea(attrs={"rows": 2}))
    initiatives = forms.ModelMultipleChoiceField(queryset=None, required=False,
                                                 help_text="Hold Ctrl (or Cmd) for several.")

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["initiatives"].queryset = Initiative.objects.filter(
            organization=organization).order_by("code")


class EvidenceForm(forms.Form):
    file = forms.FileField(help_text="PDF, Word, Excel, PowerPoint, PNG, JPEG, CSV or text; "
                                     "at most 15 MB.")
    description = forms.CharField(max_length=200, required=False,
                                  help_text="For example “Business case v3, signed”.")


class NotificationPreferencesForm(forms.Form):
    """One choice per notification kind: its email at once or in the daily digest."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for kind in NotificationKind:
            self.fields[kind.value] = forms.ChoiceField(
                choices=Delivery.choices, label=kind.label, widget=forms.RadioSelect)


# --- Escalations -----------------------------------------------------------------------

STATE_CHOICES = [
    (selectors.UNRESOLVED, "Unresolved (open or acknowledged)"),
    (EscalationState.OPEN, "Open"),
    (EscalationState.ACKNOWLEDGED, "Acknowledged"),
    (EscalationState.RESOLVED, "Resolved"),
    ("all", "All states"),
]


class EscalationFilterForm(forms.Form):
    state = forms.ChoiceField(required=False, choices=STATE_CHOICES)
    level = forms.TypedChoiceField(required=False, coerce=int, empty_value=None,
                                   choices=[("", "All levels"), *Level.choices])
    rule = forms.ModelChoiceField(queryset=EscalationRule.objects.none(), required=False,
                                  empty_label="All rules")

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rule"].queryset = selectors.escalation_rules(organization=organization)


class CommentForm(forms.Form):
    # Not required here: the service says what the comment is for, on this field.
    comment = forms.CharField(required=False, max_length=5000,
                              widget=forms.Textarea(attrs={"rows": 3}))


class EscalationRuleForm(forms.Form):
    name = forms.CharField(max_length=120, error_messages={
        "required": "Give the rule a name, e.g. “Stale initiatives”."})
    condition = forms.ChoiceField(choices=Condition.choices)
    # Ranges are checked by the service, which names the condition's own limits.
    threshold = forms.DecimalField(required=False, label="N (threshold)",
                                   help_text="The N of the condition: see the table of "
                                             "conditions. Leave empty for Financial RAG red.")
    promote_after_days = forms.IntegerField(label="Promote after (days)", initial=5,
                                            help_text="Days unresolved at a level before it "
                                                      "moves up (1 to 365).")
    top_level = forms.TypedChoiceField(choices=Level.choices, coerce=int, initial=Level.STEERING,
                                       label="Highest level")
    active = forms.BooleanField(required=False, initial=True, label="Active")


# --- Governance settings (admins) ------------------------------------------------------

PCT = {"min_value": Decimal("1"), "max_value": Decimal("100"), "decimal_places": 1,
       "max_digits": 4}


class ValueSettingsForm(forms.Form):
    green_at = forms.DecimalField(label="Green from (% of plan)", **PCT)
    red_below = forms.DecimalField(label="Red below (% of plan)", **PCT,
                                   help_text="Between the two is amber.")
    actuals_entry = forms.ChoiceField(choices=ActualsEntry.choices, label="Actuals",
                                      widget=forms.RadioSelect)


class ChecklistForm(forms.Form):
    gate = forms.ChoiceField(choices=GATE_CHOICES)
    label = forms.CharField(max_length=200, label="Checklist item")


class ApproversForm(forms.Form):
    roles = forms.MultipleChoiceField(choices=ApproverRole.choices, required=False,
                                      widget=forms.CheckboxSelectMultiple, label="Approvers")


class ListItemForm(forms.Form):
    name = forms.CharField(max_length=200)
    code = forms.CharField(max_length=20, required=False)
    portfolio = forms.ModelChoiceField(queryset=Portfolio.objects.none(), required=False)

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["portfolio"].queryset = Portfolio.objects.filter(organization=organization)

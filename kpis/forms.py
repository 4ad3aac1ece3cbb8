from django import forms

from cat4.common.fields import MemberChoiceField
from cat4.common.widgets import DateInput
from cat4.tenancy.models import Organization
from cat4.tenancy.selectors import member_users
from initiatives.models import Initiative, StrategicObjective

from .models import Direction, Frequency


class KpiForm(forms.Form):
    name = forms.CharField(max_length=200)
    unit = forms.CharField(max_length=30, help_text="For example %, days, EUR or t CO2.")
    direction = forms.ChoiceField(choices=Direction.choices)
    frequency = forms.ChoiceField(choices=Frequency.choices, initial=Frequency.MONTHLY)
    baseline = forms.DecimalField(max_digits=18, decimal_places=4)
    baseline_date = forms.DateField(widget=DateInput())
    target = forms.DecimalField(max_digits=18, decimal_places=4)
    target_date = forms.DateField(widget=DateInput())
    owner = MemberChoiceField(queryset=None, help_text="Enters the readings.")
    green_at = forms.DecimalField(
        label="Green at", required=False, max_digits=4, decimal_places=3,
        help_text="A share of the expected performance, e.g. 0.95: a reading at or above it "
                  "is green. Give both thresholds, or leave both empty to use the "
                  "organisation's value rules.")
    red_below = forms.DecimalField(
        label="Red below", required=False, max_digits=4, decimal_places=3,
        help_text="A share such as 0.85: below it a reading is red; between the two it is "
                  "amber. Empty (with green at empty too) means the organisation's value "
                  "rules apply.")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, organization: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = member_users(organization)


class KpiEditForm(KpiForm):
    """The definition of an existing KPI, with the version the editor read."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class ReadingForm(forms.Form):
    period = forms.DateField(widget=DateInput(),
                             help_text="The first day of the period (Monday, 1st of the month "
                                       "or of the quarter).")
    value = forms.DecimalField(max_digits=18, decimal_places=4)
    comment = forms.CharField(required=False, max_length=500)


class ReadingsUploadForm(forms.Form):
    file = forms.FileField(help_text="CSV with the columns period,value and optionally "
                                     "comment; at most 5,000 rows.")


class KpiLinkForm(forms.Form):
    """Link a KPI to one initiative or one strategic objective of the organisation."""

    initiative = forms.ModelChoiceField(queryset=Initiative.objects.none(), required=False,
                                        empty_label="— none —")
    objective = forms.ModelChoiceField(queryset=StrategicObjective.objects.none(),
                                       required=False, empty_label="— none —",
                                       label="Strategic objective",
                                       help_text="Choose an initiative or an objective.")
    weight = forms.DecimalField(max_digits=5, decimal_places=2, initial="1",
                                help_text="How much this KPI counts for it, e.g. 1 or 0.5.")

    def __init__(self, *args, organization: Organization, **kwargs):
        super().__init__(*args, prefix="link", **kwargs)
        self.fields["initiative"].queryset = (
            Initiative.objects.filter(organization=organization).order_by("code"))
        self.fields["objective"].queryset = (
            StrategicObjective.objects.filter(organization=organization).order_by("code"))
        self.fields["initiative"].label_from_instance = lambda i: f"{i.code} {i.title}"

from django import forms

from cat4.tenancy.models import Organization
from initiatives.forms import DateInput, MemberChoiceField, members_of

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
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, organization: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = members_of(organization)


class ReadingForm(forms.Form):
    period = forms.DateField(widget=DateInput(),
                             help_text="The first day of the period (Monday, 1st of the month "
                                       "or of the quarter).")
    value = forms.DecimalField(max_digits=18, decimal_places=4)
    comment = forms.CharField(required=False, max_length=500)


class ReadingsUploadForm(forms.Form):
    file = forms.FileField(help_text="CSV with the columns period,value and optionally "
                                     "comment; at most 5,000 rows.")

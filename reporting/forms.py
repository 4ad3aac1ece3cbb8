"""Page forms of reporting. The filters are filter sets (``reporting.filters``); a form
here is the part of a page's form that is not a filter."""

from django import forms

from cat4.common.widgets import DateInput


class BoardPackRequestForm(forms.Form):
    """The title and the date the appendix starts from; ``BoardPackFilterSet`` adds the
    dashboard's filters after them."""

    title = forms.CharField(max_length=200, initial="Steering committee board pack")
    changes_since = forms.DateField(widget=DateInput(), label="Changes since",
                                    help_text="For example the last steering committee.")

"""QuickSelect renders what Django's Select renders (without the whitespace between
tags), only faster."""

import re

import pytest
from django import forms

from cat4.common.widgets import QuickSelect

CHOICES = [("", "All owners"), (1, "Ada <ada@example.test>"), (2, 'Bo "B" & Co'),
           ("Group", [(3, "Cy"), (4, "Di")])]


@pytest.mark.parametrize("value", [None, "", 2, "4", [1]])
@pytest.mark.parametrize("attrs", [None, {"id": "id_owner", "required": True,
                                          "aria-invalid": "true", "hx-get": "/x?a=1&b=2"}])
def test_the_same_markup_as_django(value, attrs):
    django_html = forms.Select(choices=CHOICES).render("owner", value, attrs)
    assert (QuickSelect(choices=CHOICES).render("owner", value, attrs)
            == re.sub(r">\s+<", "><", django_html))


def test_text_is_escaped():
    html = QuickSelect(choices=CHOICES).render("owner", None)
    assert "Ada &lt;ada@example.test&gt;" in html and "Bo &quot;B&quot; &amp; Co" in html

"""Filtered list pages answer an htmx swap with the results alone and everything else
with the whole page, at the same URL. So they must vary on HX-Request (or the browser's
cache serves the bare results for a Back navigation), and a history restore by htmx
gets the whole page."""

import pytest
from django.urls import reverse

from cat4.tenancy.models import Role
from tests.conftest import client_for

LISTS = ["initiative_list", "escalation_list", "dashboard", "dashboard_initiatives"]


@pytest.mark.django_db
@pytest.mark.parametrize("name", LISTS)
def test_filtered_lists_vary_on_htmx_and_restore_whole_pages(world, name):
    client = client_for(world.a[Role.EXECUTIVE].user)
    url = reverse(name, kwargs={"org_slug": world.org_a.slug})

    page = client.get(url)
    assert page.status_code == 200 and b"<html" in page.content
    assert "HX-Request" in page["Vary"]

    swap = client.get(url, headers={"HX-Request": "true"})
    assert swap.status_code == 200 and b"<html" not in swap.content
    assert "HX-Request" in swap["Vary"]

    restore = client.get(url, headers={"HX-Request": "true",
                                       "HX-History-Restore-Request": "true"})
    assert restore.status_code == 200 and b"<html" in restore.content

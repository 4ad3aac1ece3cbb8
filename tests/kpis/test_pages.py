"""KPI pages: list with status and trend in constant queries, detail with the chart
data and the same numbers as a table, reading entry and CSV upload errors."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scopes_disabled

from cat4.tenancy.models import Role
from kpis import services
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def make_kpi(world, name, readings=()):
    kpi = services.kpi_create(
        membership=world.a[Role.ADMIN].membership, name=name, unit="%", direction="higher",
        baseline="80", baseline_date=dt.date(2026, 1, 1), target="90",
        target_date=dt.date(2026, 11, 1), owner=world.a[Role.OWNER].user)
    for period, value in readings:
        services.reading_record(membership=world.a[Role.OWNER].membership, kpi_id=kpi.pk,
                                period=period, value=value)
    with scopes_disabled():
        services.kpi_recompute(kpi_id=kpi.pk)
    return kpi


READINGS = [(dt.date(2026, m, 1), str(80 + m)) for m in range(1, 7)]


def url(name, **kwargs):
    return reverse(name, kwargs={"org_slug": "acme", **kwargs})


def test_list_shows_status_trend_and_staleness_in_constant_queries(
        world, django_assert_max_num_queries):
    make_kpi(world, "On-time delivery", READINGS)
    client = client_for(world.a[Role.VIEWER].user)
    with CaptureQueriesContext(connection) as few:
        body = client.get(url("kpi_list")).content.decode()
    assert "On-time delivery" in body and "<polyline" in body
    assert "Stale" in body  # the last reading is for June; today is later
    for n in range(20):
        make_kpi(world, f"KPI {n}", READINGS[:3])
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url("kpi_list")).status_code == 200


def test_detail_has_chart_data_and_the_same_numbers_in_a_table(world):
    kpi = make_kpi(world, "On-time delivery", READINGS)
    body = client_for(world.a[Role.VIEWER].user).get(url("kpi_detail", kpi_id=kpi.pk)
                                                     ).content.decode()
    assert 'id="kpi-chart-data"' in body and '"Expected path"' in body
    assert "<th scope=\"row\">2026-06</th>" in body and "86 %" in body
    assert "on this trend" in body
    assert "Enter a reading" not in body  # viewers do not record


def test_reading_errors_are_on_the_field(world):
    kpi = make_kpi(world, "On-time delivery")
    client = client_for(world.a[Role.OWNER].user)
    response = client.post(url("reading_add", kpi_id=kpi.pk),
                           {"period": "2026-02-14", "value": "81"})
    assert response.status_code == 400
    assert "Monthly periods start on 2026-02-01" in response.content.decode()
    response = client.post(url("reading_add", kpi_id=kpi.pk),
                           {"period": "2026-02-01", "value": "lots"})
    assert response.status_code == 400 and "Enter a number." in response.content.decode()


def test_csv_upload_lists_the_bad_rows(world):
    kpi = make_kpi(world, "On-time delivery")
    upload = SimpleUploadedFile("r.csv", b"period,value\n2026-01-01,81\nMarch,x\n")
    response = client_for(world.a[Role.OWNER].user).post(
        url("readings_upload", kpi_id=kpi.pk), {"file": upload})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Problems in the file" in body and "is not a date like 2026-03-01" in body


def test_a_non_utf8_file_gets_a_message_not_a_500(world):
    kpi = make_kpi(world, "On-time delivery")
    upload = SimpleUploadedFile("r.csv", "period,value\n2026-01-01,8\xe9\n".encode("latin-1"))
    response = client_for(world.a[Role.OWNER].user).post(
        url("readings_upload", kpi_id=kpi.pk), {"file": upload})
    assert response.status_code == 400
    assert "UTF-8" in response.content.decode()

"""Pages and API of the Excel import: upload with the error on the field, the report
table and buttons, htmx polling while a job runs, import, downloads, and the link from
the initiative list."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scopes_disabled

from cat4.tenancy.models import Role
from initiatives.models import Initiative
from reporting.models import ImportJob, ImportStatus
from tests.conftest import api_client_for, client_for
from tests.factories import MembershipFactory
from tests.reporting.import_workbooks import clean_file, initiative, read, upload, workbook

pytestmark = pytest.mark.django_db


def url(name, **kwargs):
    return reverse(name, kwargs={"org_slug": "acme", **kwargs})


def api(name, **kwargs):
    return url(name, **kwargs)


def mixed_file():
    return workbook([initiative(), initiative(code="AC-202", program="Foo")])


def test_list_page_has_upload_form_and_template_link(world):
    body = client_for(world.a[Role.ADMIN].user).get(url("import_list")).content.decode()
    assert 'enctype="multipart/form-data"' in body and 'name="file"' in body
    assert url("import_template") in body
    assert "No imports yet." in body


def test_template_download_is_an_xlsx(world):
    response = client_for(world.a[Role.ADMIN].user).get(url("import_template"))
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    assert list(read(response.content)) == ["Instructions", "Initiatives", "Values", "Lists"]


@pytest.mark.parametrize(("content", "message"), [
    (b"code,title\nAC-1,Freight\n", "text (CSV) file"),
    (workbook([initiative()], initiatives_title="Data"), "no sheet named “Initiatives”"),
])
def test_malformed_upload_shows_the_message_on_the_field(world, content, message):
    response = client_for(world.a[Role.ADMIN].user).post(
        url("import_list"), {"file": upload(content)})
    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="id_file_error"' in body and message in body
    with scopes_disabled():
        assert not ImportJob.objects.exists()


def test_upload_then_report_then_import_valid_rows(world):
    client = client_for(world.a[Role.ADMIN].user)
    response = client.post(url("import_list"), {"file": upload(mixed_file())})
    assert response.status_code == 302
    with scopes_disabled():
        job = ImportJob.objects.get()
    assert response["Location"] == url("import_detail", import_id=job.pk)
    body = client.get(response["Location"]).content.decode()
    assert "<td>Initiatives</td><td class=\"num\">3</td><td>program</td>" in body
    assert "program “Foo” does not exist in this organisation." in body
    assert "Import everything</button>" in body and " disabled aria-describedby" in body
    assert "Import valid rows (1)" in body
    assert url("import_rejected", import_id=job.pk) in body
    assert "hx-trigger" not in body  # nothing is running: no polling
    response = client.post(url("import_run", import_id=job.pk), {"mode": "all"}, follow=True)
    assert "found 1 problem" in response.content.decode()
    response = client.post(url("import_run", import_id=job.pk), {"mode": "valid"}, follow=True)
    body = response.content.decode()
    assert "Imported: 1 created, 0 updated, 0 unchanged, 1 row(s) rejected." in body
    with scopes_disabled():
        assert Initiative.objects.filter(code="AC-201").exists()
    rejected = client.get(url("import_rejected", import_id=job.pk))
    sheets = read(b"".join(rejected.streaming_content))
    assert sheets["Initiatives"][1][0] == "AC-202"


def test_clean_dry_run_enables_import_everything(world):
    client = client_for(world.a[Role.ADMIN].user)
    response = client.post(url("import_list"), {"file": upload(clean_file())}, follow=True)
    body = response.content.decode()
    assert "no problems found" in body and "Import valid rows (5)" in body
    assert 'class="button primary">Import everything</button>' in body  # not disabled
    assert "all-why" not in body


def test_list_queries_do_not_grow_with_the_number_of_imports(world):
    with scopes_disabled():
        other_admin = MembershipFactory(organization=world.org_a, role=Role.ADMIN).user
    page_client = client_for(world.a[Role.ADMIN].user)
    api_client = api_client_for(world.a[Role.ADMIN].user)

    def queries():
        with CaptureQueriesContext(connection) as page:
            assert page_client.get(url("import_list")).status_code == 200
        with CaptureQueriesContext(connection) as api_:
            assert api_client.get(api("api_import_list")).status_code == 200
        return len(page), len(api_)

    page_client.post(url("import_list"), {"file": upload(clean_file())})
    one = queries()
    for user in (world.a[Role.ADMIN].user, other_admin, other_admin):
        client_for(user).post(url("import_list"), {"file": upload(mixed_file())})
    with scopes_disabled():
        assert ImportJob.objects.count() == 4
    assert queries() == one


def test_another_organisations_admin_cannot_reach_an_import_by_its_id(world):
    client = client_for(world.a[Role.ADMIN].user)
    client.post(url("import_list"), {"file": upload(mixed_file())})
    with scopes_disabled():
        job = ImportJob.objects.get()
        b_admin = MembershipFactory(organization=world.org_b, role=Role.ADMIN).user

    def b(name, **kwargs):
        return reverse(name, kwargs={"org_slug": "globex", **kwargs})

    pages = client_for(b_admin)
    assert pages.get(b("import_detail", import_id=job.pk)).status_code == 404
    assert pages.get(b("import_rejected", import_id=job.pk)).status_code == 404
    assert pages.post(b("import_run", import_id=job.pk), {"mode": "valid"}).status_code == 404
    assert job.file_name not in pages.get(b("import_list")).content.decode()
    client_api = api_client_for(b_admin)
    assert client_api.get(b("api_import_detail", import_id=job.pk)).status_code == 404
    assert client_api.get(b("api_import_rejected", import_id=job.pk)).status_code == 404
    assert client_api.post(b("api_import_run", import_id=job.pk), {"mode": "valid"},
                           format="json").status_code == 404
    assert client_api.get(b("api_import_list")).json() == []
    with scopes_disabled():
        job.refresh_from_db()
        assert job.status == ImportStatus.CHECKED
        assert not Initiative.objects.filter(code="AC-201").exists()


def test_running_job_is_polled_every_two_seconds_with_htmx(world):
    client = client_for(world.a[Role.ADMIN].user)
    client.post(url("import_list"), {"file": upload(clean_file())})
    with scopes_disabled():
        job = ImportJob.objects.get()
        ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.CHECKING, progress=40)
    page = client.get(url("import_detail", import_id=job.pk)).content.decode()
    assert 'hx-trigger="every 2s"' in page and 'value="40"' in page
    partial = client.get(url("import_detail", import_id=job.pk), HTTP_HX_REQUEST="true")
    body = partial.content.decode()
    assert body.lstrip().startswith('<div id="import-job"') and "<html" not in body
    assert 'hx-trigger="every 2s"' in body


def test_initiative_list_links_to_imports_for_admins_only(world):
    link = url("import_list")
    assert link in client_for(world.a[Role.ADMIN].user).get(url("initiative_list")
                                                             ).content.decode()
    for role in (Role.EXECUTIVE, Role.OWNER, Role.VIEWER):
        assert link not in client_for(world.a[role].user).get(url("initiative_list")
                                                              ).content.decode()


# --- API --------------------------------------------------------------------------------


def test_api_upload_report_import_and_downloads(world):
    client = api_client_for(world.a[Role.ADMIN].user)
    response = client.post(api("api_import_list"), {"file": upload(mixed_file())},
                           format="multipart")
    assert response.status_code == 201, response.content
    job = response.json()
    assert job["status"] == "checked" and job["valid_rows"] == 1
    assert job["problems"] == [{"sheet": "Initiatives", "row": 3, "column": "program",
                                "message": "program “Foo” does not exist in this "
                                           "organisation."}]
    assert job["has_rejected_rows"] is True and job["summary"] is None
    detail = client.get(api("api_import_detail", import_id=job["id"])).json()
    assert detail["problems"] == job["problems"]
    refused = client.post(api("api_import_run", import_id=job["id"]), {"mode": "all"},
                          format="json")
    assert refused.status_code == 409 and "found 1 problem" in refused.json()["mode"][0]
    done = client.post(api("api_import_run", import_id=job["id"]), {"mode": "valid"},
                       format="json")
    assert done.status_code == 200
    assert done.json()["summary"]["created"] == 1
    rejected = client.get(api("api_import_rejected", import_id=job["id"]))
    assert read(b"".join(rejected.streaming_content))["Initiatives"][1][-1].startswith(
        "program “Foo”")
    template = client.get(api("api_import_template"))
    assert template.status_code == 200 and "Values" in read(template.content)
    listed = client.get(api("api_import_list")).json()
    assert [j["id"] for j in listed] == [job["id"]] and "problems" not in listed[0]


def test_api_malformed_file_is_a_400_on_file(world):
    client = api_client_for(world.a[Role.ADMIN].user)
    response = client.post(api("api_import_list"),
                           {"file": upload(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 99)},
                           format="multipart")
    assert response.status_code == 400
    assert "old-format Excel file (.xls)" in response.json()["file"][0]


def test_api_rejected_download_is_404_without_rejected_rows(world):
    client = api_client_for(world.a[Role.ADMIN].user)
    job = client.post(api("api_import_list"), {"file": upload(clean_file())},
                      format="multipart").json()
    assert client.get(api("api_import_rejected", import_id=job["id"])).status_code == 404

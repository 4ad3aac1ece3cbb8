"""API for history, re-baselines, evidence and the gate / value settings."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scopes_disabled

from cat4.tenancy.models import Role
from governance.models import Evidence, GateCriterion
from initiatives.models import MonthlyValue, Stage, ValueSettings
from tests.conftest import api_client_for
from tests.governance.conftest import add_plan
from tests.initiatives.support import drive_to

pytestmark = pytest.mark.django_db
BASE = "/api/v1/o/acme"


def test_history_lists_changes_with_who(world):
    owner = api_client_for(world.a[Role.OWNER].user)
    url = f"{BASE}/initiatives/{world.initiative.pk}/"
    owner.patch(url, {"title": "Renamed"}, format="json",
                HTTP_IF_MATCH=owner.get(url)["ETag"])
    history = owner.get(f"{url}history/").json()
    renamed = [e for e in history if "title" in e["changes"]]
    assert len(renamed) == 1
    assert (renamed[0]["what"], renamed[0]["actor"]) == ("Initiative", "Acme Owner")


def test_rebaseline_round_trip_and_bad_months(world, initiative):
    line = add_plan(initiative)
    drive_to(world, initiative, Stage.DECIDED)
    owner = api_client_for(world.a[Role.OWNER].user)
    url = f"{BASE}/initiatives/{initiative.pk}/rebaselines/"
    bad = owner.post(url, {"reason": "x", "values": {str(line.pk): {"March": "1"}}},
                     format="json")
    assert bad.status_code == 400 and "values.March" in bad.json()
    float_cell = owner.post(url, {"reason": "x", "values": {str(line.pk): {"2026-01": 1.5}}},
                            format="json")
    assert float_cell.status_code == 400
    created = owner.post(url, {"reason": "Volumes fell",
                               "values": {str(line.pk): {"2026-01": "700.00"}}}, format="json")
    assert created.status_code == 201
    decision_url = f"{BASE}/rebaselines/{created.json()['id']}/decision/"
    assert owner.post(decision_url, {"decision": "approved"},
                      format="json").status_code == 403
    controller = api_client_for(world.a[Role.CONTROLLER].user)
    assert controller.post(decision_url, {"decision": "approved"},
                           format="json").status_code == 200
    with scopes_disabled():
        assert MonthlyValue.objects.get(line=line, kind="planned",
                                        month="2026-01-01").amount == Decimal("700.00")


def test_evidence_upload_refuses_disguised_files_and_downloads(world):
    owner = api_client_for(world.a[Role.OWNER].user)
    url = f"{BASE}/initiatives/{world.initiative.pk}/evidence/"
    refused = owner.post(url, {"file": SimpleUploadedFile("x.pdf", b"MZ\x90")},
                         format="multipart")
    assert refused.status_code == 400 and "file" in refused.json()
    stored = owner.post(url, {"file": SimpleUploadedFile("case.pdf", b"%PDF-1.7 x"),
                              "description": "Business case"}, format="multipart")
    assert stored.status_code == 201
    download = api_client_for(world.a[Role.VIEWER].user).get(
        f"{BASE}/evidence/{stored.json()['id']}/download/")
    assert b"".join(download.streaming_content) == b"%PDF-1.7 x"
    with scopes_disabled():
        assert Evidence.objects.count() == 1


def test_gate_and_value_settings(world):
    admin = api_client_for(world.a[Role.ADMIN].user)
    gates = admin.get(f"{BASE}/settings/gates/").json()
    assert [g["gate"] for g in gates] == ["detailed", "decided", "implemented", "closed"]
    assert admin.put(f"{BASE}/settings/gates/detailed/approvers/", {"roles": []},
                     format="json").status_code == 400
    item = admin.post(f"{BASE}/settings/gates/checklist/",
                      {"gate": "decided", "label": "Works council informed"}, format="json")
    assert item.status_code == 201
    assert admin.patch(f"{BASE}/settings/gates/criteria/{item.json()['id']}/",
                       {"active": False}, format="json",
                       headers={"If-Match": '"v1"'}).json() == {
        "id": item.json()["id"], "active": False}
    bad = admin.put(f"{BASE}/settings/value-rules/",
                    {"green_at": "0.8", "red_below": "0.9", "actuals_entry": "owner"},
                    format="json")
    assert bad.status_code == 400 and "red_below" in bad.json()
    assert admin.put(f"{BASE}/settings/value-rules/",
                     {"green_at": "lots", "red_below": "0.9", "actuals_entry": "owner"},
                     format="json").status_code == 400
    good = admin.put(f"{BASE}/settings/value-rules/",
                     {"green_at": "0.9", "red_below": "0.8", "actuals_entry": "controller"},
                     format="json")
    assert good.status_code == 200 and good.json()["actuals_entry"] == "controller"
    with scopes_disabled():
        assert ValueSettings.objects.get(organization=world.org_a).green_at == Decimal("0.9")
        assert GateCriterion.objects.filter(organization=world.org_b).count() == 8

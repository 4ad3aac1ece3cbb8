"""The Excel import (issue #5): template, malformed files, the dry run's row-level
report, import of everything or of the valid rows, rejected rows, idempotency, value
rules, tenant safety and a run through a real Celery worker."""

import datetime as dt
import io
import zipfile
from decimal import Decimal

import openpyxl
import pytest
from django.apps import apps
from django_scopes import scopes_disabled

from cat4.common.exceptions import ApplicationError, PermissionDeniedError
from cat4.tenancy.models import Role
from initiatives.models import Initiative, MonthlyValue, Program
from reporting import imports
from reporting.models import ImportJob, ImportMode, ImportStatus
from tests.factories import ImpactLineFactory, InitiativeFactory, ProgramFactory
from tests.reporting.import_workbooks import (
    INITIATIVE_HEADER,
    clean_file,
    initiative,
    read,
    upload,
    value,
    workbook,
)

pytestmark = pytest.mark.django_db


def admin(world):
    return world.a[Role.ADMIN].membership


def check(world, content: bytes, name="portfolio.xlsx") -> ImportJob:
    return imports.import_upload(membership=admin(world), upload=upload(content, name))


def problems(job) -> list[tuple]:
    return [(p["sheet"], p["row"], p["column"], p["message"]) for p in job.problems]


def counts():
    with scopes_disabled():
        return (Initiative.objects.count(), MonthlyValue.objects.count(),
                apps.get_model("initiatives", "InitiativeEvent").objects.count(),
                apps.get_model("initiatives", "MonthlyValueEvent").objects.count(),
                apps.get_model("initiatives", "ImpactLineEvent").objects.count())


# --- Template ------------------------------------------------------------------------


def test_template_has_the_sheets_headers_help_lists_and_validations(world):
    with scopes_disabled():
        ProgramFactory(organization=world.org_b, portfolio__organization=world.org_b,
                       name="Globex Secret Program")
    content = imports.template_workbook(organization=world.org_a)
    wb = openpyxl.load_workbook(io.BytesIO(content))
    assert wb.sheetnames == ["Instructions", "Initiatives", "Values", "Lists"]
    ws = wb["Initiatives"]
    assert [c.value for c in ws[1]] == INITIATIVE_HEADER
    assert all(c.comment and c.comment.text for c in ws[1])
    assert [c.value for c in wb["Values"][1]] == ["code", "line", "category", "recurring",
                                                  "month", "kind", "amount"]
    kinds = [dv.formula1 for dv in wb["Values"].data_validations.dataValidation]
    assert '"planned,forecast,actual"' in kinds
    assert any("Lists!$A$2" in (dv.formula1 or "")
               for dv in ws.data_validations.dataValidation)
    lists = [c for row in wb["Lists"].iter_rows(values_only=True) for c in row if c]
    assert "Acme Procurement" in lists and "owner@acme.test" in lists
    assert "Globex Secret Program" not in lists and "executive@globex.test" not in lists
    assert "Paste values only" in " ".join(str(r[0]) for r in wb["Instructions"].values)
    # The template itself uploads cleanly: an empty file is "no rows", not a crash.
    with pytest.raises(imports.FileProblem, match="no rows"):
        check(world, content)


# --- Malformed files -----------------------------------------------------------------


def _encrypted_zip() -> bytes:
    data = bytearray(workbook([initiative()]))
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (start := data.find(signature, start)) != -1:
            data[start + offset] |= 0x1
            start += 4
    return bytes(data)


def _formula() -> bytes:
    wb = openpyxl.load_workbook(io.BytesIO(workbook([initiative()] * 6)))
    wb["Initiatives"]["C7"] = "=A2&B2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _other_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    return out.getvalue()


MALFORMED = [
    ("empty", b"", "The file is empty."),
    ("csv renamed", b"code,title,program\nAC-1,Freight,Ops\n", "text (CSV) file"),
    ("xls old format", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "old-format Excel"),
    ("random bytes", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "not an Excel workbook"),
    ("corrupt zip", b"PK\x03\x04" + b"garbage" * 50, "damaged"),
    ("password zip", None, "password-protected"),
    ("other zip", None, "not an Excel workbook (.xlsx)"),
    ("no Initiatives sheet", None, "no sheet named “Initiatives”"),
    ("missing column", None, "owner_email is missing"),
    ("formula", None, "Cell C7 of sheet Initiatives contains a formula; paste values only"),
]
BUILDERS = {
    "password zip": _encrypted_zip,
    "other zip": _other_zip,
    "no Initiatives sheet": lambda: workbook([initiative()], initiatives_title="Sheet1"),
    "missing column": lambda: workbook(
        [initiative()], initiative_header=[h for h in INITIATIVE_HEADER if h != "owner_email"]),
    "formula": _formula,
}


@pytest.mark.parametrize(("case", "content", "message"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_files_get_a_clear_message_and_store_nothing(world, case, content, message):
    content = BUILDERS[case]() if content is None else content
    with pytest.raises(imports.FileProblem) as refused:
        check(world, content)
    assert message in refused.value.message
    assert refused.value.field == "file"
    with scopes_disabled():
        assert ImportJob.objects.count() == 0


def test_xls_by_name_is_refused_even_before_reading(world):
    with pytest.raises(imports.FileProblem, match=r"\.xls"):
        check(world, b"\xd0\xcf\x11\xe0" + b"\0" * 100, name="old.xls")


def test_too_large_and_too_many_rows(world, monkeypatch):
    with pytest.raises(imports.FileProblem, match="the limit is 10 MB"):
        check(world, b"PK\x03\x04" + b"\0" * (10 * 1024 * 1024))
    monkeypatch.setattr(imports.workbook, "MAX_ROWS", 3)
    rows = [initiative(code=f"AC-{n}") for n in range(5)]
    with pytest.raises(imports.FileProblem, match="the limit is 3 rows"):
        check(world, workbook(rows))  # caught from the sheet's dimension, before reading
    with pytest.raises(imports.FileProblem, match="more than 3 rows"):
        check(world, workbook(rows[:2], [value()] * 2))  # counted over both sheets


def test_only_admins_import(world):
    for role in (Role.EXECUTIVE, Role.OWNER, Role.CONTROLLER, Role.VIEWER):
        with pytest.raises(PermissionDeniedError):
            imports.import_upload(membership=world.a[role].membership,
                                  upload=upload(clean_file()))


# --- Dry run ----------------------------------------------------------------------------


def test_clean_dry_run_writes_nothing(world):
    before = counts()
    job = check(world, clean_file())
    assert job.status == ImportStatus.CHECKED and job.progress == 100
    assert job.problems == [] and job.total_rows == 5 and job.valid_rows == 5
    assert not job.rejected_file
    assert counts() == before


def test_dry_run_report_names_sheet_row_column_and_problem(world):
    content = workbook(
        [initiative(target_date="2026-13-01"),                                  # row 2
         initiative(code="AC-203", owner_email="x@y"),                         # row 3
         initiative(code="AC-204", program="Foo"),                              # row 4
         initiative(code="AC-205"), initiative(code="AC-205"),                  # rows 5, 6
         initiative(code="AC-207", start_date="01/02/2026"),                    # row 7
         initiative(code="AC-208", start_date=46000),                           # row 8
         initiative(code="AC-209", sponsor_email="viewer@acme.test"),           # row 9
         initiative(code="AC-210", controller_email="owner@acme.test"),         # row 10
         initiative(code="AC-211", update_cadence_days=10),                     # row 11
         initiative(code="AC-212", target_date=dt.date(2025, 1, 1)),            # row 12
         initiative(code="AC-213", title=None),                                 # row 13
         initiative(code="AC-214", business_unit="Nowhere"),                    # row 14
         initiative(code="AC-215", update_cadence_days="30,0"),                 # row 15
         initiative(code="AC-216")],                                            # row 16
        [value(code="AC-216", amount=-5),                                       # row 2
         value(code="AC-216", month="2026-05", amount="1,250.50"),              # row 3
         value(code="AC-216", month="2026-13"),                                 # row 4
         value(code="AC-216", month="2027-03"),                                 # row 5
         value(code="AC-216", kind="forecast"),                                 # row 6
         value(code="NW-999"),                                                  # row 7
         value(code="AC-201"),                                                  # row 8
         value(code="AC-216", category="savings"),                              # row 9
         value(code="AC-216", month="2026-06", amount="abc"),                   # row 10
         value(code="AC-216", month="2026-07"), value(code="AC-216", month="2026-07"),
         value(code="AC-216", month="2026-08", amount=12.345)])                 # row 13
    job = check(world, content)
    assert job.status == ImportStatus.CHECKED
    got = problems(job)
    expected = [
        ("Initiatives", 2, "target_date", "target_date 2026-13-01 is not a date like 2026-06-30."),
        ("Initiatives", 3, "owner_email", "owner_email x@y is not a member of this organisation."),
        ("Initiatives", 4, "program", "program “Foo” does not exist in this organisation."),
        ("Initiatives", 5, "code", "code AC-205 appears twice in the file (rows 5 and 6)."),
        ("Initiatives", 6, "code", "code AC-205 appears twice in the file (rows 5 and 6)."),
        ("Initiatives", 7, "start_date", "start_date 01/02/2026 is not a date like 2026-06-30."),
        ("Initiatives", 8, "start_date", "start_date 46000 is a number, not a date like "
                                         "2026-06-30; format the cell as a date."),
        ("Initiatives", 9, "sponsor_email", "A viewer cannot sponsor an initiative: sponsors "
                                            "approve gates."),
        ("Initiatives", 10, "controller_email", "Choose a member with the controller role."),
        ("Initiatives", 12, "target_date", "target_date 2025-01-01 is before start_date "
                                           "2026-01-01."),
        ("Initiatives", 13, "title", "title is empty."),
        ("Initiatives", 14, "business_unit", "business unit “Nowhere” does not exist in this "
                                             "organisation."),
        ("Initiatives", 15, "update_cadence_days", "update_cadence_days “30,0” is text with a "
                                                   "comma; type 7, 14, 30 or 91."),
        ("Values", 2, "amount", "amount -5 is negative; amounts are at least 0."),
        ("Values", 3, "amount", "amount “1,250.50” is text with a comma; type the number "
                                "without thousands separators and with a dot for decimals, "
                                "e.g. 1250.50."),
        ("Values", 4, "month", "month 2026-13 is not a month like 2026-07."),
        ("Values", 5, "month", "month 2027-03: Mar 2027 is outside the initiative's range "
                               "(Jan 2026 to Dec 2026)."),
        ("Values", 6, "kind", "forecast for AC-216 (Identified): Forecasts are entered from "
                              "the Decided gate on."),
        ("Values", 7, "code", "code NW-999 is neither in the Initiatives sheet nor an "
                              "initiative of this organisation."),
        ("Values", 8, "code", "the Initiatives row 2 for AC-201 is rejected, so this row is "
                              "too."),
        ("Values", 9, "category", "category “savings” is not one of cost_reduction, "
                                  "revenue_increase, cost_avoidance, one_time_cost."),
        ("Values", 10, "amount", "amount “abc” is not a number."),
        ("Values", 12, "month", "AC-216 “Rent” 2026-07 planned appears twice in the file "
                                "(rows 11 and 12)."),
        ("Values", 13, "amount", "amount 12.345: Use at most 14 digits and 2 decimal places."),
    ]
    for item in expected:
        assert item in got, f"{item} not in {got}"
    cadence = [p for p in got if p[:3] == ("Initiatives", 11, "update_cadence_days")]
    assert cadence and cadence[0][3].startswith("Choose an update cadence: 7 (weekly)")
    assert len(got) == len(expected) + 1
    assert job.total_rows == 15 + 12
    assert job.valid_rows == 2  # Initiatives row 16 and Values row 11
    assert job.rejected_file


def test_names_of_another_organisation_do_not_exist(world):
    with scopes_disabled():
        program = ProgramFactory(organization=world.org_b, portfolio__organization=world.org_b,
                                 name="Globex Ops")
        InitiativeFactory(program=program, code="GX-1", owner=world.b_executive.user)
    job = check(world, workbook(
        [initiative(program="Globex Ops", owner_email="executive@globex.test")],
        [value(code="GX-1")]))
    assert ("Initiatives", 2, "program", "program “Globex Ops” does not exist in this "
                                         "organisation.") in problems(job)
    assert ("Initiatives", 2, "owner_email", "owner_email executive@globex.test is not a "
                                             "member of this organisation.") in problems(job)
    assert ("Values", 2, "code", "code GX-1 is neither in the Initiatives sheet nor an "
                                 "initiative of this organisation.") in problems(job)


def test_dates_as_text_and_numbers_as_text_without_commas_are_accepted(world):
    job = check(world, workbook(
        [initiative(start_date="2026-01-01", target_date="2026-12-31",
                    update_cadence_days="14")],
        [value(amount="1250.50"), value(month=dt.datetime(2026, 4, 1), amount=" 7 ")]))
    assert job.problems == []


def test_a_month_that_no_calendar_has_is_a_row_problem_not_a_crash(world):
    job = check(world, workbook([initiative()], [value(month="0000-05"), value()]))
    assert job.status == ImportStatus.CHECKED
    assert problems(job) == [("Values", 2, "month", "month 0000-05 is not a month like 2026-07.")]


# --- Import -----------------------------------------------------------------------------


def test_import_everything_writes_through_the_services_with_history(world):
    job = check(world, clean_file())
    job = imports.import_start(membership=admin(world), job_id=job.pk, mode=ImportMode.ALL)
    assert job.status == ImportStatus.IMPORTED and job.mode == ImportMode.ALL
    assert job.summary == {"created": 2, "updated": 0, "unchanged": 0, "rejected": 0,
                           "values_written": 3, "values_unchanged": 0}
    with scopes_disabled():
        new = Initiative.objects.get(organization=world.org_a, code="AC-201")
        assert new.owner == world.a[Role.OWNER].user
        assert new.sponsor == world.a[Role.EXECUTIVE].user
        assert new.update_cadence_days == 30 and new.stage == "identified"
        assert Initiative.objects.get(code="AC-202").sponsor is None
        cells = sorted((v.line.description, v.month, v.kind, v.amount)
                       for v in MonthlyValue.objects.filter(line__initiative=new))
        assert cells == [("Energy", dt.date(2026, 3, 1), "planned", Decimal("300.25")),
                         ("Rent", dt.date(2026, 3, 1), "planned", Decimal("1000.00")),
                         ("Rent", dt.date(2026, 4, 1), "planned", Decimal("1250.50"))]
        assert not new.impact_lines.get(description="Energy").recurring
        event = apps.get_model("initiatives", "InitiativeEvent").objects.get(
            pgh_obj_id=new.pk, pgh_label="insert")
        assert event.pgh_context.metadata["user"] == world.a[Role.ADMIN].user.pk
        assert event.pgh_context.metadata["import_job"] == job.pk


def test_import_everything_is_refused_unless_the_dry_run_is_clean(world):
    job = check(world, workbook([initiative(), initiative(code="AC-202", program="Foo")]))
    before = counts()
    with pytest.raises(ApplicationError, match="found 1 problem") as refused:
        imports.import_start(membership=admin(world), job_id=job.pk, mode=ImportMode.ALL)
    assert refused.value.status_code == 409
    assert counts() == before


def test_import_valid_rows_only_and_download_the_rejected_ones(world):
    content = workbook(
        [initiative(), initiative(code="AC-202", program="Foo")],
        [value(), value(amount=-1, month="2026-04"), value(code="AC-202")])
    job = check(world, content)
    assert job.valid_rows == 2
    job = imports.import_start(membership=admin(world), job_id=job.pk,
                               mode=ImportMode.VALID_ONLY)
    assert job.status == ImportStatus.IMPORTED
    assert job.summary["created"] == 1 and job.summary["rejected"] == 3
    assert job.summary["values_written"] == 1
    with scopes_disabled():
        assert set(Initiative.objects.filter(organization=world.org_a)
                   .values_list("code", flat=True)) == {"AC-100", "AC-201"}
    with job.rejected_file.open("rb") as handle:
        sheets = read(handle.read())
    assert sheets["Initiatives"][0][-1] == "reason"
    assert [r[0] for r in sheets["Initiatives"][1:]] == ["AC-202"]
    assert sheets["Initiatives"][1][3] == "Foo"
    assert sheets["Initiatives"][1][-1] == "program “Foo” does not exist in this organisation."
    assert sheets["Initiatives"][1][9] == dt.datetime(2026, 1, 1)  # still a date cell
    assert [(r[0], r[4], r[6]) for r in sheets["Values"][1:]] == [("AC-201", "2026-04", -1),
                                                                   ("AC-202", "2026-03", 1000)]
    assert "negative" in sheets["Values"][1][-1]
    assert "rejected, so this row is too" in sheets["Values"][2][-1]
    # Fixed and uploaded again, the rejected file imports cleanly (reason is ignored).
    wb = openpyxl.load_workbook(io.BytesIO(job.rejected_file.open("rb").read()))
    wb["Initiatives"]["D2"] = "Acme Procurement"
    wb["Values"]["G2"] = 10
    out = io.BytesIO()
    wb.save(out)
    again = check(world, out.getvalue(), name="fixed.xlsx")
    assert again.problems == []


def test_import_checks_again_and_writes_nothing_when_the_organisation_changed(world):
    job = check(world, clean_file())
    assert job.problems == []
    with scopes_disabled():  # test set-up: the program is renamed after the dry run
        Program.objects.filter(organization=world.org_a, name="Acme Procurement").update(
            name="Acme Sourcing")
    before = counts()
    job = imports.import_start(membership=admin(world), job_id=job.pk, mode=ImportMode.ALL)
    assert job.status == ImportStatus.CHECKED and job.mode == ""
    assert job.file_error.startswith("Nothing was imported: the organisation changed")
    assert ("Initiatives", 2, "program", "program “Acme Procurement” does not exist in this "
                                         "organisation.") in problems(job)
    assert job.valid_rows == 0
    assert counts() == before


def test_an_uploader_deactivated_meanwhile_imports_nothing(world):
    job = check(world, clean_file())
    user = world.a[Role.ADMIN].user
    user.is_active = False
    user.save(update_fields=["is_active"])
    before = counts()
    job = imports.import_start(membership=admin(world), job_id=job.pk, mode=ImportMode.ALL)
    assert job.status == ImportStatus.FAILED
    assert "no longer an admin" in job.file_error
    assert counts() == before


def test_second_import_of_the_same_file_changes_nothing(world):
    first = check(world, clean_file())
    imports.import_start(membership=admin(world), job_id=first.pk, mode=ImportMode.ALL)
    before = counts()
    second = check(world, clean_file())
    assert second.problems == []
    second = imports.import_start(membership=admin(world), job_id=second.pk,
                                  mode=ImportMode.ALL)
    assert second.summary == {"created": 0, "updated": 0, "unchanged": 2, "rejected": 0,
                              "values_written": 0, "values_unchanged": 3}
    assert counts() == before  # no new rows, no new history rows


def test_existing_initiative_is_updated_only_where_values_differ(world):
    with scopes_disabled():
        version = Initiative.objects.get(pk=world.initiative.pk).version
    job = check(world, workbook(
        [initiative(code="AC-100", title="Acme freight tender, phase 2",
                    start_date=dt.date(2026, 1, 1), target_date=dt.date(2027, 12, 31),
                    update_cadence_days=None)]))
    job = imports.import_start(membership=admin(world), job_id=job.pk, mode=ImportMode.ALL)
    assert job.summary["updated"] == 1
    with scopes_disabled():
        initiative_ = Initiative.objects.get(pk=world.initiative.pk)
        assert initiative_.title == "Acme freight tender, phase 2"
        assert initiative_.version == version + 1
        events = apps.get_model("initiatives", "InitiativeEvent").objects.filter(
            pgh_obj_id=world.initiative.pk, pgh_label="update")
        assert events.count() == 1


def test_value_rules_follow_the_stage(world):
    with scopes_disabled():
        line = ImpactLineFactory(initiative=world.initiative, description="Freight rates")
        MonthlyValue.objects.create(organization=world.org_a, line=line,
                                    month=dt.date(2026, 1, 1), kind="planned", amount="500")
        # Test set-up only: the stage moves through services everywhere else.
        Initiative.objects.filter(pk=world.initiative.pk).update(stage="decided")
    row = {"code": "AC-100", "line": "Freight rates", "category": "cost_reduction"}
    job = check(world, workbook([], [
        value(**row, month="2026-01", amount=500),                   # same plan: unchanged
        value(**row, month="2026-02", amount=600),                   # plan frozen
        value(**row, month="2026-02", kind="forecast", amount=550),  # forecast from Decided
        value(**row, month="2026-02", kind="actual", amount=540),    # actual from Implemented
        value(**{**row, "category": "revenue_increase"}, month="2026-03", kind="forecast"),
    ]))
    got = problems(job)
    assert ("Values", 3, "kind", "planned for AC-100 (Decided): The plan is frozen since the "
                                 "Decided gate. Ask the controller for a re-baseline to "
                                 "change it.") in got
    assert ("Values", 5, "kind", "actual for AC-100 (Decided): Actuals are entered from the "
                                 "Implemented gate on.") in got
    assert any(p[:3] == ("Values", 6, "category") for p in got)
    assert len(got) == 3
    job = imports.import_start(membership=admin(world), job_id=job.pk,
                               mode=ImportMode.VALID_ONLY)
    assert job.summary["values_written"] == 1 and job.summary["values_unchanged"] == 1
    with scopes_disabled():
        assert MonthlyValue.objects.get(line=line, kind="forecast").amount == Decimal("550")
        assert MonthlyValue.objects.get(line=line, kind="planned").amount == Decimal("500")


def test_closed_initiative_is_refused_only_when_something_would_change(world):
    with scopes_disabled():
        Initiative.objects.filter(pk=world.initiative.pk).update(stage="closed")
        program = Program.objects.get(pk=world.initiative.program_id).name
    same = initiative(code="AC-100", title="Acme freight tender", description="",
                      program=program, sponsor_email="executive@acme.test",
                      start_date=dt.date(2026, 1, 1), target_date=dt.date(2027, 12, 31),
                      update_cadence_days=None)
    job = check(world, workbook([same]))
    assert job.problems == []
    job = check(world, workbook([{**same, "title": "Renamed"}]))
    assert problems(job) == [("Initiatives", 2, "code", "AC-100 is closed; its record is "
                                                        "final. It cannot be changed by "
                                                        "import.")]


def test_import_is_refused_twice_and_for_a_foreign_job(world):
    job = check(world, clean_file())
    imports.import_start(membership=admin(world), job_id=job.pk, mode=ImportMode.ALL)
    with pytest.raises(ApplicationError, match="only a checked file"):
        imports.import_start(membership=admin(world), job_id=job.pk, mode=ImportMode.ALL)
    with scopes_disabled():
        from tests.factories import MembershipFactory
        foreign = MembershipFactory(organization=world.org_b, role=Role.ADMIN)
    with pytest.raises(ApplicationError) as refused:
        imports.import_start(membership=foreign, job_id=job.pk, mode=ImportMode.ALL)
    assert refused.value.status_code == 404


# --- A real worker ------------------------------------------------------------------------


@pytest.mark.slow
def test_a_real_worker_checks_and_imports_a_large_file(world, worker, monkeypatch):
    from tests.workers import wait_for

    monkeypatch.setattr(imports.jobs, "INLINE_MAX_ROWS", 1)  # every file goes to the job
    job = check(world, clean_file())
    assert job.status == ImportStatus.CHECKING

    def status():
        with scopes_disabled():
            return ImportJob.objects.get(pk=job.pk).status

    wait_for(worker, lambda: status() == ImportStatus.CHECKED, what="check the file")
    job = imports.import_start(membership=admin(world), job_id=job.pk, mode=ImportMode.ALL)
    assert job.status == ImportStatus.IMPORTING
    wait_for(worker, lambda: status() == ImportStatus.IMPORTED, what="import the file")
    with scopes_disabled():
        job.refresh_from_db()
        assert job.progress == 100 and job.summary["created"] == 2
        assert Initiative.objects.filter(code__in=["AC-201", "AC-202"]).count() == 2

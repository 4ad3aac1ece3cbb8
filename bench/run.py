"""The benchmark of issue #5 ("Performance"), against the tenant bench/generate.py made.

    make bench BENCH_ARGS="run"                  # embedded servers, database cat4_bench
    make bench BENCH_ARGS="run --repeat 9"
    DJANGO_SETTINGS_MODULE=cat4.settings.dev DEBUG=false DATABASE_URL=postgres://... \\
        .venv/bin/python bench/run.py [--repeat N] [--slug reference] [--json out.json]

Measures, each as the median of N timed runs after one untimed warm-up (min and max too):

  (a) dashboard   GET /o/<slug>/dashboard/ with Django's test Client, logged in as an
                  executive: URL resolution, middleware, selectors, template rendering,
                  everything but the network and the WSGI server (request to rendered page);
  (b) raw SQL     the best hand-written query for the same headline figures (count,
                  planned, forecast, actual and outturn per stage for the current fiscal
                  year) straight from the raw MonthlyValue rows: the comparison baseline;
  (c) rollups     ``reporting.rollups.rebuild`` for the organisation: as the five-minute
                  job finds it with nothing changed, after 1 % of the impact lines'
                  values were rewritten (untimed, before each run), and with
                  ``full=True`` (every line summed again from the raw values);
  (d) exports     GET of the xlsx and csv exports of all initiatives, body consumed;
  (e) history     GET /o/<slug>/changes/?since=<30 days ago> and the same with &as_of=;
  (f) import      the Excel import (reporting/imports/) of a workbook of N initiatives
                  (--import-rows, default 1,000), each with 2 impact lines of 12 planned
                  months, into the scratch organisation ``bench-import`` (created on first
                  use, then reused): the dry run (upload to CHECKED), the first import
                  (the organisation's imported rows deleted before each run, untimed) and
                  a second import of the same file (nothing changes). The services are
                  called in this process, the way the Celery task ``reporting.run_import``
                  calls them; file rows per second, and the queries per row of one
                  untimed, counted run of each step. Only with --only ...f... (it takes
                  about 13 minutes at the default size).

A measurement whose code does not exist yet is skipped with a note, not an error. The
rollups are rebuilt before (a) so the dashboard reads current rollups. Also prints whether
the dashboard's headline (``reporting.selectors.dashboard``) agrees with the raw SQL, and
the machine (CPU, cores, RAM, PostgreSQL, Python, date). Nothing is asserted: the figures
go into docs/benchmarks.md by hand.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cat4.settings.dev")

import django  # noqa: E402

django.setup()

import pgtrigger  # noqa: E402
from django.apps import apps  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import Resolver404, resolve  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_scopes import scope, scopes_disabled  # noqa: E402

from cat4.tenancy.models import Membership, Organization, Role, User  # noqa: E402
from initiatives import calculations as calc  # noqa: E402

# The baseline: the dashboard's headline figures computed directly from the raw rows.
# Benefit lines only (one-time costs are reported apart), months of the fiscal year
# [fy_start, fy_end); outturn per line and month is the actual where that month has one,
# else the forecast. Every initiative of the organisation counts in its stage, with or
# without values. The fastest form tried: one pass over the organisation's MonthlyValue
# rows of the year summed per initiative, and the forecasts that an actual replaces
# summed apart by joining only the actual rows to their forecasts (about 0.5x the time
# of the earlier baseline, a "forecast month without an actual" anti-join per forecast
# row; grouping per (line, month) first was slower still).
HEADLINE_SQL = """
WITH per_initiative AS (
    SELECT l.initiative_id,
           SUM(v.amount) FILTER (WHERE v.kind = 'planned')  AS planned,
           SUM(v.amount) FILTER (WHERE v.kind = 'forecast') AS forecast,
           SUM(v.amount) FILTER (WHERE v.kind = 'actual')   AS actual
    FROM initiatives_monthlyvalue v
    JOIN initiatives_impactline l ON l.id = v.line_id
    WHERE v.organization_id = %(org)s AND l.category <> 'one_time_cost'
      AND v.month >= %(fy_start)s AND v.month < %(fy_end)s
    GROUP BY l.initiative_id
), replaced AS (
    SELECT l.initiative_id, SUM(f.amount) AS amount
    FROM initiatives_monthlyvalue a
    JOIN initiatives_monthlyvalue f
      ON f.line_id = a.line_id AND f.month = a.month AND f.kind = 'forecast'
    JOIN initiatives_impactline l ON l.id = a.line_id
    WHERE a.organization_id = %(org)s AND a.kind = 'actual'
      AND l.category <> 'one_time_cost'
      AND a.month >= %(fy_start)s AND a.month < %(fy_end)s
    GROUP BY l.initiative_id
)
SELECT i.stage, COUNT(*) AS initiatives,
       COALESCE(SUM(p.planned), 0), COALESCE(SUM(p.forecast), 0),
       COALESCE(SUM(p.actual), 0),
       COALESCE(SUM(COALESCE(p.actual, 0) + COALESCE(p.forecast, 0)
                    - COALESCE(r.amount, 0)), 0)
FROM initiatives_initiative i
LEFT JOIN per_initiative p ON p.initiative_id = i.id
LEFT JOIN replaced r ON r.initiative_id = i.id
WHERE i.organization_id = %(org)s
GROUP BY i.stage
ORDER BY i.stage
"""


class Skip(Exception):
    """The code this measurement needs does not exist (yet)."""


def timed(fn: Callable[[], object], repeat: int,
          setup: Callable[[], object] | None = None) -> list[float]:
    """``fn`` once untimed (warm-up), then ``repeat`` timed runs, each after ``setup``
    (untimed)."""
    fn()  # warm-up: connections, template and URL caches, the database's buffers
    runs = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return runs


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        buffers = cursor.fetchone()[0]
    return {
        "cpu": cpu, "cores": str(os.cpu_count()), "ram": ram,
        "postgresql": f"{pg} (shared_buffers {buffers})",
        "python": platform.python_version(), "django": django.get_version(),
        "os": platform.platform(), "date": datetime.now().astimezone().isoformat(" ", "minutes"),
    }


def url_exists(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    return True


def get(client: Client, path: str) -> Callable[[], None]:
    def fn():
        response = client.get(path)
        if response.status_code != 200:
            raise Skip(f"{path} answered {response.status_code}")
        if getattr(response, "streaming", False):
            b"".join(response.streaming_content)
        else:
            _ = response.content

    return fn


def headline_sql(org: Organization, fy: int) -> Callable[[], list]:
    months = calc.fiscal_year_months(fy, start_month=org.fiscal_year_start_month)
    last = months[-1]
    params = {"org": org.pk, "fy_start": months[0],
              "fy_end": date(last.year + last.month // 12, last.month % 12 + 1, 1)}

    def fn():
        with connection.cursor() as cursor:
            cursor.execute(HEADLINE_SQL, params)
            return cursor.fetchall()

    return fn


def compare_with_dashboard(org, membership, rows) -> str:
    try:
        from reporting import selectors
        from reporting.selectors import DashboardFilters
    except ImportError:
        return "not compared (reporting.selectors.dashboard does not exist yet)"
    with scope(organization=org):
        board = selectors.dashboard(organization=org, membership=membership,
                                    filters=DashboardFilters())
    raw = [sum((Decimal(r[k]) for r in rows), Decimal(0)) for k in (2, 3, 4, 5)]
    shown = [board.money.planned, board.money.forecast, board.money.actual,
             board.money.outturn]
    counts_raw = {r[0]: r[1] for r in rows}
    counts_shown = {s.stage: s.count for s in board.stages if s.count}
    if raw == shown and counts_raw == counts_shown:
        return f"agree (planned {raw[0]:,}, outturn {raw[3]:,}, {sum(counts_raw.values())} " \
               f"initiatives)"
    return f"DIFFER: raw SQL {raw} {counts_raw} vs dashboard {shown} {counts_shown}"


# --- (f) the Excel import -------------------------------------------------------------

IMPORT_SLUG = "bench-import"
# Not generate.py's "bench.invalid": its --reset deletes the users of that domain.
IMPORT_DOMAIN = "bench-import.invalid"
IMPORT_LINES = (("Freight rates", "cost_reduction", "yes"),
                ("Cross-selling", "revenue_increase", "no"))
IMPORT_MONTHS = 12
# What a reset of the scratch organisation keeps: its members and lists. Everything else
# of the organisation (initiatives, lines, values, their history events, rollup rows,
# import jobs ...) is deleted.
IMPORT_KEPT = {"tenancy_membership", "tenancy_invitation", "tenancy_membershipevent",
               "initiatives_valuesettings", "initiatives_portfolio", "initiatives_program",
               "initiatives_businessunit", "initiatives_function"}


def import_org() -> Membership:
    """The scratch organisation ``bench-import`` (created on first use, then reused) and
    the membership of the admin who imports: members and lists as a transformation
    office would have set them up before importing."""
    from initiatives.models import BusinessUnit, Function, Portfolio, Program, ValueSettings

    with scopes_disabled(), transaction.atomic():
        org, created = Organization.objects.get_or_create(slug=IMPORT_SLUG, defaults={
            "name": "Benchmark import", "base_currency": "EUR", "fiscal_year_start_month": 1,
            "time_zone": "Europe/Berlin"})
        if created:
            ValueSettings.objects.create(organization=org)
            people = {Role.ADMIN: 1, Role.EXECUTIVE: 4, Role.CONTROLLER: 4, Role.OWNER: 50}
            emails = {f"{role}{k:02d}@{IMPORT_DOMAIN}": role
                      for role, n in people.items() for k in range(1, n + 1)}
            unusable = make_password(None)  # nobody logs in as these
            User.objects.bulk_create([User(email=e, full_name=e.split("@")[0].title(),
                                           password=unusable) for e in emails],
                                     ignore_conflicts=True)
            Membership.objects.bulk_create([
                Membership(organization=org, user=u, role=emails[u.email])
                for u in User.objects.filter(email__in=emails)])
            portfolios = Portfolio.objects.bulk_create([
                Portfolio(organization=org, name=f"Portfolio {p}") for p in (1, 2)])
            Program.objects.bulk_create([
                Program(organization=org, portfolio=pf, name=f"Program {p}.{q}")
                for p, pf in enumerate(portfolios, start=1) for q in range(1, 6)])
            BusinessUnit.objects.bulk_create([
                BusinessUnit(organization=org, name=f"Business unit {u}") for u in range(1, 7)])
            Function.objects.bulk_create([
                Function(organization=org, name=n)
                for n in ("Operations", "Procurement", "IT", "Finance", "Sales", "HR")])
        return (Membership.objects.select_related("organization", "user")
                .get(organization=org, role=Role.ADMIN, user__email=f"admin01@{IMPORT_DOMAIN}"))


def import_workbook(org: Organization, n: int) -> bytes:
    """The organisation's own template (``reporting.imports.template_workbook``: sheets
    Instructions, Initiatives, Values and Lists, with its help and data validations)
    filled with ``n`` new initiatives BI-00001 ... (at Identified after the import, so
    planned values only), each with IMPORT_LINES planned over 12 months (text months
    like 2027-03, as the instructions suggest). Deterministic."""
    import openpyxl

    from initiatives.models import BusinessUnit, Function, Program
    from reporting import imports

    with scopes_disabled():
        programs = sorted(Program.objects.filter(organization=org).values_list("name", flat=True))
        units = sorted(BusinessUnit.objects.filter(organization=org)
                       .values_list("name", flat=True))
        functions = sorted(Function.objects.filter(organization=org)
                           .values_list("name", flat=True))
        members = Membership.objects.filter(organization=org).order_by("user__email")
        emails = {role: list(members.filter(role=role).values_list("user__email", flat=True))
                  for role in (Role.OWNER, Role.EXECUTIVE, Role.CONTROLLER)}
    wb = openpyxl.load_workbook(io.BytesIO(imports.template_workbook(organization=org)))
    sheets = {imports.INITIATIVES: wb[imports.INITIATIVES], imports.VALUES: wb[imports.VALUES]}
    headers = {name: [c.value for c in ws[1]] for name, ws in sheets.items()}
    for name, columns in imports.COLUMNS.items():
        if headers[name] != [c.name for c in columns]:
            raise RuntimeError(f"(f) the template's {name} sheet has columns {headers[name]}")
    year = date.today().year + 1
    for k in range(1, n + 1):
        code = f"BI-{k:05d}"
        start = date(year, (k - 1) % 12 + 1, 1)
        months = [date(start.year + (start.month - 1 + m) // 12, (start.month - 1 + m) % 12 + 1, 1)
                  for m in range(IMPORT_MONTHS)]
        last = months[-1]
        target = date(last.year + last.month // 12, last.month % 12 + 1, 1) - timedelta(days=1)
        row = {"code": code, "title": f"Benchmark initiative {k}",
               "description": "Imported by bench/run.py, measurement (f).",
               "program": programs[k % len(programs)],
               "owner_email": emails[Role.OWNER][k % len(emails[Role.OWNER])],
               "sponsor_email": emails[Role.EXECUTIVE][k % len(emails[Role.EXECUTIVE])],
               "controller_email": emails[Role.CONTROLLER][k % len(emails[Role.CONTROLLER])],
               "business_unit": units[k % len(units)], "function": functions[k % len(functions)],
               "start_date": start, "target_date": target, "update_cadence_days": 30}
        sheets[imports.INITIATIVES].append([row[c] for c in headers[imports.INITIATIVES]])
        for j, (line, category, recurring) in enumerate(IMPORT_LINES):
            for m, month in enumerate(months):
                amount = 1000 + (k * 37 + j * 500 + m * 13) % 5000 + (0.5 if m % 2 else 0)
                value = {"code": code, "line": line, "category": category,
                         "recurring": recurring, "month": f"{month:%Y-%m}", "kind": "planned",
                         "amount": amount}
                sheets[imports.VALUES].append([value[c] for c in headers[imports.VALUES]])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@contextmanager
def untracked():
    """One transaction in which no pgtrigger trigger fires (the append-only protection of
    the history tables, the history triggers themselves), as in bench/generate.py."""
    with transaction.atomic(), pgtrigger.ignore(), connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        yield cursor


def import_reset(org: Organization) -> None:
    """Delete what the imports wrote into the scratch organisation, with raw DELETEs
    restricted to it (as bench/generate.py ``reset()``; a Django cascade would load every
    row): every table with an ``organization_id`` but those of IMPORT_KEPT, the history
    contexts of its import jobs, and the jobs' stored files."""
    from reporting.models import ImportJob

    with scopes_disabled():
        jobs = list(ImportJob.objects.filter(organization=org))
    for job in jobs:
        for stored in (job.file, job.rejected_file):
            if stored:
                stored.storage.delete(stored.name)
    tables = sorted({m._meta.db_table for m in apps.get_models(include_auto_created=True)
                     if any(f.is_relation and f.related_model is Organization
                            and f.column == "organization_id"
                            for f in m._meta.concrete_fields)} - IMPORT_KEPT)
    with untracked() as cursor:
        cursor.execute("DELETE FROM pghistory_context WHERE metadata->>'import_job' = ANY(%s)",
                       [[str(job.pk) for job in jobs]])
        for table in tables:
            cursor.execute(f'DELETE FROM "{table}" WHERE "organization_id" = %s',  # noqa: S608
                           [org.pk])


@contextmanager
def import_in_process(rows: int):
    """``import_upload`` and ``import_start`` hand a file of more than INLINE_MAX_ROWS
    rows to the Celery task ``reporting.run_import`` on commit; here nothing is handed
    over and the benchmark calls ``imports.run_job(job_id)`` itself, the one function the
    task calls. A file over MAX_ROWS is allowed for the benchmark (a note says so)."""
    from reporting import imports

    jobs, workbook = imports.jobs, imports.workbook
    saved = jobs._dispatch, workbook.MAX_ROWS
    jobs._dispatch = lambda job, *, parsed=None: None
    workbook.MAX_ROWS = max(workbook.MAX_ROWS, rows)
    try:
        yield
    finally:
        jobs._dispatch, workbook.MAX_ROWS = saved


class QueryCounter:
    """Counts the statements a block sends (``connection.execute_wrapper``) by their first
    word, with the time spent waiting for each kind. Unlike CaptureQueriesContext, no
    9,000-query cap and no SQL kept."""

    def __init__(self):
        self.count: Counter[str] = Counter()
        self.seconds: Counter[str] = Counter()

    def __call__(self, execute, sql, params, many, context):
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            word = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else "?"
            self.count[word] += 1
            self.seconds[word] += time.perf_counter() - t0


class ImportBench:
    """The three steps of (f) against the scratch organisation."""

    def __init__(self, membership: Membership, n: int):
        from reporting import imports
        from reporting.models import ImportMode, ImportStatus

        self.imports, self.mode, self.status = imports, ImportMode.ALL, ImportStatus
        self.membership, self.org, self.n = membership, membership.organization, n
        self.content = import_workbook(self.org, n)
        self.rows = n * (1 + len(IMPORT_LINES) * IMPORT_MONTHS)  # file rows, both sheets
        self.job = None
        self.last = None

    def check(self):
        """The dry run as the user waits for it: upload (the file read and counted, then
        stored; the job saved) and ``run_job`` (the file read again, every row checked)."""
        with import_in_process(self.rows):
            job = self.imports.import_upload(
                membership=self.membership,
                upload=SimpleUploadedFile("bench-import.xlsx", self.content,
                                          content_type="application/octet-stream"))
            self.imports.run_job(job.pk)
        job.refresh_from_db()
        if job.status != self.status.CHECKED or job.problems or job.file_error:
            raise RuntimeError(f"(f) dry run: {job.status} {job.file_error} "
                               f"{job.problems[:3]}")
        self.job = job
        return job

    def run(self):
        """Import everything (the dry run was clean): ``import_start`` and ``run_job``,
        which checks the file again and writes it in one transaction."""
        with import_in_process(self.rows):
            job = self.imports.import_start(membership=self.membership, job_id=self.job.pk,
                                            mode=self.mode)
            self.imports.run_job(job.pk)
        job.refresh_from_db()
        if job.status != self.status.IMPORTED:
            raise RuntimeError(f"(f) import: {job.status} {job.file_error}")
        self.last = job.summary
        return job

    def fresh(self):
        """Untimed before a first import: the organisation emptied, a checked job."""
        import_reset(self.org)
        self.check()

    def populated(self):
        """Untimed before a second import: a checked job of the same file."""
        self.check()

    def expect(self, **summary):
        got = {k: self.last.get(k) for k in summary}
        if got != summary:
            raise RuntimeError(f"(f) import summary {self.last}, expected {summary}")

    def counted(self) -> dict:
        """One untimed run of each step with its statements counted."""
        out = {}
        steps = [("dry run", self.check, lambda: import_reset(self.org)),
                 ("first import", self.run, self.fresh),
                 ("second import", self.run, self.populated)]
        for name, fn, setup in steps:
            setup()
            self.last = None
            counter = QueryCounter()
            t0 = time.perf_counter()
            with connection.execute_wrapper(counter):
                fn()
            total = time.perf_counter() - t0
            n = sum(counter.count.values())
            out[name] = {"queries": n, "per_row": n / self.rows, "per_initiative": n / self.n,
                         "seconds": total, "db_seconds": sum(counter.seconds.values()),
                         "by_kind": dict(counter.count.most_common()),
                         "summary": self.last}
        return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--slug", default="reference")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--only", default="abcde",
                        help="which measurements, e.g. 'ab' (default: abcde; the import, "
                             "f, about 13 minutes at its default size, only when asked)")
    parser.add_argument("--import-rows", type=int, default=1000,
                        help="(f): initiatives in the imported workbook (each with 2 lines "
                             "of 12 planned months: 25 file rows)")
    args = parser.parse_args(argv)
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]

    with scopes_disabled():
        org = Organization.objects.filter(slug=args.slug).first()
        if org is None:
            print(f"No organisation {args.slug!r}: run bench/generate.py first.")
            return 1
        membership = (Membership.objects.filter(organization=org, role=Role.EXECUTIVE)
                      .select_related("user").order_by("pk").first())
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM initiatives_monthlyvalue "
                           "WHERE organization_id = %s", [org.pk])
            values = cursor.fetchone()[0]
            cursor.execute("SELECT count(*) FROM initiatives_impactline "
                           "WHERE organization_id = %s", [org.pk])
            lines = cursor.fetchone()[0]
    client = Client()
    client.force_login(membership.user, backend="django.contrib.auth.backends.ModelBackend")
    fy = calc.fiscal_year(timezone.localdate(), start_month=org.fiscal_year_start_month)
    since = (timezone.localdate() - timedelta(days=30)).isoformat()
    base = f"/o/{org.slug}"

    def rollups(*, full: bool = False, touched: float = 0.0):
        """The rebuild; ``touched``: the share of impact lines whose forecasts are
        rewritten before each run (untimed), as status forms and imports would."""
        def make():
            from reporting.rollups import rebuild

            def touch():
                with connection.cursor() as cursor:
                    cursor.execute(
                        "UPDATE initiatives_monthlyvalue SET amount = amount"
                        " WHERE organization_id = %s AND kind = 'forecast' AND line_id IN"
                        " (SELECT id FROM initiatives_impactline WHERE organization_id = %s"
                        "  ORDER BY random() LIMIT %s)",
                        [org.pk, org.pk, max(1, int(lines * touched))])

            return (touch if touched else None), (lambda: rebuild(organization=org, full=full))
        return make

    def page(path):
        def make():
            if not url_exists(path.split("?")[0]):
                raise Skip(f"{path.split('?')[0]} does not exist yet")
            return get(client, path)
        return make

    importers: list[ImportBench] = []  # one for the three steps of (f), made on first use
    values_each = len(IMPORT_LINES) * IMPORT_MONTHS
    import_rows = args.import_rows * (1 + values_each)

    def excel_import(step: str):
        def make():
            if not importers:
                try:
                    from reporting import imports  # noqa: F401
                except ImportError as exc:
                    raise Skip("reporting.imports does not exist yet") from exc
                importers.append(ImportBench(import_org(), args.import_rows))
            b = importers[0]
            n = b.n
            if step == "check":
                import_reset(b.org)  # the dry run of new initiatives
                return None, b.check

            if step == "first":
                def first():
                    b.run()
                    b.expect(created=n, updated=0, values_written=n * values_each)
                b.fresh()  # for the warm-up
                return b.fresh, first

            def second():
                b.run()
                b.expect(created=0, updated=0, unchanged=n, values_written=0,
                         values_unchanged=n * values_each)
            b.fresh()
            b.run()
            b.populated()  # for the warm-up
            return b.populated, second
        return make

    plan = [
        ("(c) rollup rebuild, nothing changed", rollups(), args.repeat),
        ("(c) rollup rebuild, 1 % of lines changed", rollups(touched=0.01), args.repeat),
        ("(c) rollup full recompute", rollups(full=True), args.repeat),
        ("(a) dashboard, full server time", page(f"{base}/dashboard/"), args.repeat),
        ("(b) raw SQL headline aggregate", lambda: headline_sql(org, fy), args.repeat),
        ("(d) export xlsx", page(f"{base}/exports/initiatives.xlsx"), max(3, args.repeat // 2)),
        ("(d) export csv", page(f"{base}/exports/initiatives.csv"), max(3, args.repeat // 2)),
        ("(e) what changed (30 days)", page(f"{base}/changes/?since={since}"), args.repeat),
        ("(e) what changed + as of", page(f"{base}/changes/?since={since}&as_of={since}"),
         args.repeat),
        # (f): the 4th element is the file's rows, for rows per second.
        ("(f) import: dry run (upload to checked)", excel_import("check"),
         max(2, args.repeat // 3), import_rows),
        ("(f) import: first import", excel_import("first"), max(2, args.repeat // 3),
         import_rows),
        ("(f) import: second import, no change", excel_import("second"),
         max(2, args.repeat // 3), import_rows),
    ]
    plan = [p for p in plan if p[0][1] in args.only]
    results = []
    import_queries = None
    try:
        for name, make, repeat, *rows in plan:
            try:
                made = make()
                setup, fn = made if isinstance(made, tuple) else (None, made)
                runs = timed(fn, repeat, setup)
            except Skip as exc:
                results.append({"name": name, "skipped": str(exc)})
                print(f"{name}: skipped, {exc}", flush=True)
                continue
            median = statistics.median(runs)
            results.append({"name": name, "n": repeat, "median_ms": median * 1000,
                            "min_ms": min(runs) * 1000, "max_ms": max(runs) * 1000})
            if rows:
                results[-1].update(rows=rows[0], rows_per_s=rows[0] / median)
            print(f"{name}: median {results[-1]['median_ms']:.1f} ms", flush=True)
        if importers:
            import_queries = importers[0].counted()
    finally:
        if importers:  # the scratch organisation keeps only its members and lists
            import_reset(importers[0].org)

    agreement = compare_with_dashboard(org, membership, headline_sql(org, fy)())
    info = machine()
    print()
    print(f"Organisation {org.slug!r}: {values:,} MonthlyValue rows; fiscal year {fy}; "
          f"changes since {since}")
    print(f"{'measurement':<44} {'median':>10} {'min':>10} {'max':>10} {'N':>4}")
    for r in results:
        if "skipped" in r:
            print(f"{r['name']:<44} {'not measured: ' + r['skipped']}")
        else:
            print(f"{r['name']:<44} {r['median_ms']:>7.1f} ms {r['min_ms']:>7.1f} ms "
                  f"{r['max_ms']:>7.1f} ms {r['n']:>4}"
                  + (f" {r['rows_per_s']:>8,.0f} rows/s" if "rows" in r else ""))
    if importers:
        b = importers[0]
        print(f"\n(f) workbook: {b.n:,} initiatives x {len(IMPORT_LINES)} lines x "
              f"{IMPORT_MONTHS} planned months = {b.rows:,} rows "
              f"({b.n:,} + {b.rows - b.n:,}), {len(b.content) / 1048576:.2f} MB"
              + (f"; over the upload limit of {b.imports.MAX_ROWS:,} rows, allowed "
                 "for the benchmark only" if b.rows > b.imports.MAX_ROWS else ""))
    if import_queries:
        print("(f) statements of one counted (untimed) run of each step:")
        for step, q in import_queries.items():
            kinds = ", ".join(f"{k} {v:,}" for k, v in q["by_kind"].items())
            print(f"  {step:<14} {q['queries']:>8,} = {q['per_row']:.2f}/row, "
                  f"{q['per_initiative']:.1f}/initiative; {q['seconds']:.1f} s, of which "
                  f"{q['db_seconds']:.1f} s in the database calls ({kinds})")
            if q["summary"]:
                print(f"  {'':<14} summary {q['summary']}")
    print(f"\nDashboard headline vs raw SQL: {agreement}")
    print("\nMachine:")
    for key, value in info.items():
        print(f"  {key:<11} {value}")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"organization": org.slug, "monthly_values": values, "fiscal_year": fy,
             "results": results, "import_queries": import_queries,
             "agreement": agreement, "machine": info,
             "date": date.today().isoformat()}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

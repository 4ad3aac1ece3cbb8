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
  (e) history     GET /o/<slug>/changes/?since=<30 days ago> and the same with &as_of=.

A measurement whose code does not exist yet is skipped with a note, not an error. The
rollups are rebuilt before (a) so the dashboard reads current rollups. Also prints whether
the dashboard's headline (``reporting.selectors.dashboard``) agrees with the raw SQL, and
the machine (CPU, cores, RAM, PostgreSQL, Python, date). Nothing is asserted: the figures
go into docs/benchmarks.md by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cat4.settings.dev")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import Resolver404, resolve  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_scopes import scope, scopes_disabled  # noqa: E402

from cat4.tenancy.models import Membership, Organization, Role  # noqa: E402
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--slug", default="reference")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--only", default="abcde",
                        help="which measurements, e.g. 'ab' (default: abcde)")
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
    ]
    plan = [p for p in plan if p[0][1] in args.only]
    results = []
    for name, make, repeat in plan:
        try:
            made = make()
            setup, fn = made if isinstance(made, tuple) else (None, made)
            runs = timed(fn, repeat, setup)
        except Skip as exc:
            results.append({"name": name, "skipped": str(exc)})
            print(f"{name}: skipped, {exc}", flush=True)
            continue
        results.append({"name": name, "n": repeat, "median_ms": statistics.median(runs) * 1000,
                        "min_ms": min(runs) * 1000, "max_ms": max(runs) * 1000})
        print(f"{name}: median {results[-1]['median_ms']:.1f} ms", flush=True)

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
                  f"{r['max_ms']:>7.1f} ms {r['n']:>4}")
    print(f"\nDashboard headline vs raw SQL: {agreement}")
    print("\nMachine:")
    for key, value in info.items():
        print(f"  {key:<11} {value}")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"organization": org.slug, "monthly_values": values, "fiscal_year": fy,
             "results": results, "agreement": agreement, "machine": info,
             "date": date.today().isoformat()}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Generate the reference-scale tenant for the benchmarks (issue #5, "Performance").

    make bench BENCH_ARGS="generate"            # embedded servers, database cat4_bench
    make bench BENCH_ARGS="generate --reset"    # drop the generated orgs first, then rebuild
    DJANGO_SETTINGS_MODULE=cat4.settings.dev DATABASE_URL=postgres://... \\
        .venv/bin/python bench/generate.py [--reset] [--initiatives N] [--kpis N] [--noise N]

What it creates (defaults): the organisation ``reference`` with 10,000 initiatives over 4
portfolios, 20 programs and 6 business units; 2-3 impact lines each with planned values
over the initiative's 12-30 months inside a 36-month window (previous, current and next
calendar year), forecasts from the Decided gate on, actuals for past months from
Implemented on (about 1M ``MonthlyValue`` rows); 4 milestones per initiative, status
updates, stage events, pending approvals, escalations; 2,000 KPIs with 24 monthly
readings; plus 50 small noise organisations (``noise-01`` ...), so that every query has
to pick one tenant's rows out of a shared table.

This is **reference data for measuring, not a governance path**: rows are written with
``COPY`` (psycopg 3 ``cursor.copy``) and ``bulk_create``, never through the services, so
no permission, freeze or segregation rule is checked and no notification is sent.
django-scopes is disabled explicitly (``scopes_disabled``), as for any management job.

Audit history: the pghistory insert triggers are switched off while the rows are copied
(``pgtrigger.ignore``, local to the transaction, so nothing else is affected). Left on,
they would double the write volume through a per-row PL/pgSQL call and stamp every event
with the generation time, so the portfolio "as of" any earlier date would be empty. The
generator writes the events itself instead, in set-based ``INSERT ... SELECT``, backdated
to when each row would have appeared (an initiative at its creation, each stage move at
its ``StageEvent``, forecasts at the Decided gate, actuals after their month, milestone
completion on its done date), and revises the forecast of every tenth active initiative
in the last 25 days, so "what changed" and "as of" have realistic work to do.

Deterministic (``random.Random`` seeded from the organisation slug; dates relative to the
day it runs) and idempotent: an organisation that already exists is
skipped; ``--reset`` deletes every generated organisation with raw ``DELETE``s first.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cat4.settings.dev")

import django  # noqa: E402

django.setup()

import pgtrigger  # noqa: E402
from django.apps import apps  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django_scopes import scopes_disabled  # noqa: E402

from cat4.tenancy.models import Membership, Organization, User  # noqa: E402
from initiatives.models import (  # noqa: E402
    BusinessUnit,
    Function,
    ImpactLine,
    Initiative,
    Milestone,
    MonthlyValue,
    Portfolio,
    Program,
    StatusUpdate,
    ValueSettings,
)

REFERENCE_SLUG = "reference"
NOISE_PREFIX = "noise-"
EMAIL_DOMAIN = "bench.invalid"
PASSWORD = "cat4-bench"  # noqa: S105 (reference data on a private database)
WINDOW_MONTHS = 36

STAGE_WEIGHTS = [("identified", 18), ("detailed", 17), ("decided", 20), ("implemented", 27),
                 ("closed", 10), ("on_hold", 4), ("cancelled", 4)]
GATES = ["identified", "detailed", "decided", "implemented", "closed"]
BENEFITS = ["cost_reduction", "revenue_increase", "cost_avoidance"]


@dataclass(frozen=True)
class Spec:
    slug: str
    name: str
    initiatives: int
    kpis: int
    readings: int = 24
    portfolios: int = 4
    programs_per_portfolio: int = 5
    units: int = 6
    owners: int = 200
    code_prefix: str = "RF"


def log(message: str) -> None:
    print(f"[generate] {message}", flush=True)


# --- low-level writing ------------------------------------------------------------------


@contextmanager
def untracked():
    """One transaction in which no pgtrigger trigger fires (pghistory events, the
    append-only protections): ``pgtrigger.ignore`` sets a transaction-local setting on
    the next statement, which COPY on the same connection then sees too."""
    with transaction.atomic(), pgtrigger.ignore(), connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        yield cursor


def allocate_ids(model, n: int) -> list[int]:
    """Reserve ``n`` consecutive primary keys from the table's sequence."""
    if n == 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                       "nextval(pg_get_serial_sequence(%s, 'id')) + %s - 1)", [table, table, n])
        last = cursor.fetchone()[0]
    return list(range(last - n + 1, last + 1))


def copy_rows(cursor, model, fields: list[str], rows) -> int:
    columns = ", ".join(f'"{model._meta.get_field(f).column}"' for f in fields)
    count = 0
    with cursor.cursor.copy(f'COPY "{model._meta.db_table}" ({columns}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def tracked_columns(model) -> list[str]:
    event_model = model.pgh_event_model
    return [f.column for f in event_model._meta.concrete_fields
            if not f.name.startswith("pgh_")]


def backfill_events(cursor, model, *, org_id: int, at_sql: str, joins: str = "",
                    label: str = "insert", overrides: dict[str, str] | None = None,
                    where: str = "") -> int:
    """One pghistory event per row of ``model`` in the organisation, written in one
    ``INSERT ... SELECT``; ``at_sql`` is the event time as an SQL expression over ``t``
    (the row) and the ``joins``; ``overrides`` replace a column's value."""
    overrides = overrides or {}
    event_table = model.pgh_event_model._meta.db_table
    columns = tracked_columns(model)
    values = [overrides.get(c, f't."{c}"') for c in columns]
    quoted = ", ".join(f'"{c}"' for c in columns)
    cursor.execute(
        f'INSERT INTO "{event_table}" ({quoted}, "pgh_created_at", "pgh_label", "pgh_obj_id") '  # noqa: S608 (names from model metadata)
        f'SELECT {", ".join(values)}, {at_sql}, %s, t."id" '
        f'FROM "{model._meta.db_table}" t {joins} WHERE t."organization_id" = %s {where}',
        [label, org_id])
    return cursor.rowcount


# --- the data ---------------------------------------------------------------------------


def month_add(d: date, months: int) -> date:
    index = d.year * 12 + d.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def aware(d: date, hour: int = 10) -> datetime:
    return datetime(d.year, d.month, d.day, hour, tzinfo=UTC)


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def build_org(spec: Spec, *, today: date, password_hash: str) -> dict[str, int]:
    """Create one organisation with ``spec``'s size; returns row counts."""
    rng = random.Random(f"cat4-bench-{spec.slug}")  # noqa: S311 (reference data)
    started = time.perf_counter()
    now = aware(today, 0)  # midnight UTC: every generated time is in the past
    window_start = date(today.year - 1, 1, 1)
    current = (today.year - window_start.year) * 12 + today.month - 1  # month index of today
    counts: dict[str, int] = {}

    org = Organization.objects.create(name=spec.name, slug=spec.slug, base_currency="EUR",
                                      fiscal_year_start_month=1, time_zone="Europe/Berlin")
    ValueSettings.objects.create(organization=org)
    people = {"admin": 1, "executive": 4, "controller": 6, "owner": spec.owners, "viewer": 10}
    users: dict[str, list[User]] = {}
    for role, n in people.items():
        users[role] = User.objects.bulk_create([
            User(email=f"{role}{k:03d}@{spec.slug}.{EMAIL_DOMAIN}",
                 full_name=f"{role.title()} {k:03d} ({spec.slug})", password=password_hash)
            for k in range(1, n + 1)])
        Membership.objects.bulk_create([Membership(organization=org, user=u, role=role)
                                        for u in users[role]])
    owners = [u.pk for u in users["owner"]]
    sponsors = [u.pk for u in users["executive"]]
    controllers = [u.pk for u in users["controller"]]

    portfolios = Portfolio.objects.bulk_create([
        Portfolio(organization=org, name=f"Portfolio {p + 1}") for p in range(spec.portfolios)])
    programs = Program.objects.bulk_create([
        Program(organization=org, portfolio=pf, name=f"Program {p + 1}.{q + 1}")
        for p, pf in enumerate(portfolios) for q in range(spec.programs_per_portfolio)])
    units = BusinessUnit.objects.bulk_create([
        BusinessUnit(organization=org, name=f"Business unit {u + 1}") for u in range(spec.units)])
    functions = Function.objects.bulk_create([
        Function(organization=org, name=n) for n in ("Operations", "Procurement", "IT",
                                                     "Finance", "Sales", "HR")])

    stages = [s for s, _ in STAGE_WEIGHTS]
    weights = [w for _, w in STAGE_WEIGHTS]
    init_ids = allocate_ids(Initiative, spec.initiatives)
    initiatives = []  # (id, stage, start index, months, created, owner, sponsor, factor)
    init_rows, line_rows, value_rows, milestone_rows, update_rows, stage_rows = \
        [], [], [], [], [], []
    line_ids_needed = []
    for n, pk in enumerate(init_ids):
        stage = rng.choices(stages, weights)[0]
        months = rng.randint(12, 30)
        if stage == "closed":
            start = rng.randint(0, max(0, current - months))
        elif stage in ("identified", "detailed"):
            latest = WINDOW_MONTHS - months
            start = rng.randint(min(max(0, current - 8), latest), latest)
        else:
            start = rng.randint(0, min(current, WINDOW_MONTHS - months))
        start_date = month_add(window_start, start)
        target_date = month_add(start_date, months) - timedelta(days=1)
        created = min(aware(start_date - timedelta(days=rng.randint(30, 150))),
                      now - timedelta(days=40))
        owner, sponsor = rng.choice(owners), rng.choice(sponsors)
        controller = rng.choice(controllers)
        factor = rng.choice([70, 80, 88, 92, 96, 100, 100, 104, 110, 115])
        resume = rng.choice(["detailed", "decided", "implemented"]) if stage == "on_hold" else ""
        initiatives.append((pk, stage, start, months, created, owner, sponsor, factor, resume))
        init_rows.append((
            pk, org.pk, f"{spec.code_prefix}-{n + 1:05d}", f"Initiative {n + 1} of {spec.name}",
            "", rng.choice(programs).pk, owner, sponsor, controller, rng.choice(units).pk,
            rng.choice(functions).pk, start_date, target_date, stage, resume,
            "Budget freeze" if stage == "on_hold" else "",
            "Business case no longer holds" if stage == "cancelled" else "",
            rng.choice([7, 14, 30, 30, 91]), 1, created, created))
        line_ids_needed.append(rng.choice([2, 2, 3]))

    line_ids = iter(allocate_ids(ImpactLine, sum(line_ids_needed)))
    for (pk, stage, start, months, created, owner, sponsor, factor, resume), n_lines in zip(
            initiatives, line_ids_needed, strict=True):
        effective = resume or stage
        gate_index = GATES.index(effective) if effective in GATES else rng.randint(1, 3)
        has_forecast = gate_index >= 2
        has_actual = gate_index >= 3
        for k in range(n_lines):
            line_id = next(line_ids)
            category = ("one_time_cost" if k == 2 and rng.random() < 0.4
                        else rng.choice(BENEFITS))
            line_rows.append((line_id, org.pk, pk, category, f"Line {k + 1}",
                              category != "one_time_cost", True))
            base = rng.randrange(2, 60) * 100_000  # cents per month
            for m in range(months):
                month = month_add(window_start, start + m)
                planned = base * min(m + 1, 3) // 3
                value_rows.append((line_id, org.pk, month, "planned", money(planned)))
                if has_forecast:
                    forecast = planned * factor // 100
                    value_rows.append((line_id, org.pk, month, "forecast", money(forecast)))
                    if has_actual and start + m < current:
                        actual = forecast * rng.randint(85, 110) // 100
                        value_rows.append((line_id, org.pk, month, "actual", money(actual)))
        # Milestones at a quarter, half, three quarters and the end of the horizon.
        for q in range(1, 5):
            due = month_add(window_start, start + months * q // 4) - timedelta(days=1)
            done = None
            if due < today and (stage == "closed" or rng.random() < 0.85):
                done = min(due + timedelta(days=rng.randint(-20, 15)), today)
            milestone_rows.append((org.pk, pk, f"Milestone {q}", due, done, rng.randint(1, 3),
                                   False, ""))
        # Stage moves: one per gate passed, spread between creation and 20 days ago.
        path = GATES[1:gate_index + 1]
        moves = [(GATES[i], to) for i, to in enumerate(path)]
        if stage == "on_hold":
            moves.append((effective, "on_hold"))
        elif stage == "cancelled":
            moves.append((GATES[gate_index], "cancelled"))
        span = max((now - timedelta(days=20) - created).days, len(moves) + 1)
        for i, (src, dst) in enumerate(moves):
            at = created + timedelta(days=span * (i + 1) // (len(moves) + 1),
                                     hours=rng.randint(0, 8))
            stage_rows.append((org.pk, pk, src, dst, sponsor, "", at))
        if stage in ("identified", "detailed", "decided", "implemented") and rng.random() < 0.6:
            for _ in range(rng.randint(1, 2)):
                update_rows.append((org.pk, pk, owner, "On track; next steps agreed.",
                                    rng.choice(["high", "medium", "low"]), "", "",
                                    now - timedelta(days=rng.randint(1, 60))))

    with untracked() as cursor:
        counts["initiatives"] = copy_rows(cursor, Initiative, [
            "id", "organization", "code", "title", "description", "program", "owner",
            "sponsor", "controller", "business_unit", "function", "start_date", "target_date",
            "stage", "resume_stage", "hold_reason", "cancel_reason", "update_cadence_days",
            "version", "created_at", "updated_at"], init_rows)
        counts["impact_lines"] = copy_rows(cursor, ImpactLine, [
            "id", "organization", "initiative", "category", "description", "recurring",
            "ebit_relevant"], line_rows)
        counts["monthly_values"] = copy_rows(cursor, MonthlyValue, [
            "line", "organization", "month", "kind", "amount"], value_rows)
        del value_rows
        counts["milestones"] = copy_rows(cursor, Milestone, [
            "organization", "initiative", "title", "due_date", "done_date", "weight", "waived",
            "waiver_reason"], milestone_rows)
        counts["status_updates"] = copy_rows(cursor, StatusUpdate, [
            "organization", "initiative", "author", "narrative", "confidence", "rag_override",
            "override_reason", "created_at"], update_rows)
        stage_event = apps.get_model("governance", "StageEvent")
        counts["stage_events"] = copy_rows(cursor, stage_event, [
            "organization", "initiative", "from_stage", "to_stage", "actor", "reason", "at"],
            stage_rows)
        counts.update(_governance_rows(cursor, org, rng, initiatives, now=now))
        counts.update(_kpis(cursor, org, rng, spec, owners, init_ids, window_start, current,
                            now=now))
        if spec.initiatives >= 1000:
            # Fresh statistics, or the planner takes the just-filled tables for empty ones
            # and the set-based event backfill below runs as nested loops for minutes.
            cursor.execute(
                "ANALYZE initiatives_initiative, initiatives_impactline, "
                "initiatives_monthlyvalue, initiatives_milestone, governance_stageevent, "
                "kpis_kpi, kpis_kpireading, governance_escalation")
            log(f"{spec.slug}: rows copied after {time.perf_counter() - started:.1f} s")
        counts["events"] = _history(cursor, org.pk, now=now)
    return counts


def _governance_rows(cursor, org, rng, initiatives, *, now) -> dict[str, int]:
    """Pending gate submissions with their approvals, and escalations at every level."""
    submission = apps.get_model("governance", "GateSubmission")
    approval = apps.get_model("governance", "Approval")
    rule_model = apps.get_model("governance", "EscalationRule")
    escalation = apps.get_model("governance", "Escalation")
    candidates = [i for i in initiatives if i[1] in ("identified", "detailed", "decided",
                                                     "implemented")]
    pending = rng.sample(candidates, min(len(candidates), max(1, len(initiatives) // 50)))
    sub_ids = allocate_ids(submission, len(pending))
    sub_rows, approval_rows = [], []
    for sid, (pk, stage, *_rest) in zip(sub_ids, pending, strict=True):
        at = now - timedelta(days=rng.randint(1, 40))
        sub_rows.append((sid, org.pk, pk, GATES[GATES.index(stage) + 1], stage, _rest[3], at,
                         "", "pending", "[]"))
        approval_rows.append((org.pk, sid, "sponsor", _rest[4], "pending", ""))
    n_sub = copy_rows(cursor, submission, [
        "id", "organization", "initiative", "gate", "from_stage", "submitted_by",
        "submitted_at", "comment", "status", "criteria_snapshot"], sub_rows)
    copy_rows(cursor, approval, ["organization", "submission", "role", "approver", "decision",
                                 "comment"], approval_rows)
    rule = rule_model.objects.create(organization=org, name="Update overdue", condition="stale",
                                     threshold=14, promote_after_days=5, top_level=3)
    esc_rows = []
    chosen = rng.sample(initiatives, min(len(initiatives), max(2, len(initiatives) // 25)))
    for n, (pk, *_rest) in enumerate(chosen):
        raised = now - timedelta(days=rng.randint(1, 90))
        resolved = n % 4 == 0
        esc_rows.append((
            org.pk, rule.pk, "initiative", pk, f"Initiative {pk}", pk, f"p{n}",
            json.dumps({"days": 20}), "No status update for 20 days, rule: 14 days or more.",
            1 + n % 3, raised, "resolved" if resolved else "open", raised,
            raised + timedelta(days=3) if resolved else None, "", ""))
    n_esc = copy_rows(cursor, escalation, [
        "organization", "rule", "subject_type", "subject_id", "subject_label", "initiative",
        "period", "inputs", "explanation", "level", "level_since", "state", "raised_at",
        "resolved_at", "acknowledge_comment", "resolution_comment"], esc_rows)
    return {"gate_submissions": n_sub, "escalations": n_esc}


def _kpis(cursor, org, rng, spec, owners, init_ids, window_start, current, *, now):
    kpi = apps.get_model("kpis", "Kpi")
    reading = apps.get_model("kpis", "KpiReading")
    link = apps.get_model("kpis", "KpiLink")
    kpi_ids = allocate_ids(kpi, spec.kpis)
    first = month_add(window_start, current - spec.readings)
    kpi_rows, reading_rows, link_rows = [], [], []
    for n, pk in enumerate(kpi_ids):
        direction = rng.choice(["higher", "lower"])
        baseline = rng.randint(50, 150)
        target = baseline * (130 if direction == "higher" else 70) // 100
        owner = rng.choice(owners)
        kpi_rows.append((pk, org.pk, f"KPI {n + 1:04d}", "", "%", direction, baseline,
                         month_add(first, -1), target, month_add(first, spec.readings + 6),
                         "monthly", owner, True, now, now, now))
        for m in range(spec.readings):
            progress = (target - baseline) * (m + 1) * rng.randint(60, 110) // (100 * 30)
            reading_rows.append((org.pk, pk, month_add(first, m), baseline + progress, "",
                                 owner, now))
        link_rows.append((org.pk, pk, rng.choice(init_ids), 1))
    return {
        "kpis": copy_rows(cursor, kpi, [
            "id", "organization", "name", "description", "unit", "direction", "baseline",
            "baseline_date", "target", "target_date", "frequency", "owner", "needs_recompute",
            "dirty_since", "created_at", "updated_at"], kpi_rows),
        "kpi_readings": copy_rows(cursor, reading, [
            "organization", "kpi", "period", "value", "comment", "entered_by", "entered_at"],
            reading_rows),
        "kpi_links": copy_rows(cursor, link, ["organization", "kpi", "initiative", "weight"],
                               link_rows),
    }


def _history(cursor, org_id: int, *, now: datetime) -> int:
    """The pghistory events the triggers would have written, at believable times."""
    from governance.models import Escalation
    from kpis.models import Kpi, KpiReading

    now_sql = f"'{now.isoformat()}'::timestamptz"
    total = 0
    # Initiatives: created in Identified, then one update per stage move.
    total += backfill_events(cursor, Initiative, org_id=org_id, at_sql='t."created_at"',
                             overrides={"stage": "'identified'", "resume_stage": "''",
                                        "hold_reason": "''", "cancel_reason": "''"})
    total += backfill_events(
        cursor, Initiative, org_id=org_id, label="update", at_sql='se."at"',
        joins='JOIN "governance_stageevent" se ON se."initiative_id" = t."id"',
        overrides={"stage": 'se."to_stage"'})
    total += backfill_events(cursor, ImpactLine, org_id=org_id,
                             joins='JOIN "initiatives_initiative" i ON i."id" = t."initiative_id"',
                             at_sql='i."created_at"')
    # Values: plans with the initiative, forecasts at the Decided gate (or, for every tenth
    # active initiative, 10 % higher then and revised to today's amount in the last 25
    # days), actuals five days after their month.
    joins = ('JOIN "initiatives_impactline" l ON l."id" = t."line_id" '
             'JOIN "initiatives_initiative" i ON i."id" = l."initiative_id" '
             'LEFT JOIN "governance_stageevent" d ON d."initiative_id" = i."id" '
             'AND d."to_stage" = \'decided\'')
    revised = ('t."kind" = \'forecast\' AND i."id" %% 10 = 0 AND i."stage" IN '
               '(\'decided\', \'implemented\')')
    total += backfill_events(
        cursor, MonthlyValue, org_id=org_id, joins=joins,
        at_sql=(f'CASE t."kind" WHEN \'planned\' THEN i."created_at" + interval \'1 day\' '
                f'WHEN \'forecast\' THEN COALESCE(d."at", i."created_at") + interval \'1 day\' '
                f'ELSE LEAST({now_sql}, t."month" + interval \'1 month 5 days\') END'),
        overrides={"amount": f'CASE WHEN {revised} THEN round(t."amount" * 1.1, 2) '
                             f'ELSE t."amount" END'})
    total += backfill_events(
        cursor, MonthlyValue, org_id=org_id, joins=joins, label="update",
        at_sql=f'{now_sql} - (i."id" %% 25 + 1) * interval \'1 day\'', where=f"AND {revised}")
    # Milestones: planned at creation, done on their done date.
    mjoin = 'JOIN "initiatives_initiative" i ON i."id" = t."initiative_id"'
    total += backfill_events(cursor, Milestone, org_id=org_id, joins=mjoin,
                             at_sql='i."created_at"', overrides={"done_date": "NULL"})
    total += backfill_events(cursor, Milestone, org_id=org_id, joins=mjoin, label="update",
                             at_sql='t."done_date" + interval \'17 hours\'',
                             where='AND t."done_date" IS NOT NULL')
    total += backfill_events(cursor, Kpi, org_id=org_id, at_sql='t."created_at"')
    total += backfill_events(cursor, KpiReading, org_id=org_id,
                             at_sql='t."period" + interval \'1 month 3 days\'')
    total += backfill_events(cursor, Escalation, org_id=org_id, at_sql='t."raised_at"')
    return total


# --- reset and main ---------------------------------------------------------------------


def generated_orgs() -> list[Organization]:
    return list(Organization.objects.filter(slug=REFERENCE_SLUG)) + list(
        Organization.objects.filter(slug__startswith=NOISE_PREFIX))


def reset() -> None:
    """Delete every generated organisation with raw DELETEs (a Django cascade over a
    million rows would load them all). Foreign keys are DEFERRABLE INITIALLY DEFERRED,
    so the order of the tables does not matter inside the one transaction."""
    ids = [o.pk for o in generated_orgs()]
    if not ids:
        return
    tables = sorted({m._meta.db_table for m in apps.get_models(include_auto_created=True)
                     if any(f.is_relation and f.related_model is Organization
                            and f.column == "organization_id"
                            for f in m._meta.concrete_fields)})
    with untracked() as cursor:
        for table in tables:
            cursor.execute(f'DELETE FROM "{table}" WHERE "organization_id" = ANY(%s)',  # noqa: S608
                           [ids])
        cursor.execute('DELETE FROM "tenancy_organization" WHERE "id" = ANY(%s)', [ids])
        cursor.execute('DELETE FROM "tenancy_user" WHERE "email" LIKE %s',
                       [f"%@%.{EMAIL_DOMAIN}"])
    log(f"reset: deleted {len(ids)} organisations")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reset", action="store_true", help="delete generated orgs first")
    parser.add_argument("--initiatives", type=int, default=10_000)
    parser.add_argument("--kpis", type=int, default=2_000)
    parser.add_argument("--noise", type=int, default=50, help="number of noise orgs")
    parser.add_argument("--noise-initiatives", type=int, default=20)
    args = parser.parse_args(argv)

    today = date.today()  # the same data for the same day
    password_hash = make_password(PASSWORD)
    started = time.perf_counter()
    with scopes_disabled():
        if args.reset:
            reset()
        specs = [Spec(slug=REFERENCE_SLUG, name="Reference Group", initiatives=args.initiatives,
                      kpis=args.kpis)]
        specs += [Spec(slug=f"{NOISE_PREFIX}{n:02d}", name=f"Noise organisation {n:02d}",
                       initiatives=args.noise_initiatives, kpis=5, readings=12, portfolios=1,
                       programs_per_portfolio=2, units=2, owners=3, code_prefix=f"N{n:02d}")
                  for n in range(1, args.noise + 1)]
        for spec in specs:
            if Organization.objects.filter(slug=spec.slug).exists():
                log(f"{spec.slug}: exists, skipped (use --reset to rebuild)")
                continue
            t0 = time.perf_counter()
            with transaction.atomic():  # all of an organisation or nothing
                counts = build_org(spec, today=today, password_hash=password_hash)
            if spec.slug == REFERENCE_SLUG or spec.slug.endswith("01"):
                detail = ", ".join(f"{k} {v:,}" for k, v in counts.items())
                log(f"{spec.slug}: {detail} in {time.perf_counter() - t0:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    log(f"done in {time.perf_counter() - started:.1f} s; log in as "
        f"executive001@{REFERENCE_SLUG}.{EMAIL_DOMAIN} / {PASSWORD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

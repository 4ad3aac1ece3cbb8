"""The dry run: ``Checker`` resolves and checks the rows of one file inside one
organisation, with the services' own rules, and gives a ``Report`` (every problem with
its sheet, row and column, and per initiative code the ``Unit`` to write)."""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from cat4.common.exceptions import ApplicationError
from cat4.tenancy.models import Membership
from cat4.tenancy.selectors import member_list
from initiatives import permissions as initiative_permissions
from initiatives import services as initiative_services
from initiatives.models import (
    BusinessUnit,
    Function,
    ImpactCategory,
    ImpactLine,
    Initiative,
    MonthlyValue,
    Program,
    Stage,
    ValueKind,
)

from .cells import (
    CellProblem,
    cell_amount,
    cell_cadence,
    cell_choice,
    cell_date,
    cell_month,
    cell_recurring,
    cell_text,
)
from .workbook import INITIATIVES, Parsed, Row

PROGRESS_EVERY = 100  # rows between two progress commits


@dataclass
class Cell:
    row: Row
    code: str
    line: str
    category: str
    recurring: bool | None
    month: dt.date
    kind: str
    amount: Decimal
    line_id: int | None = None
    changed: bool = True


@dataclass
class Unit:
    """Everything the file says about one initiative code."""

    code: str
    row: Row | None = None
    initiative: Initiative | None = None  # the existing one
    fields: dict = field(default_factory=dict)  # cleaned, for initiative_create
    changes: dict = field(default_factory=dict)  # for initiative_update
    cells: list[Cell] = field(default_factory=list)
    values_unchanged: int = 0


@dataclass
class Report:
    units: dict[str, Unit]
    problems: list[dict]  # {"sheet", "row", "column", "message"}
    total: int

    def rejected_rows(self) -> set[tuple[str, int]]:
        return {(p["sheet"], p["row"]) for p in self.problems}

    @property
    def valid(self) -> int:
        return self.total - len(self.rejected_rows())


FIELD_OF_COLUMN = {"owner_email": "owner", "sponsor_email": "sponsor",
                   "controller_email": "controller"}
COLUMN_OF_FIELD = {v: k for k, v in FIELD_OF_COLUMN.items()}


class Checker:
    """Resolves and checks the rows of one file inside one organisation."""

    def __init__(self, *, membership: Membership, parsed: Parsed, progress=None):
        self.membership = membership
        self.org = membership.organization
        self.parsed = parsed
        self.progress = progress or (lambda done, total: None)
        self.problems: list[dict] = []
        self.rejected: set[tuple[str, int]] = set()
        self.duplicates: dict[str, int] = {}
        self.done = 0

    def problem(self, row: Row, column: str, message: str) -> None:
        self.problems.append({"sheet": row.sheet, "row": row.number, "column": column,
                              "message": message})
        self.rejected.add((row.sheet, row.number))

    def tick(self) -> None:
        self.done += 1
        if self.done % PROGRESS_EVERY == 0:
            self.progress(self.done, self.parsed.total)

    def load(self) -> None:
        org = self.org
        self.programs = {p.name.casefold(): p for p in Program.objects.filter(organization=org)}
        self.units_by_name = {u.name.casefold(): u
                              for u in BusinessUnit.objects.filter(organization=org)}
        self.functions = {f.name.casefold(): f for f in Function.objects.filter(organization=org)}
        self.members = {m.user.email.casefold(): m for m in member_list(organization=org)}
        codes = {cell_text(r.raw, "code", required=False)
                 for r in self.parsed.initiatives + self.parsed.values} - {""}
        self.existing: dict[str, Initiative] = {}
        ordered = sorted(codes)
        for start in range(0, len(ordered), 1000):
            for initiative in Initiative.objects.filter(
                    organization=org, code__in=ordered[start:start + 1000]):
                self.existing[initiative.code] = initiative
        ids = [i.pk for i in self.existing.values()]
        self.lines: dict[int, list[ImpactLine]] = {}
        self.current: dict[tuple[int, dt.date, str], Decimal] = {}
        for start in range(0, len(ids), 1000):
            chunk = ids[start:start + 1000]
            for line in ImpactLine.objects.filter(organization=org, initiative_id__in=chunk):
                self.lines.setdefault(line.initiative_id, []).append(line)
            for line_id, month, kind, amount in MonthlyValue.objects.filter(
                    organization=org, line__initiative_id__in=chunk).values_list(
                    "line_id", "month", "kind", "amount"):
                self.current[(line_id, month, kind)] = amount
        self.actuals_entry = initiative_services.value_settings_for(org).actuals_entry

    def run(self) -> Report:
        self.load()
        units: dict[str, Unit] = {}
        first_row: dict[str, int] = {}
        for row in self.parsed.initiatives:
            self.check_initiative(row, units, first_row)
            self.tick()
        # A code given twice: which row is right is not ours to guess, so both are rejected.
        for code, number in first_row.items():
            unit = units.get(code)
            if unit is not None and unit.row is not None and code in self.duplicates:
                self.problem(unit.row, "code", f"code {code} appears twice in the file (rows "
                                               f"{number} and {self.duplicates[code]}).")
        seen_cells: dict[tuple, int] = {}
        seen_lines: dict[tuple, tuple] = {}
        for row in self.parsed.values:
            self.check_value(row, units, seen_cells, seen_lines)
            self.tick()
        self.problems.sort(key=lambda p: (p["sheet"] != INITIATIVES, p["row"]))
        return Report(units, self.problems, self.parsed.total)

    # Initiatives sheet

    def _lookup(self, row: Row, column: str, table: dict, what: str, *, required: bool):
        text = cell_text(row.raw, column, required=required)
        if not text:
            return None
        found = table.get(text.casefold())
        if found is None:
            raise CellProblem(column, f"{what} “{text}” does not exist in this organisation.")
        return found

    def _member(self, row: Row, column: str, *, required: bool):
        text = cell_text(row.raw, column, required=required)
        if not text:
            return None
        membership = self.members.get(text.casefold())
        if membership is None:
            raise CellProblem(column, f"{column} {text} is not a member of this organisation.")
        return membership.user

    def check_initiative(self, row: Row, units: dict, first_row: dict) -> None:
        present = self.parsed.initiative_columns
        values: dict = {}
        bad: set[str] = set()

        def attempt(column, fn):
            try:
                return fn()
            except CellProblem as exc:
                self.problem(row, exc.column, exc.message)
                bad.add(column)
                return None

        code = attempt("code", lambda: cell_text(row.raw, "code", required=True, max_length=20))
        if code and code in first_row:
            self.problem(row, "code", f"code {code} appears twice in the file (rows "
                                      f"{first_row[code]} and {row.number}).")
            self.duplicates.setdefault(code, row.number)
            bad.add("code")
        elif code:
            first_row[code] = row.number
        values["title"] = attempt("title", lambda: cell_text(row.raw, "title", required=True,
                                                             max_length=200))
        if "description" in present:
            values["description"] = cell_text(row.raw, "description", required=False)
        values["program"] = attempt("program", lambda: self._lookup(
            row, "program", self.programs, "program", required=True))
        values["owner"] = attempt("owner_email", lambda: self._member(row, "owner_email",
                                                                      required=True))
        for column in ("sponsor_email", "controller_email"):
            if column in present:
                values[FIELD_OF_COLUMN[column]] = attempt(
                    column, lambda c=column: self._member(row, c, required=False))
        if "business_unit" in present:
            values["business_unit"] = attempt("business_unit", lambda: self._lookup(
                row, "business_unit", self.units_by_name, "business unit", required=False))
        if "function" in present:
            values["function"] = attempt("function", lambda: self._lookup(
                row, "function", self.functions, "function", required=False))
        for column in ("start_date", "target_date"):
            values[column] = attempt(column, lambda c=column: cell_date(row.raw, c))
        cadence = attempt("update_cadence_days", lambda: cell_cadence(row.raw))
        if cadence is not None:
            values["update_cadence_days"] = cadence

        # The services' own rules, field by field so that each names its column.
        for name, value in list(values.items()):
            column = COLUMN_OF_FIELD.get(name, name)
            if column in bad or name in ("start_date", "target_date"):
                continue
            try:
                values.update(initiative_services.initiative_fields_check(
                    organization=self.org, values={name: value}))
            except ApplicationError as exc:
                self.problem(row, column, exc.message)
                bad.add(column)
        if not {"start_date", "target_date"} & bad:
            try:
                initiative_services.initiative_fields_check(
                    organization=self.org, values={"start_date": values["start_date"],
                                                   "target_date": values["target_date"]})
            except ApplicationError:
                self.problem(row, "target_date",
                             f"target_date {values['target_date']} is before start_date "
                             f"{values['start_date']}.")
                bad.add("target_date")
        if not code or "code" in bad:
            return
        unit = units.setdefault(code, Unit(code=code))
        unit.row = row
        unit.initiative = self.existing.get(code)
        if bad:
            return
        if unit.initiative is None:
            if not initiative_permissions.can_create_initiative(membership=self.membership):
                self.problem(row, "code", "Your role does not allow creating initiatives.")
                return
            unit.fields = {"code": code, **values}
            return
        unit.changes = _changes(unit.initiative, values)
        if unit.changes:
            try:
                initiative_permissions.require_edit(membership=self.membership,
                                                    initiative=unit.initiative)
            except ApplicationError as exc:
                self.problem(row, "code", f"{exc.message} It cannot be changed by import.")

    # Values sheet

    def check_value(self, row: Row, units: dict, seen_cells: dict, seen_lines: dict) -> None:
        found: list[CellProblem] = []

        def attempt(fn):
            try:
                return fn()
            except CellProblem as exc:
                found.append(exc)
                return None

        code = attempt(lambda: cell_text(row.raw, "code", required=True, max_length=20))
        line = attempt(lambda: cell_text(row.raw, "line", required=True, max_length=200))
        category = attempt(lambda: cell_choice(row.raw, "category", ImpactCategory))
        recurring = attempt(lambda: cell_recurring(row.raw))
        month = attempt(lambda: cell_month(row.raw))
        kind = attempt(lambda: cell_choice(row.raw, "kind", ValueKind))
        amount = attempt(lambda: cell_amount(row.raw))
        unit = units.get(code) if code else None
        initiative = unit.initiative if unit else self.existing.get(code) if code else None
        if code and unit is None and initiative is None:
            found.append(CellProblem("code", f"code {code} is neither in the Initiatives "
                                             "sheet nor an initiative of this organisation."))
        if (code and unit is not None and unit.row is not None
                and (INITIATIVES, unit.row.number) in self.rejected):
            found.append(CellProblem("code", f"the Initiatives row {unit.row.number} for "
                                             f"{code} is rejected, so this row is too."))
        if found:
            for exc in found:
                self.problem(row, exc.column, exc.message)
            return
        key = (code, line.casefold(), month, kind)
        if key in seen_cells:
            self.problem(row, "month", f"{code} “{line}” {month:%Y-%m} {kind} appears twice in "
                                       f"the file (rows {seen_cells[key]} and {row.number}).")
            return
        seen_cells[key] = row.number
        line_key = (code, line.casefold())
        if line_key in seen_lines:
            first_category, first_recurring, first_row = seen_lines[line_key]
            if category != first_category:
                self.problem(row, "category", f"line “{line}” of {code} is {first_category} "
                                              f"on row {first_row}; one line has one category.")
                return
            if recurring is not None and first_recurring is not None \
                    and recurring != first_recurring:
                self.problem(row, "recurring", f"line “{line}” of {code} has a different "
                                               f"recurring on row {first_row}.")
                return
        else:
            seen_lines[line_key] = (category, recurring, row.number)
        unit = units.setdefault(code, Unit(code=code, initiative=initiative))
        cell = Cell(row, code, line, category, recurring, month, kind, amount)
        try:
            self._check_cell(unit, cell)
        except CellProblem as exc:
            self.problem(row, exc.column, exc.message)
            return
        if cell.changed:
            unit.cells.append(cell)
        else:
            unit.values_unchanged += 1

    def _check_cell(self, unit: Unit, cell: Cell) -> None:
        initiative = unit.initiative
        if initiative is not None:
            lines = [ln for ln in self.lines.get(initiative.pk, [])
                     if ln.description.strip().casefold() == cell.line.casefold()]
            if len(lines) > 1:
                raise CellProblem("line", f"{cell.code} has {len(lines)} lines described "
                                          f"“{cell.line}”; change these values in cat4.")
            if lines:
                existing = lines[0]
                if existing.category != cell.category:
                    raise CellProblem("category", f"line “{cell.line}” of {cell.code} exists "
                                                  f"as {existing.category}; an import cannot "
                                                  "change a line's category.")
                if cell.recurring is not None and existing.recurring != cell.recurring:
                    raise CellProblem("recurring", f"line “{cell.line}” of {cell.code} exists "
                                                   "with a different recurring; an import "
                                                   "cannot change it.")
                cell.line_id = existing.pk
                current = self.current.get((existing.pk, cell.month, cell.kind))
                if current is not None and current == cell.amount:
                    cell.changed = False
                    return
        # The initiative as it will be: the existing one with the file's dates, or a new one
        # (at Identified). Dates come from the file when its row has them.
        subject = _subject(unit)
        if subject is None:
            return  # the initiative row is rejected; reported already
        month_only = {cell.month: None}
        try:
            initiative_services.parse_values(initiative=subject, values=month_only)
        except ApplicationError as exc:
            raise CellProblem("month", f"month {cell.month:%Y-%m}: {exc.message}") from None
        try:
            initiative_services.parse_values(initiative=subject,
                                             values={cell.month: cell.amount})
        except ApplicationError as exc:
            raise CellProblem("amount", f"amount {cell.amount}: {exc.message}") from None
        if not initiative_permissions.can_edit_values(
                membership=self.membership, initiative=subject, kind=cell.kind,
                actuals_entry=self.actuals_entry):
            raise CellProblem("kind", f"Your role does not allow entering {cell.kind} values "
                                      f"for {cell.code}.")
        editable, why = initiative_permissions.value_kind_editable(initiative=subject,
                                                                   kind=cell.kind)
        if not editable:
            stage = Stage(initiative_permissions.effective_stage(subject)).label
            raise CellProblem("kind", f"{cell.kind} for {cell.code} ({stage}): {why}")


def _subject(unit: Unit) -> Initiative | None:
    if unit.initiative is not None:
        subject = Initiative(pk=unit.initiative.pk, organization=unit.initiative.organization,
                             stage=unit.initiative.stage,
                             resume_stage=unit.initiative.resume_stage,
                             owner_id=unit.initiative.owner_id,
                             controller_id=unit.initiative.controller_id,
                             start_date=unit.initiative.start_date,
                             target_date=unit.initiative.target_date)
        for name in ("start_date", "target_date", "owner", "controller"):
            if name in unit.changes:
                setattr(subject, name, unit.changes[name])
        return subject
    if not unit.fields:
        return None
    return Initiative(organization_id=unit.fields["program"].organization_id,
                      owner=unit.fields["owner"], controller=unit.fields.get("controller"),
                      start_date=unit.fields["start_date"],
                      target_date=unit.fields["target_date"])


def _changes(initiative: Initiative, values: dict) -> dict:
    changes = {}
    for name, value in values.items():
        current = getattr(initiative, name)
        if hasattr(value, "pk") or hasattr(current, "pk"):
            same = getattr(current, "pk", None) == getattr(value, "pk", None)
        else:
            same = current == value
        if not same:
            changes[name] = value
    return changes


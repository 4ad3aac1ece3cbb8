"""Writing one checked initiative code (a ``Unit``) through the services:
``initiative_create`` or ``initiative_update``, ``impact_line_create`` and
``monthly_values_set``, so permissions and the audit history apply. Only fields and cells
that differ are written."""

from dataclasses import dataclass

from cat4.tenancy.models import Membership
from initiatives import services as initiative_services
from initiatives.models import Cadence, ImpactLine

from .checker import Unit
from .workbook import Row


@dataclass
class Outcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    values_written: int = 0
    values_unchanged: int = 0


def apply_unit(membership: Membership, unit: Unit, outcome: Outcome) -> None:
    """Write one initiative and its changed values through the services."""
    initiative = unit.initiative
    touched = False
    if unit.row is not None and initiative is None:
        fields = dict(unit.fields)
        fields.setdefault("update_cadence_days", Cadence.MONTHLY)
        initiative = initiative_services.initiative_create(membership=membership, **fields)
        outcome.created += 1
    elif unit.changes:
        initiative = initiative_services.initiative_update(
            membership=membership, initiative_id=initiative.pk, version=initiative.version,
            **unit.changes)
        outcome.updated += 1
        touched = True
    new = unit.row is not None and unit.initiative is None
    lines = {ln.description.strip().casefold(): ln for ln in
             ImpactLine.objects.filter(organization=membership.organization,
                                       initiative=initiative)}
    batches: dict[tuple[int, str], dict] = {}
    for cell in unit.cells:
        line = lines.get(cell.line.casefold())
        if line is None:
            line = initiative_services.impact_line_create(
                membership=membership, initiative_id=initiative.pk, category=cell.category,
                description=cell.line, recurring=True if cell.recurring is None else cell.recurring)
            lines[cell.line.casefold()] = line
        batches.setdefault((line.pk, cell.kind), {})[cell.month] = cell.amount
    for (line_id, kind), values in batches.items():
        initiative_services.monthly_values_set(membership=membership, line_id=line_id,
                                               kind=kind, values=values)
        outcome.values_written += len(values)
    outcome.values_unchanged += unit.values_unchanged
    if not new and not touched:
        if unit.cells:
            outcome.updated += 1
        elif unit.row is not None or unit.values_unchanged:
            outcome.unchanged += 1


def unit_rows(unit: Unit) -> list[Row]:
    return ([unit.row] if unit.row is not None else []) + [c.row for c in unit.cells]


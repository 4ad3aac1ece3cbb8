"""The report of what changed: its kinds of change and the flat, dated view the board
pack's appendix uses."""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from cat4.common.money import format_money
from cat4.common.rag import Rag
from initiatives.models import Stage

ZERO = Decimal("0")


@dataclass
class Totals:
    """Benefit totals of one initiative over its whole horizon."""

    planned: Decimal = ZERO
    forecast: Decimal = ZERO
    actual: Decimal = ZERO
    outturn: Decimal = ZERO


@dataclass
class InitiativeRef:
    id: int
    code: str
    title: str

    @property
    def subject(self) -> str:
        return f"{self.code} {self.title}"


@dataclass
class StageMove:
    at: datetime
    initiative: InitiativeRef
    from_stage: str
    to_stage: str
    actor: str
    reason: str

    @property
    def from_label(self) -> str:
        return Stage(self.from_stage).label

    @property
    def to_label(self) -> str:
        return Stage(self.to_stage).label


@dataclass
class ValueChange:
    initiative: InitiativeRef
    then: Totals
    now: Totals

    @property
    def delta(self) -> Totals:
        return Totals(*(getattr(self.now, k) - getattr(self.then, k)
                        for k in ("planned", "forecast", "actual", "outturn")))


@dataclass
class RagChange:
    initiative: InitiativeRef
    kind: str  # "financial" or "schedule"
    then: Rag
    now: Rag


@dataclass
class EscalationChange:
    at: datetime
    escalation_id: int
    initiative_id: int | None
    subject: str
    rule: str
    level: int
    explanation: str


@dataclass(frozen=True)
class ChangeEntry:
    """One line of the flat, chronological view of a report (board pack appendix)."""

    at: datetime | None
    kind: str
    subject: str
    detail: str
    initiative_id: int | None = None


@dataclass
class ChangeReport:
    since: date
    moment: datetime
    currency: str
    stage_moves: list[StageMove] = field(default_factory=list)
    value_changes: list[ValueChange] = field(default_factory=list)
    rag_changes: list[RagChange] = field(default_factory=list)
    escalations_raised: list[EscalationChange] = field(default_factory=list)
    escalations_resolved: list[EscalationChange] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.stage_moves or self.value_changes or self.rag_changes
                    or self.escalations_raised or self.escalations_resolved)

    def entries(self) -> list[ChangeEntry]:
        """Every change as one line, oldest first (value and RAG changes, which have no
        single time, come after the dated ones)."""
        money = lambda x: format_money(x, self.currency)  # noqa: E731
        dated = [ChangeEntry(m.at, "stage", m.initiative.subject,
                             f"{m.from_label} → {m.to_label} by {m.actor}", m.initiative.id)
                 for m in self.stage_moves]
        dated += [ChangeEntry(e.at, "escalation_raised", e.subject, f"Raised: {e.rule}",
                              e.initiative_id) for e in self.escalations_raised]
        dated += [ChangeEntry(e.at, "escalation_resolved", e.subject, f"Resolved: {e.rule}",
                              e.initiative_id) for e in self.escalations_resolved]
        dated.sort(key=lambda e: (e.at, e.kind, e.subject))
        undated = [ChangeEntry(None, "value", c.initiative.subject,
                               f"plan {money(c.then.planned)} → {money(c.now.planned)}, "
                               f"forecast {money(c.then.forecast)} → {money(c.now.forecast)}, "
                               f"actual {money(c.then.actual)} → {money(c.now.actual)}",
                               c.initiative.id) for c in self.value_changes]
        undated += [ChangeEntry(None, f"rag_{c.kind}", c.initiative.subject,
                                f"{c.kind} {c.then.colour} → {c.now.colour}: "
                                f"{c.now.explanation}", c.initiative.id)
                    for c in self.rag_changes]
        return dated + undated

    def __iter__(self):
        return iter(self.entries())

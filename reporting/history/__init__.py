"""What changed since a date, and the portfolio as it was on a date, read from the audit
history only: the pghistory event tables (``InitiativeEvent``, ``ImpactLineEvent``,
``MonthlyValueEvent``, ``MilestoneEvent``), the explicit decision rows (``StageEvent``,
``Escalation``) and the append-only status updates. No copy of anything is kept for this.

Moments. ``changes_since(since=d)`` compares the state at the start of day ``d`` (midnight
in the organisation's time zone) with the current rows: everything recorded on or after
``d`` counts as a change. ``portfolio_as_of(when=d)`` is the state at the end of day ``d``.
"The state at moment t" of a row is its latest event strictly before t, unless that
event is a delete (``DISTINCT ON (key) ... ORDER BY key, pgh_created_at DESC, pgh_id
DESC``, in SQL, one statement per kind of row).

Values are keyed by (line, month, kind), as the unique constraint on ``MonthlyValue``;
lines by their id, with the category they had then. Totals are benefit lines only
(one-time costs are judged in the RAG, not added to benefits), as on the dashboard.

RAG then vs now: ``reporting.rollups.judge``, the function behind the dashboard's colours
(which gives the same colours as the initiative page), judges each side: then as of the
start of ``since``, judged on ``since``; now from the current rows, judged today. Its
inputs on each side: the initiative's stage, creation date and update cadence (then: its
latest event), its newest status update (status updates are append-only, only
``initiatives.services.status_update_create`` writes them, so the newest one created
before the moment is the one that was newest then), its milestones (as they were, and
today's), and its impact lines' totals over the whole horizon (outturn = actual where a
month has one, else forecast). So the staleness rule applies on both sides: a stale
initiative is never green, exactly as on the dashboard. Both sides use the organisation's
current thresholds (``ValueSettings`` is not audited).

Filters (portfolio, program, business unit, owner) mean what they mean on the dashboard:
changes are filtered on the initiative's current place and owner; the portfolio as of a
date on the place and owner it had on that date.

- ``as_of``: the portfolio at the end of a day, and beside today (``AsOfComparison``).
- ``changes``: ``changes_since``; ``report``: the report and its kinds of change;
  ``value_and_rag``: the value and RAG changes, judged on both sides.
- ``query``: the moments, the filters as SQL and running a statement.
"""

from .as_of import (
    AsOfComparison,
    Change,
    Headline,
    PortfolioAsOf,
    StageChange,
    StageCount,
    as_of_comparison,
    portfolio_as_of,
)
from .changes import changes_since
from .query import clean_filters
from .report import (
    ChangeEntry,
    ChangeReport,
    EscalationChange,
    RagChange,
    StageMove,
    Totals,
    ValueChange,
)

__all__ = ["AsOfComparison", "Change", "ChangeEntry", "ChangeReport", "EscalationChange",
           "Headline", "PortfolioAsOf", "RagChange", "StageChange", "StageCount", "StageMove",
           "Totals", "ValueChange", "as_of_comparison", "changes_since", "clean_filters",
           "portfolio_as_of"]

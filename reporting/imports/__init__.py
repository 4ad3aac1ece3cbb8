"""The Excel import of initiatives and their monthly values (issue #5).

One code path for every file: ``import_upload`` checks the file as a whole (type, size,
sheets, headers, formulas, row count) and stores an ImportJob; ``run_job`` then does the
dry run (``CHECKING`` -> ``CHECKED``: a row-level report, nothing written) or the import
(``IMPORTING`` -> ``IMPORTED``). Small files run it inline, large ones in the Celery task
``reporting.run_import``; either way progress is committed as it goes.

- ``workbook``: sheets, columns and limits, the template, reading an upload, the
  workbook of rejected rows.
- ``cells``: parsing one cell (text, date, month, amount, yes/no, choice, cadence).
- ``checker``: the dry run, row by row, inside the organisation.
- ``writer``: writing one checked initiative code through the services.
- ``jobs``: the ImportJob: upload, start, run, progress.

Rules (docs/architecture.md, "Excel import"):
- Every name, email and code is resolved inside the organisation only; another
  organisation's program, member or initiative "does not exist".
- Rows are checked by the same rules the services apply (``initiative_fields_check``,
  ``parse_values``, ``value_kind_editable``, ``can_edit_values``), and written through
  the services themselves (``initiative_create``, ``initiative_update``,
  ``impact_line_create``, ``monthly_values_set``), so permissions and the audit history
  apply.
- Idempotent by initiative code: an initiative whose fields and values already match is
  "unchanged" and nothing is written (no history row either).
- "Everything" is all or nothing (one transaction) and only allowed after a clean dry
  run; "only the valid rows" writes one initiative (with its valid values rows) per
  transaction. A rejected values row is rejected on its own; a rejected initiative row
  rejects its values rows too.
"""

from .jobs import (
    import_job_get,
    import_job_list,
    import_start,
    import_upload,
    mode_refusal,
    run_job,
)
from .workbook import (
    COLUMNS,
    INITIATIVE_COLUMNS,
    INITIATIVES,
    MAX_BYTES,
    MAX_ROWS,
    VALUE_COLUMNS,
    VALUES,
    FileProblem,
    template_workbook,
)

__all__ = ["COLUMNS", "INITIATIVES", "INITIATIVE_COLUMNS", "MAX_BYTES", "MAX_ROWS",
           "VALUES", "VALUE_COLUMNS", "FileProblem", "import_job_get", "import_job_list",
           "import_start", "import_upload", "mode_refusal", "run_job", "template_workbook"]

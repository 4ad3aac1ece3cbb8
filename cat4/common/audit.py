"""What the audit trail records for a tracked model: a full row snapshot on
insert, update and delete, with the request's user and URL as context
(pghistory.middleware.HistoryMiddleware). Event tables are append-only."""

import pghistory


def audited(model):
    """Class decorator: keep the full history of ``model`` in an event table."""
    # Fresh tracker instances per model: pghistory binds them to the model.
    return pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(),
                           pghistory.DeleteEvent())(model)

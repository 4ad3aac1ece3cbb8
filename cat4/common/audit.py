"""What the audit trail records for a tracked model: a full row snapshot on
insert, update and delete, with the request's user and URL as context
(pghistory.middleware.HistoryMiddleware). Event tables are append-only."""

import pghistory


def audited(model=None, *, indexes=()):
    """Class decorator: keep the full history of ``model`` in an event table.

    ``@audited(indexes=[models.Index(...)])`` also gives the event table those indexes
    (on the snapshot's fields or the ``pgh_*`` ones), for readers of a large history."""

    def track(model):
        # Fresh tracker instances per model: pghistory binds them to the model.
        return pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(),
                               pghistory.DeleteEvent(),
                               meta={"indexes": list(indexes)} if indexes else None)(model)

    return track(model) if model is not None else track

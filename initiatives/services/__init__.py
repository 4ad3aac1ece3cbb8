"""Every write to initiatives and what hangs off them.

Each service takes the acting ``membership``, checks permission, validates
every id against the organisation, runs in one transaction, and raises
ApplicationError (with the field it concerns) when a rule refuses. History is
recorded by the pghistory triggers; stage changes live in governance.

One module per kind of thing (base, initiatives, milestones, values, updates,
configuration, risks); callers import every service from here.
"""

from cat4.common.exceptions import ConflictError, StaleVersionError

from .base import (
    value_settings_for,
)
from .configuration import (
    LIST_MODELS,
    list_item_create,
    list_item_delete,
    value_settings_update,
)
from .initiatives import (
    FIELDS,
    initiative_create,
    initiative_fields_check,
    initiative_update,
)
from .milestones import (
    milestone_create,
    milestone_delete,
    milestone_update,
)
from .risks import (
    dependency_add,
    dependency_remove,
    risk_add,
    risk_update,
)
from .updates import (
    status_update_create,
)
from .values import (
    impact_line_create,
    monthly_values_set,
    parse_values,
    write_values,
)

__all__ = [
    "FIELDS",
    "LIST_MODELS",
    "ConflictError",
    "StaleVersionError",
    "dependency_add",
    "dependency_remove",
    "impact_line_create",
    "initiative_create",
    "initiative_fields_check",
    "initiative_update",
    "list_item_create",
    "list_item_delete",
    "milestone_create",
    "milestone_delete",
    "milestone_update",
    "monthly_values_set",
    "parse_values",
    "risk_add",
    "risk_update",
    "status_update_create",
    "value_settings_for",
    "value_settings_update",
    "write_values",
]

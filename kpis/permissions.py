"""Who may do what with KPIs."""

from cat4.tenancy.models import Membership, Role

from .models import Kpi


def can_view_kpis(*, membership: Membership | None) -> bool:
    return membership is not None


def can_manage_kpis(*, membership: Membership | None) -> bool:
    """Define KPIs and link them: the transformation office (admins) and executives."""
    return membership is not None and membership.role in {Role.ADMIN, Role.EXECUTIVE}


def can_record_reading(*, membership: Membership | None, kpi: Kpi) -> bool:
    """The KPI's owner enters its readings; admins may too."""
    if membership is None or membership.role == Role.VIEWER:
        return False
    return membership.role == Role.ADMIN or kpi.owner_id == membership.user_id

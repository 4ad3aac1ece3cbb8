"""About 30 demo KPIs per demo organisation with 24 months of readings: most on
track, some drifting off, some no longer reported (stale). Deterministic and
idempotent (an organisation that has KPIs is left alone)."""

import random
from datetime import date
from decimal import Decimal

from django.utils import timezone

from cat4.common.months import add_months
from cat4.tenancy.models import Membership, Organization, Role
from initiatives.models import Initiative, StrategicObjective

from . import services
from .models import Kpi

NAMES = [
    ("On-time delivery", "%", "higher", 82, 95),
    ("Cost to serve per pallet", "EUR", "lower", 14, 11),
    ("CO2 per shipment", "kg", "lower", 21, 15),
    ("Order cycle time", "days", "lower", 6, 4),
    ("Warehouse utilisation", "%", "higher", 71, 85),
    ("Damage rate", "%", "lower", 2, 1),
    ("Fleet availability", "%", "higher", 88, 96),
    ("Empty kilometres", "%", "lower", 24, 15),
    ("Invoice accuracy", "%", "higher", 93, 99),
    ("Days sales outstanding", "days", "lower", 52, 40),
    ("Agency spend", "k EUR", "lower", 420, 200),
    ("Staff turnover", "%", "lower", 18, 12),
    ("Customer satisfaction", "pts", "higher", 71, 82),
    ("First-time fix rate", "%", "higher", 76, 88),
    ("Procurement savings", "k EUR", "higher", 0, 900),
    ("Energy use", "MWh", "lower", 410, 330),
    ("Theatre utilisation", "%", "higher", 74, 86),
    ("Sick leave", "%", "lower", 6, 4),
    ("Digital adoption", "%", "higher", 35, 70),
    ("Supplier count", "count", "lower", 640, 420),
    ("Stock turns", "turns", "higher", 7, 10),
    ("Overtime hours", "h", "lower", 5200, 3800),
    ("Claims per 1,000 orders", "count", "lower", 9, 5),
    ("Pick rate", "lines/h", "higher", 110, 135),
    ("Forecast accuracy", "%", "higher", 68, 80),
    ("Contract coverage", "%", "higher", 55, 85),
    ("Lost-time injuries", "count", "lower", 14, 6),
    ("Rework rate", "%", "lower", 7, 3),
    ("Self-service share", "%", "higher", 22, 50),
    ("Waste to landfill", "t", "lower", 380, 250),
]


def seed_kpis(org: Organization, *, today: date | None = None) -> int:
    if Kpi.objects.filter(organization=org).exists():
        return 0
    today = today or timezone.localdate()
    rng = random.Random(f"cat4-kpis-{org.slug}")  # noqa: S311 (demo data, not security)
    admin = Membership.objects.filter(organization=org, role=Role.ADMIN).order_by("pk").first()
    owner = Membership.objects.filter(organization=org, role=Role.OWNER).order_by("pk").first()
    start = add_months(today, -24)
    initiatives = list(Initiative.objects.filter(organization=org).order_by("code"))
    objectives = list(StrategicObjective.objects.filter(organization=org).order_by("code"))
    for index, (name, unit, direction, baseline, target) in enumerate(NAMES):
        kpi = services.kpi_create(
            membership=admin, name=name, unit=unit, direction=direction,
            baseline=str(baseline), baseline_date=start, target=str(target),
            target_date=add_months(start, 36), owner=owner.user)
        # Most follow the path with noise; every fourth drifts off; every seventh stops.
        drift = Decimal("0.55") if index % 4 == 3 else Decimal("1")
        last = 24 - (4 if index % 7 == 6 else 0)
        step = Decimal(target - baseline) / 36
        for m in range(last):
            noise = Decimal(rng.uniform(-0.6, 0.6)).quantize(Decimal("0.01")) * abs(step)
            value = (Decimal(baseline) + step * m * drift + noise).quantize(Decimal("0.1"))
            services.reading_record(membership=owner, kpi_id=kpi.pk,
                                    period=add_months(start, m), value=str(value))
        if initiatives:
            services.kpi_link(membership=admin, kpi_id=kpi.pk,
                              initiative=initiatives[index % len(initiatives)].pk)
        if objectives:
            services.kpi_link(membership=admin, kpi_id=kpi.pk,
                              objective=objectives[index % len(objectives)].pk)
        services.kpi_recompute(kpi_id=kpi.pk)
    return len(NAMES)

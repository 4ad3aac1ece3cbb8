"""The demo organisations and logins (plain data, no Django imports).

Used by ``manage.py seed_demo`` and printed by ``make run``; README.md lists
the same logins.
"""

DEMO_PASSWORD = "cat4-demo-2026"  # noqa: S105 (documented demo login)

DEMO_ORGANIZATIONS = [
    {
        "slug": "northwind",
        "name": "Northwind Logistics",
        "base_currency": "EUR",
        "fiscal_year_start_month": 1,
        "time_zone": "Europe/Berlin",
        "users": [
            ("admin@northwind.example", "Nadia Admin", "admin"),
            ("exec@northwind.example", "Erik Lindqvist", "executive"),
            ("controller@northwind.example", "Clara Weber", "controller"),
            ("owner@northwind.example", "Omar Haddad", "owner"),
            ("viewer@northwind.example", "Vera Novak", "viewer"),
        ],
    },
    {
        "slug": "aurora",
        "name": "Aurora Health Group",
        "base_currency": "GBP",
        "fiscal_year_start_month": 4,
        "time_zone": "Europe/London",
        "users": [
            ("admin@aurora.example", "Amelia Grant", "admin"),
            ("exec@aurora.example", "Edward Shaw", "executive"),
            ("controller@aurora.example", "Chloe Patel", "controller"),
            ("owner@aurora.example", "Oliver Bennett", "owner"),
            ("viewer@aurora.example", "Victoria Hughes", "viewer"),
        ],
    },
]

# A consultant who serves both clients, in a different role in each.
DEMO_CONSULTANT = {
    "email": "consultant@meridian-advisory.example",
    "full_name": "Sam Carter",
    "roles": {"northwind": "admin", "aurora": "executive"},
}


def demo_logins() -> list[tuple[str, str]]:
    """(email, where and as what) for every demo login."""
    rows = []
    for org in DEMO_ORGANIZATIONS:
        for email, _name, role in org["users"]:
            rows.append((email, f"{org['name']}: {role}"))
    roles = ", ".join(
        f"{org['name']}: {DEMO_CONSULTANT['roles'][org['slug']]}" for org in DEMO_ORGANIZATIONS
    )
    rows.append((DEMO_CONSULTANT["email"], roles))
    return rows

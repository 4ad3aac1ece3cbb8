"""Create the demo organisations, logins and portfolios. Safe to run again: what
exists is left as it is. It lives in reporting, the app that depends on all the others,
because it ends by computing the dashboard's rollups."""

from django.core.management.base import BaseCommand
from django.db import transaction
from django_scopes import scopes_disabled

from cat4.tenancy.demo import seed_organisations
from governance.demo import seed_escalations, seed_portfolio
from kpis.demo import seed_kpis
from reporting.rollups import rebuild


class Command(BaseCommand):
    help = "Create the demo organisations, logins and portfolios (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--no-portfolio", action="store_true",
                            help="Only organisations and logins, no initiatives.")

    @transaction.atomic
    def handle(self, *args, **options):
        orgs, memberships = seed_organisations()
        initiatives = kpis = escalations = 0
        if not options["no_portfolio"]:
            with scopes_disabled():
                for org in orgs:
                    initiatives += seed_portfolio(org)
                    kpis += seed_kpis(org)
                    escalations += seed_escalations(org)
            for org in orgs:  # the dashboard's figures at once, not in five minutes
                rebuild(organization=org)
        self.stdout.write(self.style.SUCCESS(
            f"Demo data ready: {len(orgs)} organisations, {memberships} new membership(s), "
            f"{initiatives} new initiative(s), {kpis} new KPI(s), {escalations} open "
            "escalation(s)."))

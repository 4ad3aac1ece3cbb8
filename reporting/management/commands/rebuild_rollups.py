"""Rebuild the dashboard's rollups now, in this process (the five-minute job does the
same for every organisation):

    python manage.py rebuild_rollups                 # every organisation
    python manage.py rebuild_rollups acme globex     # these organisations
    python manage.py rebuild_rollups --full acme     # every line summed again

``--full`` sums every impact line's values again instead of only the lines marked as
changed: for repairs, e.g. after rows were edited around the application while the
triggers of reporting migration 0002 were disabled.
"""

from django.core.management.base import BaseCommand, CommandError
from django_scopes import scopes_disabled

from cat4.tenancy.models import Organization
from reporting.rollups import rebuild


class Command(BaseCommand):
    help = "Rebuild the dashboard's rollups of some or all organisations now."

    def add_arguments(self, parser):
        parser.add_argument("slugs", nargs="*", help="Organisation slugs (default: all).")
        parser.add_argument("--full", action="store_true",
                            help="Sum every line's values again, not only changed lines.")

    def handle(self, *args, slugs=(), full=False, **options):
        with scopes_disabled():  # chosen organisations, one by one: across tenants on purpose
            orgs = list(Organization.objects.filter(slug__in=slugs) if slugs
                        else Organization.objects.all())
        missing = set(slugs) - {o.slug for o in orgs}
        if missing:
            raise CommandError(f"No organisation {', '.join(sorted(missing))}.")
        for org in orgs:
            run = rebuild(organization=org, full=full)
            self.stdout.write(f"{org.slug}: {run.initiatives} initiatives, "
                              f"{run.lines_summed} lines summed, {run.duration_ms} ms")

"""Create (or bring up to date) the demo organisations and their users. Idempotent."""

from django.core.management.base import BaseCommand
from django.db import transaction
from django_scopes import scopes_disabled

from cat4.tenancy.demo_data import DEMO_CONSULTANT, DEMO_ORGANIZATIONS, DEMO_PASSWORD
from cat4.tenancy.models import Membership, MembershipEvent, Organization, User


class Command(BaseCommand):
    help = "Create the demo organisations and logins (safe to run again)."

    @transaction.atomic
    def handle(self, *args, **options):
        with scopes_disabled():
            created = 0
            for spec in DEMO_ORGANIZATIONS:
                org, _ = Organization.objects.update_or_create(
                    slug=spec["slug"],
                    defaults={key: spec[key] for key in
                              ("name", "base_currency", "fiscal_year_start_month", "time_zone")},
                )
                for email, full_name, role in spec["users"]:
                    created += self._member(org, email, full_name, role)
                created += self._member(org, DEMO_CONSULTANT["email"], DEMO_CONSULTANT["full_name"],
                                        DEMO_CONSULTANT["roles"][spec["slug"]])
        self.stdout.write(self.style.SUCCESS(
            f"Demo data ready: {len(DEMO_ORGANIZATIONS)} organisations, "
            f"{created} new membership(s)."))

    def _member(self, org, email, full_name, role) -> int:
        user, user_created = User.objects.get_or_create(email=email,
                                                        defaults={"full_name": full_name})
        if user_created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        _membership, created = Membership.objects.get_or_create(
            organization=org, user=user, defaults={"role": role})
        if created:
            MembershipEvent.objects.create(organization=org, action=MembershipEvent.Action.JOINED,
                                           actor=None, subject_email=email, subject_user=user,
                                           new_role=role)
        return int(created)

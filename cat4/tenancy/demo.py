"""Create (or bring up to date) the demo organisations and their users. Idempotent."""

from django_scopes import scopes_disabled

from .demo_data import DEMO_CONSULTANT, DEMO_ORGANIZATIONS, DEMO_PASSWORD
from .models import Membership, MembershipEvent, Organization, User


def seed_organisations() -> tuple[list[Organization], int]:
    """Returns the demo organisations and how many memberships were new."""
    created = 0
    orgs = []
    with scopes_disabled():
        for spec in DEMO_ORGANIZATIONS:
            org, _ = Organization.objects.update_or_create(
                slug=spec["slug"],
                defaults={key: spec[key] for key in
                          ("name", "base_currency", "fiscal_year_start_month", "time_zone")},
            )
            orgs.append(org)
            for email, full_name, role in spec["users"]:
                created += _member(org, email, full_name, role)
            created += _member(org, DEMO_CONSULTANT["email"], DEMO_CONSULTANT["full_name"],
                               DEMO_CONSULTANT["roles"][spec["slug"]])
    return orgs, created


def _member(org, email, full_name, role) -> int:
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

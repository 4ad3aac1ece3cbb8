"""factory_boy factories. Tenant-owned rows always take their organisation from
the parent they hang off, so a factory never builds a cross-tenant row by accident."""

import datetime as _dt

import factory
from django.utils import timezone

from cat4.tenancy.models import Invitation, Membership, Organization, Role, User
from initiatives.models import ImpactLine, Initiative, Milestone, Portfolio, Program

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    full_name = factory.Faker("name")
    password = factory.django.Password(PASSWORD)


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Organisation {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")
    base_currency = "EUR"
    fiscal_year_start_month = 1
    time_zone = "Europe/Berlin"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.VIEWER


class InvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invitation

    organization = factory.SubFactory(OrganizationFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@example.test")
    role = Role.OWNER
    token_hash = factory.Sequence(lambda n: f"{n:064d}")
    expires_at = factory.LazyFunction(lambda: timezone.now() + timezone.timedelta(days=14))


# --- Initiatives ---------------------------------------------------------------


class PortfolioFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Portfolio

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Portfolio {n}")


class ProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Program

    portfolio = factory.SubFactory(PortfolioFactory)
    organization = factory.SelfAttribute("portfolio.organization")
    name = factory.Sequence(lambda n: f"Program {n}")


class InitiativeFactory(factory.django.DjangoModelFactory):
    """An initiative in the Identified stage; owner must be a member of the org."""

    class Meta:
        model = Initiative

    program = factory.SubFactory(ProgramFactory)
    organization = factory.SelfAttribute("program.organization")
    code = factory.Sequence(lambda n: f"IN-{n:04d}")
    title = factory.Sequence(lambda n: f"Initiative {n}")
    start_date = _dt.date(2026, 1, 1)
    target_date = _dt.date(2027, 12, 31)


class MilestoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Milestone

    initiative = factory.SubFactory(InitiativeFactory)
    organization = factory.SelfAttribute("initiative.organization")
    title = factory.Sequence(lambda n: f"Milestone {n}")
    due_date = _dt.date(2026, 6, 30)


class ImpactLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ImpactLine

    initiative = factory.SubFactory(InitiativeFactory)
    organization = factory.SelfAttribute("initiative.organization")
    category = "cost_reduction"
    description = factory.Sequence(lambda n: f"Saving {n}")


# --- Escalations (the engine raises them; tests build them directly) ---------------------


class EscalationRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "governance.EscalationRule"

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Rule {n}")
    condition = "stale"
    threshold = 7
    promote_after_days = 5
    top_level = 3


class EscalationFactory(factory.django.DjangoModelFactory):
    """An open escalation of an initiative (pass ``initiative=``; or ``kpi=`` with
    ``subject_type="kpi"``). The organisation comes from the rule."""

    class Meta:
        model = "governance.Escalation"

    rule = factory.SubFactory(EscalationRuleFactory)
    organization = factory.SelfAttribute("rule.organization")
    initiative = None
    kpi = None
    subject_type = "initiative"
    subject_id = factory.LazyAttribute(
        lambda o: (o.kpi.pk if o.kpi is not None else o.initiative.pk if o.initiative else 1))
    subject_label = factory.LazyAttribute(
        lambda o: (o.kpi.name if o.kpi is not None
                   else f"{o.initiative.code} {o.initiative.title}" if o.initiative
                   else "Something"))
    period = factory.Sequence(lambda n: f"2026-{n:05d}")
    inputs = factory.LazyFunction(lambda: {"days_overdue": 9, "threshold": 7})
    explanation = "No status update for 9 days; the rule allows 7."
    level = 1
    level_since = factory.LazyFunction(timezone.now)
    raised_at = factory.LazyFunction(timezone.now)


class EscalationNoticeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "governance.EscalationNotice"

    escalation = factory.SubFactory(EscalationFactory)
    organization = factory.SelfAttribute("escalation.organization")
    level = 1
    recipient = factory.SubFactory(UserFactory)
    notified_at = factory.LazyFunction(timezone.now)

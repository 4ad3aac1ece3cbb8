"""Escalation rules (admins) and what people do with escalations: acknowledge and
resolve, each with a comment, in the right state, by the right people, inside their
own organisation."""

from decimal import Decimal

import pytest
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from cat4.common.exceptions import ApplicationError, NotFoundError, PermissionDeniedError
from cat4.tenancy.models import Role
from governance import permissions, selectors, services
from governance.models import (
    Escalation,
    EscalationRule,
    EscalationState,
    Notification,
    NotificationKind,
)
from kpis.models import Kpi
from tests.factories import (
    EscalationFactory,
    EscalationNoticeFactory,
    EscalationRuleFactory,
    InitiativeFactory,
    MembershipFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def _admin(world):
    return world.a[Role.ADMIN].membership


def _create(world, **kwargs):
    values = {"name": "Stale initiatives", "condition": "stale", "threshold": 7}
    values.update(kwargs)
    return services.escalation_rule_create(membership=_admin(world), **values)


def _escalation(world, **kwargs):
    kwargs.setdefault("initiative", world.initiative)
    with scopes_disabled():
        return EscalationFactory(rule__organization=world.org_a, **kwargs)


def _refused(call, field=None, match=None, error=ApplicationError):
    with pytest.raises(error, match=match) as exc:
        call()
    if field is not None:
        assert exc.value.field == field
    return exc.value


# --- Rules ------------------------------------------------------------------------------


def test_an_admin_creates_a_rule_with_its_defaults(world):
    rule = _create(world, threshold="7")
    assert (rule.name, rule.condition, rule.threshold) == ("Stale initiatives", "stale",
                                                           Decimal("7.00"))
    assert (rule.promote_after_days, rule.top_level, rule.active) == (5, 3, True)
    assert rule.organization == world.org_a


def test_financial_red_takes_no_threshold_and_ignores_one(world):
    assert _create(world, condition="financial_red", threshold=None).threshold is None
    assert _create(world, name="Red money", condition="financial_red",
                   threshold=12).threshold is None


@pytest.mark.parametrize(("values", "field", "message"), [
    ({"name": ""}, "name", "Give the rule a name"),
    ({"name": "   "}, "name", "Give the rule a name"),
    ({"name": "x" * 121}, "name", "at most 120 characters"),
    ({"condition": "moon_phase"}, "condition", "Choose one of the conditions"),
    ({"condition": ""}, "condition", "Choose one of the conditions"),
    ({"threshold": None}, "threshold", r"Days overdue is needed for this condition: give N "
                                       r"from 0 days to 365 days\."),
    ({"threshold": ""}, "threshold", "Days overdue is needed"),
    ({"threshold": "soon"}, "threshold", "Days overdue must be a number from 0 days to 365"),
    ({"threshold": True}, "threshold", "must be a number"),
    ({"threshold": "NaN"}, "threshold", "must be from 0 days to 365 days"),
    ({"threshold": -1}, "threshold", "Days overdue must be from 0 days to 365 days."),
    ({"threshold": 366}, "threshold", "must be from 0 days to 365 days"),
    ({"threshold": "7.5"}, "threshold", r"Days overdue must be a whole number \(0 days to "),
    ({"condition": "kpi_off_track", "threshold": 0}, "threshold",
     "Consecutive periods off track must be from 1 periods to 24 periods"),
    ({"condition": "kpi_off_track", "threshold": 25}, "threshold", "1 periods to 24 periods"),
    ({"condition": "approval_pending", "threshold": 0}, "threshold",
     "Days pending must be from 1 days to 365 days"),
    ({"condition": "risk_score", "threshold": 26}, "threshold",
     r"Risk score \(probability × impact\) must be from 1 to 25\."),
    ({"condition": "one_time_cost_over", "threshold": 0}, "threshold",
     "Percent over plan must be from 0.01 % to 1000 %"),
    ({"condition": "one_time_cost_over", "threshold": "1000.5"}, "threshold", "1000 %"),
    ({"condition": "one_time_cost_over", "threshold": "10.125"}, "threshold",
     "takes at most two decimals"),
    ({"promote_after_days": 0}, "promote_after_days", "from 1 to 365"),
    ({"promote_after_days": 366}, "promote_after_days", "from 1 to 365"),
    ({"promote_after_days": "a week"}, "promote_after_days", "whole number of days"),
    ({"promote_after_days": None}, "promote_after_days", "whole number of days"),
    ({"top_level": 0}, "top_level", r"1 \(owner\), 2 \(sponsor\) or 3 \(steering group\)"),
    ({"top_level": 4}, "top_level", "steering group"),
    ({"top_level": "high"}, "top_level", "steering group"),
])
def test_bad_rules_are_refused_on_the_field_and_nothing_is_saved(world, values, field,
                                                                 message):
    with scopes_disabled():
        before = EscalationRule.objects.count()  # the organisation's default rules
    _refused(lambda: _create(world, **values), field=field, match=message)
    with scopes_disabled():
        assert EscalationRule.objects.count() == before
        assert not EscalationRule.objects.filter(name="Stale initiatives").exists()


def test_fractional_thresholds_where_allowed(world):
    rule = _create(world, condition="one_time_cost_over", threshold="12.5")
    assert rule.threshold == Decimal("12.50")
    assert _create(world, name="Whole as decimal", threshold=Decimal("7.00")).threshold == 7


def test_rule_names_are_unique_in_the_organisation_only(world):
    _create(world)
    _refused(lambda: _create(world, name="stale  INITIATIVES"), field="name",
             match="already exists")
    other = MembershipFactory(organization=world.org_b, role=Role.ADMIN)
    rule = services.escalation_rule_create(membership=other, name="Stale initiatives",
                                           condition="stale", threshold=3)
    assert rule.organization == world.org_b


@pytest.mark.parametrize("role", [Role.EXECUTIVE, Role.CONTROLLER, Role.OWNER, Role.VIEWER])
def test_only_admins_configure_rules(world, role):
    rule = _create(world)
    membership = world.a[role].membership
    _refused(lambda: services.escalation_rule_create(membership=membership, name="x",
                                                     condition="stale", threshold=1),
             error=PermissionDeniedError)
    _refused(lambda: services.escalation_rule_update(membership=membership, rule_id=rule.pk,
                                                     active=False),
             error=PermissionDeniedError)


def test_update_changes_what_is_given_and_switches_off_and_on(world):
    rule = _create(world)
    rule = services.escalation_rule_update(membership=_admin(world), rule_id=rule.pk,
                                           threshold=10, promote_after_days=3, top_level=2)
    assert (rule.threshold, rule.promote_after_days, rule.top_level) == (10, 3, 2)
    assert rule.name == "Stale initiatives" and rule.active
    rule = services.escalation_rule_update(membership=_admin(world), rule_id=rule.pk,
                                           active=False)
    assert not rule.active
    rule = services.escalation_rule_update(membership=_admin(world), rule_id=rule.pk,
                                           active=True)
    with scopes_disabled():
        assert EscalationRule.objects.get(pk=rule.pk).active


def test_update_validates_like_create(world):
    rule = _create(world)
    _create(world, name="Pending approvals", condition="approval_pending", threshold=2)
    admin = _admin(world)
    _refused(lambda: services.escalation_rule_update(membership=admin, rule_id=rule.pk,
                                                     name="Pending approvals"),
             field="name", match="already exists")
    _refused(lambda: services.escalation_rule_update(membership=admin, rule_id=rule.pk,
                                                     threshold=400),
             field="threshold", match="0 days to 365 days")
    _refused(lambda: services.escalation_rule_update(membership=admin, rule_id=rule.pk,
                                                     colour="red"), field="colour")
    # A new condition needs its own N: the old one meant something else.
    _refused(lambda: services.escalation_rule_update(membership=admin, rule_id=rule.pk,
                                                     condition="risk_score"),
             field="threshold", match="Risk score")
    rule = services.escalation_rule_update(membership=admin, rule_id=rule.pk,
                                           condition="risk_score", threshold=15)
    assert (rule.condition, rule.threshold) == ("risk_score", 15)
    rule = services.escalation_rule_update(membership=admin, rule_id=rule.pk, name="Renamed")
    assert rule.name == "Renamed"  # keeping its own name is no clash


def test_the_condition_of_a_rule_with_escalations_stays(world):
    escalation = _escalation(world)
    _refused(lambda: services.escalation_rule_update(
        membership=_admin(world), rule_id=escalation.rule_id, condition="risk_score",
        threshold=10), error=services.ConflictError, match="switch it off")
    services.escalation_rule_update(membership=_admin(world), rule_id=escalation.rule_id,
                                    active=False)


def test_another_organisations_rule_is_not_found(world):
    other = MembershipFactory(organization=world.org_b, role=Role.ADMIN)
    theirs = services.escalation_rule_create(membership=other, name="Theirs",
                                             condition="stale", threshold=3)
    for rule_id in (theirs.pk, "abc", None, -1):
        _refused(lambda rule_id=rule_id: services.escalation_rule_update(
            membership=_admin(world), rule_id=rule_id, active=False), error=NotFoundError)
    with scopes_disabled():
        assert EscalationRule.objects.get(pk=theirs.pk).active


# --- Acknowledge and resolve --------------------------------------------------------------


def test_acknowledge_records_who_when_and_why(world):
    escalation = _escalation(world)
    owner = world.a[Role.OWNER]
    done = services.escalation_acknowledge(membership=owner.membership,
                                           escalation_id=escalation.pk,
                                           comment="  Chasing the carrier  ")
    assert done.state == EscalationState.ACKNOWLEDGED
    assert done.acknowledged_by == owner.user and done.acknowledged_at is not None
    assert done.acknowledge_comment == "Chasing the carrier"
    assert done.resolved_at is None


@pytest.mark.parametrize("comment", ["", "   ", None])
def test_acknowledge_and_resolve_need_a_comment(world, comment):
    escalation = _escalation(world)
    admin = _admin(world)
    _refused(lambda: services.escalation_acknowledge(membership=admin,
                                                     escalation_id=escalation.pk,
                                                     comment=comment),
             field="comment", match="what is being done about it")
    _refused(lambda: services.escalation_resolve(membership=admin, escalation_id=escalation.pk,
                                                 comment=comment),
             field="comment", match="how was it resolved")
    with scopes_disabled():
        assert Escalation.objects.get(pk=escalation.pk).state == EscalationState.OPEN


def test_only_an_open_escalation_is_acknowledged(world):
    escalation = _escalation(world)
    admin = _admin(world)
    services.escalation_acknowledge(membership=admin, escalation_id=escalation.pk,
                                    comment="On it")
    error = _refused(lambda: services.escalation_acknowledge(
        membership=admin, escalation_id=escalation.pk, comment="Again"),
        error=services.ConflictError, match="already acknowledged")
    assert error.status_code == 409
    services.escalation_resolve(membership=admin, escalation_id=escalation.pk, comment="Done")
    _refused(lambda: services.escalation_acknowledge(
        membership=admin, escalation_id=escalation.pk, comment="Late"),
        error=services.ConflictError, match="already resolved")


def test_resolve_from_open_or_acknowledged_but_not_twice(world):
    admin = _admin(world)
    first = _escalation(world)
    done = services.escalation_resolve(membership=admin, escalation_id=first.pk,
                                       comment="Tender re-issued")
    assert done.state == EscalationState.RESOLVED
    assert done.resolved_by == admin.user and done.resolved_at is not None
    assert done.resolution_comment == "Tender re-issued" and not done.auto_resolved
    error = _refused(lambda: services.escalation_resolve(membership=admin,
                                                         escalation_id=first.pk,
                                                         comment="Again"),
                     error=services.ConflictError, match="already resolved")
    assert error.status_code == 409
    second = _escalation(world, period="2026-W30")
    services.escalation_acknowledge(membership=admin, escalation_id=second.pk, comment="Seen")
    done = services.escalation_resolve(membership=admin, escalation_id=second.pk,
                                       comment="Fixed")
    assert done.acknowledge_comment == "Seen" and done.resolution_comment == "Fixed"


def test_an_auto_resolved_escalation_cannot_be_resolved_again(world):
    escalation = _escalation(world, state=EscalationState.RESOLVED, resolved_at=timezone.now())
    assert escalation.auto_resolved
    _refused(lambda: services.escalation_resolve(membership=_admin(world),
                                                 escalation_id=escalation.pk, comment="x"),
             error=services.ConflictError, match="already resolved")


def test_resolving_notifies_everyone_notified_except_the_resolver(world):
    escalation = _escalation(world)
    owner, sponsor, admin = (world.a[Role.OWNER], world.a[Role.EXECUTIVE],
                             world.a[Role.ADMIN])
    with scopes_disabled():
        for level, persona in ((1, owner), (2, sponsor), (3, admin)):
            EscalationNoticeFactory(escalation=escalation, level=level, recipient=persona.user)
        EscalationNoticeFactory(escalation=escalation, level=3, recipient=sponsor.user)
    services.escalation_resolve(membership=admin.membership, escalation_id=escalation.pk,
                                comment="Budget approved")
    with scopes_disabled():
        sent = Notification.objects.filter(kind=NotificationKind.ESCALATION_RESOLVED)
        assert sorted(n.recipient_id for n in sent) == sorted([owner.user.pk, sponsor.user.pk])
        note = sent.first()
        assert note.organization == world.org_a
        assert "Budget approved" in note.body
        assert note.url == f"/o/acme/escalations/{escalation.pk}/"


def test_acknowledging_notifies_nobody(world):
    escalation = _escalation(world)
    with scopes_disabled():
        EscalationNoticeFactory(escalation=escalation, recipient=world.a[Role.OWNER].user)
    services.escalation_acknowledge(membership=_admin(world), escalation_id=escalation.pk,
                                    comment="Seen")
    with scopes_disabled():
        assert not Notification.objects.exists()


# --- Who may act --------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "allowed"), [
    (Role.ADMIN, True), (Role.EXECUTIVE, True),  # the executive is also the sponsor
    (Role.OWNER, True),  # the initiative's owner
    (Role.CONTROLLER, False), (Role.VIEWER, False)])
def test_who_acts_on_an_initiative_escalation(world, role, allowed):
    escalation = _escalation(world)
    membership = world.a[role].membership
    call = lambda: services.escalation_resolve(membership=membership,  # noqa: E731
                                               escalation_id=escalation.pk, comment="Done")
    if allowed:
        assert call().state == EscalationState.RESOLVED
    else:
        _refused(call, error=PermissionDeniedError)
        with scopes_disabled():
            assert Escalation.objects.get(pk=escalation.pk).state == EscalationState.OPEN


def test_sponsor_and_notice_recipients_act_but_other_owners_do_not(world):
    other_owner = MembershipFactory(organization=world.org_a, role=Role.OWNER,
                                    user=UserFactory(email="other-owner@acme.test"))
    sponsor = MembershipFactory(organization=world.org_a, role=Role.OWNER,
                                user=UserFactory(email="sponsor@acme.test"))
    with scopes_disabled():
        initiative = InitiativeFactory(program=world.initiative.program, code="AC-555",
                                       owner=world.a[Role.OWNER].user, sponsor=sponsor.user)
        escalation = _escalation(world, initiative=initiative)
        escalation = Escalation.objects.select_related("initiative", "kpi").get(
            pk=escalation.pk)
    with scope(organization=world.org_a):
        assert permissions.can_act_on_escalation(membership=sponsor, escalation=escalation)
        assert not permissions.can_act_on_escalation(membership=other_owner,
                                                     escalation=escalation)
        EscalationNoticeFactory(escalation=escalation, level=1, recipient=other_owner.user)
        assert permissions.can_act_on_escalation(membership=other_owner, escalation=escalation)
        # A viewer never acts, even when notified.
        viewer = world.a[Role.VIEWER].membership
        EscalationNoticeFactory(escalation=escalation, level=1, recipient=viewer.user)
        assert not permissions.can_act_on_escalation(membership=viewer, escalation=escalation)


def test_the_kpi_owner_acts_on_a_kpi_escalation(world):
    controller = world.a[Role.CONTROLLER].membership
    with scopes_disabled():
        kpi = Kpi.objects.create(organization=world.org_a, name="On-time delivery", unit="%",
                                 direction="higher", baseline="80",
                                 baseline_date=world.initiative.start_date, target="90",
                                 target_date=world.initiative.target_date,
                                 owner=controller.user)
        escalation = EscalationFactory(rule__organization=world.org_a, rule__name="KPI",
                                       rule__condition="kpi_off_track", rule__threshold=2,
                                       initiative=None, kpi=kpi, subject_type="kpi")
    services.escalation_acknowledge(membership=controller, escalation_id=escalation.pk,
                                    comment="New carrier from March")
    _refused(lambda: services.escalation_resolve(membership=world.a[Role.OWNER].membership,
                                                 escalation_id=escalation.pk, comment="x"),
             error=PermissionDeniedError)


def test_view_and_manage_predicates(world):
    for role in Role.values:
        membership = world.a[role].membership
        assert permissions.can_view_escalations(membership=membership) == (role != Role.VIEWER)
        assert permissions.can_manage_escalation_rules(membership=membership) == (
            role == Role.ADMIN)
    assert not permissions.can_view_escalations(membership=None)


# --- Segregation ---------------------------------------------------------------------------


def test_an_outsiders_escalation_id_is_not_found(world):
    other = MembershipFactory(organization=world.org_b, role=Role.ADMIN)
    with scopes_disabled():
        theirs = EscalationFactory(rule__organization=world.org_b,
                                   initiative=InitiativeFactory(
                                       program__organization=world.org_b,
                                       program__portfolio__organization=world.org_b,
                                       owner=other.user))
    for service in (services.escalation_acknowledge, services.escalation_resolve):
        for escalation_id in (theirs.pk, "abc", None, 0):
            _refused(lambda service=service, escalation_id=escalation_id: service(
                membership=_admin(world), escalation_id=escalation_id, comment="x"),
                error=NotFoundError)
    with scopes_disabled():
        assert Escalation.objects.get(pk=theirs.pk).state == EscalationState.OPEN
    with scope(organization=world.org_a):
        assert selectors.escalation_get(organization=world.org_a,
                                        escalation_id=theirs.pk) is None


# --- Selectors -----------------------------------------------------------------------------


def test_the_list_filters_by_state_level_and_rule(world):
    admin = _admin(world)
    with scopes_disabled():
        second = InitiativeFactory(program=world.initiative.program, code="AC-201",
                                   owner=world.a[Role.OWNER].user)
        other_rule = EscalationRuleFactory(organization=world.org_a, name="Risks",
                                           condition="risk_score", threshold=15)
    a = _escalation(world, period="p1")
    b = _escalation(world, period="p2", level=2, initiative=second)
    c = _escalation(world, period="p3", rule=other_rule)
    services.escalation_acknowledge(membership=admin, escalation_id=b.pk, comment="Seen")
    services.escalation_resolve(membership=admin, escalation_id=c.pk, comment="Done")
    org = world.org_a

    def ids(**filters):
        with scopes_disabled():
            return {e.pk for e in selectors.escalation_list(organization=org, **filters)}

    assert ids() == {a.pk, b.pk, c.pk}
    assert ids(state="unresolved") == {a.pk, b.pk}
    assert ids(state="open") == {a.pk}
    assert ids(state="acknowledged") == {b.pk}
    assert ids(state="resolved") == {c.pk}
    assert ids(level=2) == {b.pk}
    assert ids(rule=other_rule.pk) == {c.pk}
    assert ids(rule=other_rule) == {c.pk}
    with scopes_disabled():
        assert selectors.open_escalation_count(organization=org) == 2
        assert selectors.open_escalation_count(organization=world.org_b) == 0

"""Plain helpers (no fixtures) for the initiative and governance tests: drive an
initiative through the gates with the real services, and read form errors and
kept input out of a rendered page."""

import datetime as dt
import html
import re
import threading
from collections.abc import Callable

from django.contrib.messages import get_messages
from django.db import connection
from django.urls import reverse
from django_scopes import scopes_disabled

from cat4.tenancy.models import Membership, Role
from governance import services as gov
from governance.models import Approval
from initiatives import services
from initiatives.models import GATE_ORDER, MonthlyValue, Stage
from tests.governance.conftest import add_milestone, add_plan


def race(save: Callable[[Membership, int], object], membership_ids: list[int]
         ) -> tuple[list[int], list[object]]:
    """Run ``save(membership, n)`` in one thread per membership, all released at once
    (each on its own database connection); return the numbers of the threads that saved
    and what the others raised."""
    barrier = threading.Barrier(len(membership_ids), timeout=10)
    outcomes: dict[int, object] = {}

    def run(n: int, membership_id: int) -> None:
        try:
            with scopes_disabled():
                membership = Membership.objects.select_related("organization", "user").get(
                    pk=membership_id)
            barrier.wait()
            save(membership, n)
            outcomes[n] = "saved"
        except Exception as exc:  # recorded and asserted by the caller
            outcomes[n] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n, m)) for n, m in enumerate(membership_ids)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    return ([n for n, o in outcomes.items() if o == "saved"],
            [o for o in outcomes.values() if o != "saved"])


def member(organization, user) -> Membership:
    with scopes_disabled():
        return Membership.objects.select_related("organization", "user").get(
            organization=organization, user=user)


def approve_pending(initiative) -> None:
    """Every pending approval of the initiative approved by its named approver."""
    with scopes_disabled():
        approvals = list(Approval.objects.filter(submission__initiative=initiative,
                                                 decision="pending"))
    for approval in approvals:
        gov.approval_decide(membership=member(initiative.organization, approval.approver),
                            approval_id=approval.pk, decision="approved")


def pass_next_gate(initiative, submitter: Membership) -> None:
    gov.gate_submit(membership=submitter, initiative_id=initiative.pk)
    approve_pending(initiative)
    initiative.refresh_from_db()


def drive_to(world, initiative, stage: str):
    """Move an initiative forward gate by gate up to ``stage``, meeting the default
    criteria on the way (a plan, a milestone, milestones done, actuals, validation).
    Returns the impact line that carries the plan."""
    owner = world.a[Role.OWNER].membership
    with scopes_disabled():
        line = initiative.impact_lines.filter(values__kind="planned").first()
    if line is None:
        line = add_plan(initiative)
    while GATE_ORDER.index(initiative.stage) < GATE_ORDER.index(stage):
        gate = GATE_ORDER[GATE_ORDER.index(initiative.stage) + 1]
        if gate == Stage.DECIDED:
            with scopes_disabled():
                has_milestone = initiative.milestones.exists()
            if not has_milestone:
                add_milestone(initiative, title="Tender issued", due_date=dt.date(2026, 3, 31))
        if gate == Stage.IMPLEMENTED:
            with scopes_disabled():
                for milestone in initiative.milestones.filter(done_date__isnull=True,
                                                              waived=False):
                    services.milestone_update(membership=owner, milestone_id=milestone.pk,
                                              done_date=dt.date(2026, 3, 20))
        if gate == Stage.CLOSED:
            with scopes_disabled():
                planned = list(MonthlyValue.objects.filter(line=line, kind="planned")
                               .values_list("month", "amount"))
            services.monthly_values_set(membership=owner, line_id=line.pk, kind="actual",
                                        values={m: str(a) for m, a in planned})
            gov.value_validate(membership=world.a[Role.CONTROLLER].membership,
                               initiative_id=initiative.pk)
        pass_next_gate(initiative, owner)
    assert initiative.stage == stage
    return line


# --- Reading pages --------------------------------------------------------------


def page_text(response) -> str:
    return html.unescape(response.content.decode())


def field_errors(response, field: str) -> list[str]:
    """The messages includes/field.html shows under one form field."""
    return re.findall(rf'<p class="error" id="id_{field}_error" role="alert">(.*?)</p>',
                      page_text(response))


def input_value(response, name: str) -> str | None:
    """The value a text/date/hidden input is rendered with (the kept input)."""
    match = re.search(rf'<input [^>]*name="{re.escape(name)}"[^>]*>', page_text(response))
    if match is None:
        return None
    value = re.search(r'value="([^"]*)"', match.group(0))
    return value.group(1) if value else ""


def selected_option(response, field: str) -> str | None:
    body = page_text(response)
    select = re.search(rf'<select name="{field}"[^>]*>(.*?)</select>', body, re.S)
    if select is None:
        return None
    option = re.search(r'<option value="([^"]*)" selected>', select.group(1))
    return option.group(1) if option else None


def messages_on(response) -> list[str]:
    return re.findall(r'<p class="message message-[a-z ]+">(.*?)</p>', page_text(response))


def flashed(response) -> list[str]:
    """The messages a (redirect) response queued for the next page."""
    return [str(m) for m in get_messages(response.wsgi_request)]


def org_url(name: str, **kwargs) -> str:
    return reverse(name, kwargs={"org_slug": "acme", **kwargs})

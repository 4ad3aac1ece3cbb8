"""Escalation pages: the list and the detail (acknowledge, resolve), and the rules
admins configure. The engine that raises, promotes and auto-resolves escalations is
governance/escalations.py; these pages only read them and record people's actions."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from cat4.common.exceptions import ApplicationError, StaleVersionError
from cat4.common.htmx import add_form_error, partial_template
from cat4.common.versioning import posted_version
from cat4.tenancy.decorators import org_view

from . import permissions, selectors, services
from .conditions import PARAMETERS, number_text, with_unit
from .forms import CommentForm, EscalationFilterForm, EscalationRuleForm
from .models import Condition, EscalationRule

PAGE_SIZE = 25


def _rule_initial(rule: EscalationRule) -> dict:
    return {"name": rule.name, "condition": rule.condition,
            "threshold": (number_text(rule.threshold) if rule.threshold is not None
                          else None),
            "promote_after_days": rule.promote_after_days, "top_level": rule.top_level,
            "active": rule.active}


def _n_text(rule: EscalationRule) -> str:
    """The rule's N with its unit ("14 days", "10.5 %"), or a dash when it has none."""
    parameter = PARAMETERS.get(rule.condition)
    if rule.threshold is None or parameter is None:
        return "–"
    return with_unit(rule.threshold, parameter.unit)


def _conditions() -> list[dict]:
    """What each condition's N means, for the table on the rules page."""
    rows = []
    for value, label in Condition.choices:
        p = PARAMETERS[value]
        rows.append({"value": value, "label": label,
                     "n": p.label if p else "none",
                     "range": (f"{with_unit(p.minimum, p.unit)} to "
                               f"{with_unit(p.maximum, p.unit)}" if p else "–"),
                     "default": with_unit(p.default, p.unit)
                     if p and p.default is not None else "–"})
    return rows


# --- The list and the detail -------------------------------------------------------------


@vary_on_headers("HX-Request")
@org_view(permissions.can_view_escalations)
def escalation_list(request, org_slug):
    org = request.organization
    form = EscalationFilterForm(request.GET or None, organization=org)
    status = 200
    if form.is_bound and not form.is_valid():
        status = 400
    filters = form.cleaned_data if form.is_bound else {}
    state = filters.get("state") or selectors.UNRESOLVED
    rule = filters.get("rule")
    qs = selectors.escalation_list(organization=org, state="" if state == "all" else state,
                                   level=filters.get("level"), rule=rule.pk if rule else None)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode(),
               "can_manage_rules": permissions.can_manage_escalation_rules(
                   membership=request.membership)}
    template = partial_template(request, "governance/escalations.html", "results")
    return render(request, template, context, status=status)


def _escalation_or_404(request, escalation_id):
    escalation = selectors.escalation_get(organization=request.organization,
                                          escalation_id=escalation_id)
    if escalation is None:
        raise Http404("No such escalation.")
    return escalation


def _detail(request, escalation, *, ack_form=None, resolve_form=None, status=200):
    can_act = permissions.can_act_on_escalation(membership=request.membership,
                                                escalation=escalation)
    raw = escalation.inputs if isinstance(escalation.inputs, dict) else {}
    inputs = [(str(key).replace("_", " ").capitalize(), value) for key, value in raw.items()]
    return render(request, "governance/escalation_detail.html", {
        "escalation": escalation,
        "inputs": inputs,
        "notices": list(escalation.notices.all()),
        "can_act": can_act,
        "ack_form": ack_form or CommentForm(auto_id="id_ack_%s"),
        "resolve_form": resolve_form or CommentForm(auto_id="id_resolve_%s"),
    }, status=status)


@org_view(permissions.can_view_escalations)
def escalation_detail(request, org_slug, escalation_id):
    return _detail(request, _escalation_or_404(request, escalation_id))


def _action(service, *, form_key: str, success: str):
    @require_POST
    @org_view(permissions.can_view_escalations)
    def view(request, org_slug, escalation_id):
        escalation = _escalation_or_404(request, escalation_id)
        form = CommentForm(request.POST, auto_id=f"id_{form_key}_%s")
        if form.is_valid():
            try:
                service(membership=request.membership, escalation_id=escalation.pk,
                        comment=form.cleaned_data["comment"])
            except ApplicationError as exc:
                add_form_error(form, exc)  # 403 and 404 are raised on
                status = exc.status_code
            else:
                messages.success(request, success)
                return redirect("escalation_detail", org_slug=org_slug,
                                escalation_id=escalation.pk)
        else:
            status = 400
        return _detail(request, escalation, status=status, **{f"{form_key}_form": form})

    return view


escalation_acknowledge = _action(services.escalation_acknowledge, form_key="ack",
                                 success="Acknowledged. The escalation stays open until it "
                                         "is resolved.")
escalation_resolve = _action(services.escalation_resolve, form_key="resolve",
                             success="Resolved. Everyone notified of it has been told.")


# --- Rules (admins) ------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@org_view(permissions.can_manage_escalation_rules)
def escalation_rules(request, org_slug):
    org = request.organization
    form = EscalationRuleForm(request.POST or None, initial={"active": True})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                rule = services.escalation_rule_create(membership=request.membership,
                                                       **form.cleaned_data)
            except ApplicationError as exc:
                add_form_error(form, exc)
            else:
                messages.success(request, f"Rule “{rule.name}” created.")
                return redirect("escalation_rules", org_slug=org_slug)
        status = 400
    rules = list(selectors.escalation_rules(organization=org))
    for rule in rules:
        rule.n_text = _n_text(rule)
    return render(request, "governance/escalation_rules.html", {
        "rules": rules,
        "form": form, "conditions": _conditions(),
    }, status=status)


def _rule_or_404(request, rule_id) -> EscalationRule:
    rule = selectors.escalation_rules(organization=request.organization).filter(
        pk=rule_id).first()
    if rule is None:
        raise Http404("No such escalation rule.")
    return rule


@require_http_methods(["GET", "POST"])
@org_view(permissions.can_manage_escalation_rules)
def escalation_rule_edit(request, org_slug, rule_id):
    rule = _rule_or_404(request, rule_id)
    form = EscalationRuleForm(request.POST or None, initial=_rule_initial(rule))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.escalation_rule_update(
                    membership=request.membership, rule_id=rule.pk,
                    version=posted_version(request.POST.get("version")), **form.cleaned_data)
            except ApplicationError as exc:
                add_form_error(form, exc)
                status = exc.status_code
                rule = _rule_or_404(request, rule_id)  # the page now holds the current version
            else:
                messages.success(request, "Rule saved.")
                return redirect("escalation_rules", org_slug=org_slug)
        else:
            status = 400
    return render(request, "governance/escalation_rule_edit.html", {
        "rule": rule, "form": form, "conditions": _conditions(),
    }, status=status)


@require_POST
@org_view(permissions.can_manage_escalation_rules)
def escalation_rule_toggle(request, org_slug, rule_id):
    rule = _rule_or_404(request, rule_id)
    active = request.POST.get("active") == "true"
    try:
        services.escalation_rule_update(membership=request.membership, rule_id=rule.pk,
                                        version=posted_version(request.POST.get("version")),
                                        active=active)
    except ApplicationError as exc:
        if exc.status_code in (403, 404):
            raise
        advice = "" if isinstance(exc, StaleVersionError) else " Edit the rule to correct it."
        messages.error(request, f"“{rule.name}” was not changed: {exc.message}{advice}")
    else:
        messages.success(request, f"“{rule.name}” switched {'on' if active else 'off'}.")
    return redirect("escalation_rules", org_slug=org_slug)

"""Pages of the platform shell: landing, org overview, members, settings, invitations, profile."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from knox.models import AuthToken

from cat4.common.exceptions import ApplicationError
from cat4.common.htmx import add_form_error

from . import permissions, selectors, services
from .decorators import org_view
from .forms import (
    AcceptInvitationForm,
    InvitationForm,
    OrganizationSettingsForm,
    ProfileForm,
    RoleForm,
)
from .middleware import LAST_ORG_SESSION_KEY
from .models import Role


@login_required
def home(request):
    """Send a user to the organisation they used last, or let them pick one."""
    memberships = selectors.memberships_of_user(user=request.user)
    last = request.session.get(LAST_ORG_SESSION_KEY)
    for membership in memberships:
        if membership.organization.slug == last:
            return redirect("org_home", org_slug=last)
    if len(memberships) == 1:
        return redirect("org_home", org_slug=memberships[0].organization.slug)
    return render(request, "tenancy/choose_org.html", {"memberships": memberships})


@org_view(permissions.can_view_organization)
def org_home(request, org_slug):
    org = request.organization
    return render(request, "tenancy/org_home.html", {
        "org": org,
        "member_count": selectors.member_list(organization=org).count(),
    })


def _members_context(request, *, invite_form=None):
    org = request.organization
    members = list(selectors.member_list(organization=org))
    context = {
        "members": members,
        "roles": Role.choices,
        "admin_count": sum(1 for m in members if m.role == Role.ADMIN),
    }
    if permissions.can_manage_members(membership=request.membership):
        context["invitations"] = selectors.pending_invitation_list(organization=org)
        context["events"] = selectors.membership_event_list(organization=org)[:20]
        context["invite_form"] = invite_form or InvitationForm()
    return context


@org_view(permissions.can_view_members)
def member_list(request, org_slug):
    return render(request, "tenancy/members.html", _members_context(request))


def _member_or_404(request, member_id):
    member = selectors.member_get(organization=request.organization, membership_id=member_id)
    if member is None:
        raise Http404("No such member.")
    return member


@require_POST
@org_view(permissions.can_manage_members)
def member_invite(request, org_slug):
    form = InvitationForm(request.POST)
    if form.is_valid():
        try:
            invitation, _token = services.invitation_create(
                membership=request.membership, email=form.cleaned_data["email"],
                role=form.cleaned_data["role"])
        except ApplicationError as exc:
            add_form_error(form, exc)
        else:
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return redirect("member_list", org_slug=org_slug)
    return render(request, "tenancy/members.html",
                  _members_context(request, invite_form=form), status=400)


@require_POST
@org_view(permissions.can_manage_members)
def member_role(request, org_slug, member_id):
    _member_or_404(request, member_id)
    form = RoleForm(request.POST)
    error = None
    if form.is_valid():
        try:
            services.member_change_role(membership=request.membership, member_id=member_id,
                                        role=form.cleaned_data["role"])
        except ApplicationError as exc:
            error = exc.message
    else:
        error = "Choose one of the listed roles."
    if request.htmx:
        member = selectors.member_get(organization=request.organization, membership_id=member_id)
        context = {**_members_context(request), "member": member, "row_error": error}
        return render(request, "tenancy/members.html#member-row", context,
                      status=400 if error else 200)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, "Role changed.")
    return redirect("member_list", org_slug=org_slug)


@require_POST
@org_view(permissions.can_manage_members)
def member_remove(request, org_slug, member_id):
    _member_or_404(request, member_id)
    try:
        services.member_remove(membership=request.membership, member_id=member_id)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Member removed.")
    return redirect("member_list", org_slug=org_slug)


@require_POST
@org_view(permissions.can_manage_members)
def invitation_revoke(request, org_slug, invitation_id):
    if not selectors.invitation_exists(organization=request.organization,
                                       invitation_id=invitation_id):
        raise Http404("No such invitation.")
    try:
        invitation = services.invitation_revoke(membership=request.membership,
                                                invitation_id=invitation_id)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Invitation to {invitation.email} revoked.")
    return redirect("member_list", org_slug=org_slug)


@require_http_methods(["GET", "POST"])
@org_view(permissions.can_configure_organization)
def org_settings(request, org_slug):
    org = request.organization
    if request.method == "POST":
        form = OrganizationSettingsForm(request.POST, instance=org)
        if form.is_valid():
            try:
                services.organization_update(membership=request.membership, **form.cleaned_data)
            except ApplicationError as exc:
                add_form_error(form, exc)
            else:
                messages.success(request, "Settings saved.")
                return redirect("org_settings", org_slug=org_slug)
        status = 400
    else:
        form = OrganizationSettingsForm(instance=org)
        status = 200
    return render(request, "tenancy/org_settings.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
def invitation_accept(request, token):
    invitation = services.invitation_by_token(token)
    if invitation is None or not invitation.is_pending:
        return render(request, "tenancy/invitation_invalid.html", status=404)
    user = request.user
    account_exists = services.User.objects.filter(email__iexact=invitation.email).exists()
    context = {"invitation": invitation, "account_exists": account_exists}

    if user.is_authenticated:
        if request.method == "POST":
            try:
                membership = services.invitation_accept(token=token, user=user)
            except ApplicationError as exc:
                context["error"] = exc.message
                return render(request, "tenancy/invitation_accept.html", context, status=400)
            messages.success(request, f"Welcome to {membership.organization.name}.")
            return redirect("org_home", org_slug=membership.organization.slug)
        return render(request, "tenancy/invitation_accept.html", context)

    if account_exists:
        return redirect(f"{reverse('login')}?next={request.path}")

    form = AcceptInvitationForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                membership = services.invitation_accept_new_user(
                    token=token, full_name=form.cleaned_data["full_name"],
                    password=form.cleaned_data["password1"])
            except ApplicationError as exc:
                if exc.field == "password":
                    exc.field = "password1"
                add_form_error(form, exc)
            else:
                login(request, membership.user,
                      backend="django.contrib.auth.backends.ModelBackend")
                messages.success(request, f"Welcome to {membership.organization.name}.")
                return redirect("org_home", org_slug=membership.organization.slug)
    context["form"] = form
    return render(request, "tenancy/invitation_accept.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    form = ProfileForm(request.POST or None, initial={"full_name": request.user.full_name})
    if request.method == "POST" and form.is_valid():
        services.user_update_profile(user=request.user, full_name=form.cleaned_data["full_name"])
        messages.success(request, "Profile saved.")
        return redirect("profile")
    tokens = AuthToken.objects.filter(user=request.user).order_by("-created")
    return render(request, "tenancy/profile.html", {
        "form": form, "tokens": tokens, "new_token": request.session.pop("new_api_token", None),
    }, status=400 if form.errors else 200)


@login_required
@require_POST
def api_token_create(request):
    _instance, token = services.api_token_create(user=request.user)
    # Shown once on the next page, never stored in clear.
    request.session["new_api_token"] = token
    return redirect("profile")


@login_required
@require_POST
def api_token_revoke(request, token_key):
    services.api_token_revoke(user=request.user, token_key=token_key)
    messages.success(request, "Token revoked.")
    return redirect("profile")

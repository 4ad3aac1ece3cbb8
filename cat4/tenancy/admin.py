"""Django admin for platform staff: organisations, users, memberships.

The admin works across tenants; TenantMiddleware runs /admin/ with scopes disabled.
Membership changes made here are recorded like those made in the product.
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from .models import Invitation, Membership, MembershipEvent, Organization, User


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "full_name")


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    add_form = UserCreationForm
    form = UserEditForm
    ordering = ["email"]
    list_display = ["email", "full_name", "is_active", "is_staff", "date_joined"]
    list_filter = ["is_active", "is_staff"]
    search_fields = ["email", "full_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Person", {"fields": ["full_name"]}),
        ("Platform access", {"fields": ["is_active", "is_staff", "is_superuser"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"],
                             "fields": ["email", "full_name", "password1", "password2"]})]
    filter_horizontal: list = []


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "base_currency", "fiscal_year_start_month", "time_zone",
                    "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]

    def save_formset(self, request, form, formset, change):
        _record_admin_membership_changes(request, formset)
        super().save_formset(request, form, formset, change)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role", "organization"]
    search_fields = ["user__email", "user__full_name", "organization__name"]
    autocomplete_fields = ["user", "organization"]

    def save_model(self, request, obj, form, change):
        old_role = Membership.objects.get(pk=obj.pk).role if change else ""
        super().save_model(request, obj, form, change)
        if old_role != obj.role:
            _record(request, obj, MembershipEvent.Action.ROLE_CHANGED if change
                    else MembershipEvent.Action.JOINED, old_role, obj.role)

    def delete_model(self, request, obj):
        _record(request, obj, MembershipEvent.Action.REMOVED, obj.role, "")
        super().delete_model(request, obj)


def _record(request, membership, action, old_role, new_role):
    MembershipEvent.objects.create(
        organization=membership.organization, action=action, actor=request.user,
        subject_email=membership.user.email, subject_user=membership.user,
        old_role=old_role or "", new_role=new_role or "")


def _record_admin_membership_changes(request, formset):
    if formset.model is not Membership:
        return
    for form in formset.forms:
        if not form.has_changed() or not form.is_valid():
            continue
        obj = form.instance
        if form.cleaned_data.get("DELETE") and obj.pk:
            _record(request, obj, MembershipEvent.Action.REMOVED, obj.role, "")
        elif obj.pk is None:
            _record(request, obj, MembershipEvent.Action.JOINED, "", form.cleaned_data["role"])
        elif "role" in form.changed_data:
            _record(request, obj, MembershipEvent.Action.ROLE_CHANGED,
                    form.initial.get("role"), form.cleaned_data["role"])


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "organization", "role", "created_at", "expires_at", "accepted_at",
                    "revoked_at"]
    list_filter = ["organization", "role"]
    search_fields = ["email"]
    exclude = ["token_hash"]
    readonly_fields = ["accepted_at", "accepted_by"]


@admin.register(MembershipEvent)
class MembershipEventAdmin(admin.ModelAdmin):
    list_display = ["at", "organization", "action", "subject_email", "old_role", "new_role",
                    "actor"]
    list_filter = ["organization", "action"]
    search_fields = ["subject_email"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.options import csrf_protect_m
from django.contrib.auth import admin as auth_admin

# A module attribute of auth's admin (the decorator of its add page) the stubs leave out.
from django.contrib.auth.admin import sensitive_post_parameters_m  # type: ignore[attr-defined]
from django.contrib.auth.models import Group
from django.http import HttpRequest

from core.admin import (
    AuditColumnsMixin,
    LargeTableAdminMixin,
    ModelAdminBase,
    ReadOnlyAdminMixin,
    ReadOnlyTabularInline,
    ServiceWritesAdminMixin,
)
from core.api.context import action_context

from .forms import RoleForm, UserChangeForm, UserCreationForm
from .models import ApiKey, ApiSession, Permission, Role, User, UserProfile
from .selectors import two_factor_status
from .services import credentials, login, roles, two_factor, users

# Authorization lives in roles; RoleBackend never reads Django's groups.
admin.site.unregister(Group)


def may_grant_access(request) -> bool:
    """Handing out access (roles, staff or superuser status) is a right of its own: whoever
    may merely edit accounts must not be able to make themselves an admin."""
    return request.user.has_perm("accounts.change_userrole")


class UserProfileInline(admin.StackedInline):
    model = UserProfile
    can_delete = False
    fields = ("display_name", "avatar_url", "bio")


# Sessions and keys are created and revoked by services that show the secret once and audit
# the change; the admin only lists them, never their digest columns.
class ApiSessionInline(ReadOnlyTabularInline):
    model = ApiSession
    fields = ("created_at", "last_accessed_at", "expires_at", "metadata")
    show_change_link = True


class ApiKeyInline(ReadOnlyTabularInline):
    model = ApiKey
    fields = ("name", "prefix", "created_at", "expires_at", "last_used_at")
    show_change_link = True


@admin.register(User)
class UserAdmin(ServiceWritesAdminMixin, auth_admin.UserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (
            "Status",
            {
                "fields": (
                    "verified",
                    "is_active",
                    "totp_enabled",
                    "recovery_codes_left",
                    "failed_login_attempts",
                    "locked_until",
                )
            },
        ),
        ("Access", {"fields": ("is_staff", "is_superuser", "assigned_roles")}),
        ("Dates", {"fields": ("last_login", "created_at", "updated_at")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "usable_password", "password1", "password2"),
            },
        ),
    )
    list_display = (
        "email",
        "profile__display_name",
        "is_active",
        "is_staff",
        "verified",
        "totp_enabled",
        "locked_until",
        "created_at",
    )
    list_filter = ("is_staff", "is_superuser", "is_active", "verified", "totp_enabled", "roles")
    list_select_related = ("profile",)
    search_fields = ("email", "profile__display_name")
    ordering = ("email",)
    filter_horizontal = ()
    # Lockout and 2FA state change only through the accounts services (they audit it).
    readonly_fields = (
        "totp_enabled",
        "recovery_codes_left",
        "failed_login_attempts",
        "locked_until",
        "last_login",
        "created_at",
        "updated_at",
    )
    inlines = [UserProfileInline, ApiSessionInline, ApiKeyInline]
    actions = ["lock", "unlock", "revoke_sessions", "revoke_api_keys", "reset_two_factor"]

    @sensitive_post_parameters_m
    @csrf_protect_m
    def add_view(self, request, form_url="", extra_context=None):
        # auth's UserAdmin opens a transaction here too; see core.admin.ServiceWritesAdminMixin.
        # The page's body without the transaction: private in auth's UserAdmin, so the stubs
        # leave it out.
        return self._add_view(request, form_url, extra_context)  # type: ignore[attr-defined]

    def get_inlines(self, request, obj):
        # The add page asks for a login only, then opens the change page with these.
        return self.inlines if obj is not None else []

    def has_change_permission(self, request, obj=None) -> bool:
        # Changing a staff account's email or password is as good as taking it over.
        if obj is not None and obj.is_staff and not may_grant_access(request):
            return False
        return super().has_change_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        if not may_grant_access(request):
            readonly = (*readonly, "is_staff", "is_superuser", "assigned_roles")
        return readonly

    def save_model(self, request, obj: User, form, change: bool) -> None:
        """Accounts are made, and their status flags switched, by the services, which hold
        the rules (who may hand out access) and audit the change."""
        context = action_context(request)
        if not change:
            created = users.user_create(
                email=obj.email,
                password=form.cleaned_data.get("password1") or None,
                roles=[],
                actor=request.user,
                context=context,
            )
            # The admin carries on with the object it handed in (the log, the redirect).
            obj.__dict__.update(created.__dict__)
            return
        flags = {
            name: form.cleaned_data[name]
            for name in users.STATUS_FLAGS
            if name in form.changed_data
        }
        for name in flags:
            setattr(obj, name, form.initial[name])
        super().save_model(request, obj, form, change)
        if flags:
            users.user_set_status(user=obj, actor=request.user, context=context, **flags)
            for name, value in flags.items():
                setattr(obj, name, value)

    @admin.display(description="Roles")
    def assigned_roles(self, obj: User) -> str:
        return ", ".join(obj.roles.values_list("name", flat=True))

    @admin.display(description="Recovery codes left")
    def recovery_codes_left(self, obj: User) -> int:
        return two_factor_status(user=obj).recovery_codes_left

    def _apply(self, request, queryset, *, service, done: str) -> None:
        """Runs a user service on each selected account the requester may change; staff
        accounts need the right to grant access, as on the change page."""
        selected = list(queryset)
        allowed = [user for user in selected if self.has_change_permission(request, user)]
        for user in allowed:
            service(user=user, actor=request.user, context=action_context(request))
        self.message_user(request, f"{done} for {len(allowed)} user(s).")
        if len(allowed) < len(selected):
            self.message_user(
                request,
                f"{len(selected) - len(allowed)} staff account(s) left as they were: changing "
                "them needs the right to grant access.",
                level=messages.WARNING,
            )

    @admin.action(description="Lock sign-in and end sessions", permissions=["change"])
    def lock(self, request, queryset) -> None:
        self._apply(request, queryset, service=login.user_lock, done="Sign-in locked")

    @admin.action(description="Unlock sign-in", permissions=["change"])
    def unlock(self, request, queryset) -> None:
        self._apply(request, queryset, service=login.user_unlock, done="Sign-in unlocked")

    @admin.action(description="Revoke all sessions", permissions=["change"])
    def revoke_sessions(self, request, queryset) -> None:
        self._apply(
            request, queryset, service=credentials.sessions_revoke_all, done="Sessions revoked"
        )

    @admin.action(description="Revoke all API keys", permissions=["change"])
    def revoke_api_keys(self, request, queryset) -> None:
        self._apply(
            request, queryset, service=credentials.api_keys_revoke_all, done="API keys revoked"
        )

    @admin.action(description="Reset two-factor authentication", permissions=["change"])
    def reset_two_factor(self, request, queryset) -> None:
        """For people who lost their authenticator app and their recovery codes: they sign in
        with the password alone until they set up 2FA again."""
        self._apply(
            request,
            queryset.filter(totp_enabled=True),
            service=two_factor.two_factor_reset,
            done="Two-factor authentication reset",
        )

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        if "assigned_roles" in form.changed_data:
            roles.user_set_roles(
                user=form.instance,
                roles=list(form.cleaned_data["assigned_roles"]),
                actor=request.user,
                context=action_context(request),
            )


@admin.register(UserProfile)
class UserProfileAdmin(AuditColumnsMixin, admin.ModelAdmin):
    list_display = ("display_name", "user", "created_at", "updated_at")
    search_fields = ("display_name", "user__email")
    list_select_related = ("user",)
    autocomplete_fields = ("user",)

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        # The user is the primary key: changing it would copy the profile to another user.
        return readonly if obj is None else ("user", *readonly)


@admin.register(Permission)
class PermissionAdmin(AuditColumnsMixin, admin.ModelAdmin):
    list_display = ("name", "description", "created_at")
    search_fields = ("name", "description")
    audit_columns = ("created_at",)


@admin.register(Role)
class RoleAdmin(ServiceWritesAdminMixin, AuditColumnsMixin, admin.ModelAdmin):
    form = RoleForm
    list_display = ("name", "created_at")
    search_fields = ("name",)
    audit_columns = ("created_at",)

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        if "granted_permissions" in form.changed_data:
            roles.role_set_permissions(
                role=form.instance,
                permissions=list(form.cleaned_data["granted_permissions"]),
                actor=request.user,
                context=action_context(request),
            )


class RevokeAdminMixin(ModelAdminBase):
    """A "revoke" action for credentials, allowed to whoever may delete them; the service
    records each revocation. ``revoke`` revokes one credential through its service."""

    actions = ["revoke_selected"]
    revoke: Callable[[Any, HttpRequest], None]

    def has_revoke_permission(self, request) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.delete_{self.opts.model_name}")

    @admin.action(description="Revoke selected %(verbose_name_plural)s", permissions=["revoke"])
    def revoke_selected(self, request, queryset) -> None:
        credentials = list(queryset.select_related("user"))
        for credential in credentials:
            self.revoke(credential, request)
        self.message_user(request, f"Revoked {len(credentials)} {self.opts.verbose_name_plural}.")


@admin.register(ApiSession)
class ApiSessionAdmin(RevokeAdminMixin, ReadOnlyAdminMixin, LargeTableAdminMixin, admin.ModelAdmin):
    list_display = ("id", "user", "created_at", "last_accessed_at", "expires_at")
    search_fields = ("user__email",)
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    exclude = ("token",)

    def revoke(self, session: ApiSession, request) -> None:
        credentials.session_revoke(
            user=session.user,
            session_id=session.pk,
            actor=request.user,
            context=action_context(request),
        )


@admin.register(ApiKey)
class ApiKeyAdmin(RevokeAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("name", "prefix", "user", "created_at", "expires_at", "last_used_at")
    search_fields = ("name", "prefix", "user__email")
    list_select_related = ("user",)
    autocomplete_fields = ("user",)
    exclude = ("key",)

    def revoke(self, api_key: ApiKey, request) -> None:
        credentials.api_key_revoke(
            api_key=api_key, actor=request.user, context=action_context(request)
        )

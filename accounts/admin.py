from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.options import csrf_protect_m
from django.contrib.admin.utils import model_ngettext, unquote
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import update_session_auth_hash

# A module attribute of auth's admin (the decorator of its add page) the stubs leave out.
from django.contrib.auth.admin import sensitive_post_parameters_m  # type: ignore[attr-defined]
from django.contrib.auth.models import Group
from django.db.models import Count
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils import formats, timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.admin import (
    AuditColumnsMixin,
    LargeTableAdminMixin,
    ModelAdminBase,
    ReadOnlyAdminMixin,
    ReadOnlyTabularInline,
    ServiceWritesAdminMixin,
    refusal_message,
    saved_by_service,
)
from core.admin_site import Figure, Panel
from core.api.context import action_context
from core.exceptions import DomainError
from core.models import AuditAction, AuditEvent

from .admin_two_factor import AdminLoginForm, OwnPasswordChangeView, two_factor_enrol
from .forms import (
    RoleForm,
    StaffPasswordSetForm,
    UserChangeForm,
    UserCreationForm,
    app_name,
    meaningful_permissions,
    permission_label,
)
from .models import ApiKey, ApiSession, Permission, Role, User, UserProfile
from .selectors import two_factor_status
from .services import credentials, login, roles, two_factor, users

# Authorization lives in roles; RoleBackend never reads Django's groups.
admin.site.unregister(Group)
# Staff enrol their authenticator on the console's own page, through the accounts services;
# django-otp's raw device lists would bypass them.
for _device_model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_device_model):
        admin.site.unregister(_device_model)
admin.site.two_factor_login_form = AdminLoginForm  # type: ignore[attr-defined]
admin.site.two_factor_enrolment_view = two_factor_enrol  # type: ignore[attr-defined]
admin.site.password_change_view = OwnPasswordChangeView  # type: ignore[attr-defined]


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


class LockedFilter(admin.SimpleListFilter):
    title = "sign-in"
    parameter_name = "locked"

    def lookups(self, request, model_admin):
        return [("yes", "Locked now")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(locked_until__gt=timezone.now())
        return queryset


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
    list_filter = (
        LockedFilter,
        "is_staff",
        "is_superuser",
        "is_active",
        "verified",
        "totp_enabled",
        "roles",
    )
    list_select_related = ("profile",)
    search_fields = ("email", "profile__display_name")
    ordering = ("email",)
    filter_horizontal = ()
    change_password_form = StaffPasswordSetForm
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
        """Accounts are made, and their address and status flags changed, by the services,
        which hold the rules (who may hand out access, unique addresses) and audit each
        change."""
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
        if "email" in form.changed_data:
            users.user_set_email(
                user=obj, email=form.cleaned_data["email"], actor=request.user, context=context
            )
        flags = {
            name: form.cleaned_data[name]
            for name in users.STATUS_FLAGS
            if name in form.changed_data
        }
        if flags:
            users.user_set_status(user=obj, actor=request.user, context=context, **flags)
        obj.refresh_from_db()

    def save_formset(self, request, form, formset, change) -> None:
        if formset.model is not UserProfile:
            return super().save_formset(request, form, formset, change)
        # The profile's rules (lengths, a URL) are the accounts service's.
        for profile_form in formset.forms:
            if profile_form.has_changed():
                users.profile_update(
                    user=form.instance,
                    **{name: profile_form.cleaned_data[name] for name in profile_form.changed_data},
                )
        saved_by_service(formset)
        return None

    @sensitive_post_parameters_m
    def user_change_password(self, request, id, form_url=""):
        """Setting someone's password is the accounts service's: it ends every session of
        theirs (the API's and the console's) and audits the change. Django's page shows the
        form and its errors."""
        user = self.get_object(request, unquote(id))
        if (
            request.method != "POST"
            or user is None
            or not self.has_change_permission(request, user)
        ):
            return super().user_change_password(request, id, form_url)
        form = self.change_password_form(user, request.POST)
        if not form.is_valid():
            return super().user_change_password(request, id, form_url)
        try:
            users.password_set(
                user=user,
                new_password=form.cleaned_data["password1"],
                actor=request.user,
                context=action_context(request),
            )
        except DomainError as refusal:
            self.message_user(request, refusal_message(refusal), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
        if user.pk == request.user.pk:
            # One's own password: this page's session goes on.
            update_session_auth_hash(request, User.objects.get(pk=user.pk))
        self.message_user(
            request,
            f"Password set for {user.email}; every session they had is ended.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:accounts_user_change", args=[user.pk]))

    @admin.display(description="Roles")
    def assigned_roles(self, obj: User) -> str:
        return ", ".join(obj.roles.values_list("name", flat=True))

    @admin.display(description="Recovery codes left")
    def recovery_codes_left(self, obj: User) -> int:
        return two_factor_status(user=obj).recovery_codes_left

    def _apply(self, request, queryset, *, service, done: str) -> list:
        """Runs a user service on each selected account the requester may change; staff
        accounts need the right to grant access, as on the change page. Returns what the
        service returned for each."""
        selected = list(queryset)
        allowed = [user for user in selected if self.has_change_permission(request, user)]
        results = [
            service(user=user, actor=request.user, context=action_context(request))
            for user in allowed
        ]
        self.message_user(
            request, f"{done} for {len(allowed)} {model_ngettext(self.opts, len(allowed))}."
        )
        left = len(selected) - len(allowed)
        if left:
            self.message_user(
                request,
                f"{left} staff {'account' if left == 1 else 'accounts'} left as they were: "
                "changing them needs the right to grant access.",
                level=messages.WARNING,
            )
        return results

    @admin.action(description="Lock sign-in and end sessions", permissions=["change"])
    def lock(self, request, queryset) -> None:
        ends = self._apply(request, queryset, service=login.user_lock, done="Sign-in locked")
        if ends:
            until = formats.date_format(max(ends), "DATETIME_FORMAT")
            self.message_user(
                request,
                f'The lock ends on its own at {until} (UTC); "Unlock sign-in" lifts it '
                "sooner. Their sessions, the console's included, are ended.",
            )

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

    def delete_model(self, request, obj) -> None:
        self.delete_queryset(request, [obj])

    def delete_queryset(self, request, queryset) -> None:
        # One call for the whole selection: the last-holder rule judges what is left after it.
        users.user_delete(users=list(queryset), actor=request.user, context=action_context(request))

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
class UserProfileAdmin(ServiceWritesAdminMixin, AuditColumnsMixin, admin.ModelAdmin):
    list_display = ("display_name", "user", "created_at", "updated_at")
    search_fields = ("display_name", "user__email")
    list_select_related = ("user",)
    fields = ("user", "display_name", "avatar_url", "bio")
    # The user is the primary key: changing it would copy the profile to another user.
    readonly_fields = ("user",)

    # A profile is made with its account (the user's add page).
    def has_add_permission(self, request) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        users.profile_update(
            user=obj.user, **{name: form.cleaned_data[name] for name in form.changed_data}
        )


class PermissionAppFilter(admin.SimpleListFilter):
    title = "application"
    parameter_name = "app"

    def lookups(self, request, model_admin):
        names = meaningful_permissions().values_list("name", flat=True)
        labels = sorted({name.partition(".")[0] for name in names})
        return [(label, app_name(label)) for label in labels]

    def queryset(self, request, queryset):
        return queryset.filter(name__startswith=f"{self.value()}.") if self.value() else queryset


@admin.register(Permission)
class PermissionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Permissions come from the models (``sync_permissions``); staff read them here, grouped
    by application, and grant them through roles."""

    list_display = ("label", "name", "role_count")
    list_filter = (PermissionAppFilter,)
    search_fields = ("name", "description")

    def get_queryset(self, request):
        return meaningful_permissions().annotate(role_total=Count("roles"))

    @admin.display(description="Permission", ordering="name")
    def label(self, permission: Permission) -> str:
        return permission_label(permission)

    @admin.display(description="Roles holding it", ordering="role_total")
    def role_count(self, permission: Permission) -> int:
        return permission.role_total  # type: ignore[attr-defined]


@admin.register(Role)
class RoleAdmin(ServiceWritesAdminMixin, AuditColumnsMixin, admin.ModelAdmin):
    form = RoleForm
    list_display = ("name", "user_count", "permission_count", "created_at")
    search_fields = ("name",)
    audit_columns = ("created_at",)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                user_total=Count("users", distinct=True),
                permission_total=Count("permissions", distinct=True),
            )
        )

    def save_model(self, request, obj, form, change) -> None:
        acting = {"actor": request.user, "context": action_context(request)}
        if not change:
            created = roles.role_create(name=obj.name, **acting)
            obj.pk, obj._state.adding = created.pk, False
        elif "name" in form.changed_data:
            roles.role_rename(role=obj, name=obj.name, **acting)

    def delete_model(self, request, obj) -> None:
        self.delete_queryset(request, [obj])

    def delete_queryset(self, request, queryset) -> None:
        # One call for the whole selection: the last-holder rule judges what is left after it.
        roles.role_delete(roles=list(queryset), actor=request.user, context=action_context(request))

    @admin.display(description="Users", ordering="user_total")
    def user_count(self, role: Role) -> int:
        return role.user_total  # type: ignore[attr-defined]

    @admin.display(description="Permissions", ordering="permission_total")
    def permission_count(self, role: Role) -> int:
        return role.permission_total  # type: ignore[attr-defined]

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
        self.message_user(
            request, f"Revoked {len(credentials)} {model_ngettext(self.opts, len(credentials))}."
        )


@admin.register(ApiSession)
class ApiSessionAdmin(RevokeAdminMixin, ReadOnlyAdminMixin, LargeTableAdminMixin, admin.ModelAdmin):
    list_display = ("__str__", "user", "created_at", "last_accessed_at", "expires_at")
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


# --- the dashboard ---------------------------------------------------------------------------

# What the security panel lists as recent: the events that mean someone should look.
SECURITY_ACTIONS = (
    AuditAction.LOGIN_FAILED,
    AuditAction.ACCOUNT_LOCKED,
    AuditAction.TWO_FACTOR_DISABLED,
    AuditAction.PASSWORD_CHANGED,
    AuditAction.API_KEY_CREATED,
    AuditAction.ROLES_CHANGED,
)
RECENT_EVENTS = 5


@admin.site.register_panel  # type: ignore[attr-defined]
def security_panel(request) -> Panel | None:
    if not request.user.has_perm("accounts.view_user"):
        return None
    now = timezone.now()
    day_ago = now - timedelta(hours=24)
    locked = User.objects.filter(locked_until__gt=now).count()
    figures = [
        Figure(
            f"locked {'account' if locked == 1 else 'accounts'}",
            str(locked),
            f"{reverse('admin:accounts_user_changelist')}?locked=yes",
        )
    ]
    items = []
    if request.user.has_perm("core.view_auditevent"):
        audit_url = reverse("admin:core_auditevent_changelist")
        failed = AuditEvent.objects.filter(
            action=AuditAction.LOGIN_FAILED, occurred_at__gte=day_ago
        ).count()
        query = urlencode(
            {"action": AuditAction.LOGIN_FAILED, "occurred_at__gte": day_ago.isoformat()}
        )
        figures.append(Figure("failed sign-ins in 24 h", str(failed), f"{audit_url}?{query}"))
        recent = (
            AuditEvent.objects.filter(action__in=SECURITY_ACTIONS)
            .select_related("actor")
            .order_by("-occurred_at")[:RECENT_EVENTS]
        )
        items = [
            Figure(
                event.action,
                f"{formats.date_format(timezone.localtime(event.occurred_at), 'DATETIME_FORMAT')}"
                f" · {event.actor.email if event.actor else 'system or anonymous'}",
                reverse("admin:core_auditevent_change", args=[event.pk]),
            )
            for event in recent
        ]
    return Panel(
        title="Accounts and security",
        figures=figures,
        items=items,
        items_title="Recent security events",
    )

"""Admin forms for users and roles.

Roles of a user and permissions of a role live in join tables with composite primary keys,
which Django 5.2's admin can neither register nor edit inline (the inline cannot read its own
key back from the POST). So each is a plain multiple-choice field here, and the ModelAdmin
saves it through the accounts service, which also writes the audit event.
"""

from typing import TYPE_CHECKING, Any

from django import forms
from django.apps import apps
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.contrib.auth import forms as auth_forms
from django.db.models import Q

from .models import Permission, Role, User

# The mixins below extend ModelForm; the type checker needs to see that base.
if TYPE_CHECKING:
    _ModelFormBase = forms.ModelForm[Any]
else:
    _ModelFormBase = object


def _linked_choices(queryset, label: str) -> forms.ModelMultipleChoiceField:
    return forms.ModelMultipleChoiceField(
        queryset=queryset,
        required=False,
        label=label,
        widget=FilteredSelectMultiple(label, is_stacked=False),
    )


class LinkedChoicesMixin(_ModelFormBase):
    """Starts each ``linked_fields`` form field (name → relation on the instance) from the
    rows the instance is linked to."""

    linked_fields: dict[str, str] = {}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            return
        for name, relation in self.linked_fields.items():
            if name in self.fields:
                related = getattr(self.instance, relation)
                self.initial[name] = list(related.values_list("pk", flat=True))


class NormalizedEmailMixin(_ModelFormBase):
    """Stores the email as UserManager.create_user would (domain lower-cased)."""

    def clean_email(self) -> str:
        return User.objects.normalize_email(self.cleaned_data["email"])


class UserCreationForm(NormalizedEmailMixin, auth_forms.AdminUserCreationForm):
    """An email login and a password (or none, for an account that may not sign in yet)."""

    class Meta:
        model = User
        fields = ("email",)


class UserChangeForm(NormalizedEmailMixin, LinkedChoicesMixin, auth_forms.UserChangeForm):
    assigned_roles = _linked_choices(Role.objects.all(), "Roles")

    linked_fields = {"assigned_roles": "roles"}

    class Meta:
        model = User
        fields = ("email", "password", "verified", "is_active", "is_staff", "is_superuser")


# Permissions of Django's own machinery (its groups and users, the admin log, content types,
# sessions, django-otp's devices): synced like every other, granted by no role but "admin",
# and of no use to anyone choosing what a role may do.
MACHINERY_APPS = ("admin", "auth", "contenttypes", "sessions", "otp_static", "otp_totp")


def meaningful_permissions():
    query = Q()
    for app_label in MACHINERY_APPS:
        query |= Q(name__startswith=f"{app_label}.")
    return Permission.objects.exclude(query)


def app_name(app_label: str) -> str:
    try:
        return str(apps.get_app_config(app_label).verbose_name)
    except LookupError:
        return app_label


def permission_label(permission: Permission) -> str:
    """ "Billing: Can add invoice" for ``billing.add_invoice``."""
    app_label = permission.name.partition(".")[0]
    return f"{app_name(app_label)}: {permission.description or permission.name}"


class PermissionChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj) -> str:
        return permission_label(obj)


class StaffPasswordSetForm(auth_forms.AdminPasswordChangeForm):
    """A new password for someone, which the accounts service sets (ending their sessions
    and auditing it). Turning password sign-in off is not offered: no service does it."""

    def __init__(self, user, *args, **kwargs) -> None:
        super().__init__(user, *args, **kwargs)
        self.fields.pop("usable_password", None)
        self.fields["password1"].required = True
        self.fields["password2"].required = True


class RoleForm(forms.ModelForm):
    granted_permissions = PermissionChoiceField(
        queryset=meaningful_permissions(),
        required=False,
        label="Permissions",
        widget=FilteredSelectMultiple("Permissions", is_stacked=False),
    )

    class Meta:
        model = Role
        fields = ("name",)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            # What the page offers, so that leaving it untouched changes nothing.
            self.initial["granted_permissions"] = list(
                meaningful_permissions().filter(roles=self.instance).values_list("pk", flat=True)
            )

    def clean_granted_permissions(self) -> list[Permission]:
        chosen = list(self.cleaned_data["granted_permissions"])
        if self.instance.pk is None:
            return chosen
        # Machinery permissions the role holds stay: the page neither shows nor removes them.
        kept = self.instance.permissions.exclude(pk__in=meaningful_permissions().values("pk"))
        return chosen + list(kept)

"""Admin forms for users and roles.

Roles of a user and permissions of a role live in join tables with composite primary keys,
which Django 5.2's admin can neither register nor edit inline (the inline cannot read its own
key back from the POST). So each is a plain multiple-choice field here, and the ModelAdmin
saves it through the accounts service, which also writes the audit event.
"""

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.contrib.auth import forms as auth_forms

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


class RoleForm(LinkedChoicesMixin, forms.ModelForm):
    granted_permissions = _linked_choices(Permission.objects.all(), "Permissions")

    linked_fields = {"granted_permissions": "permissions"}

    class Meta:
        model = Role
        fields = ("name",)

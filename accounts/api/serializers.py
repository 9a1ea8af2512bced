"""Shapes of the accounts API: input serializers validate fields, output serializers
describe what comes back."""

from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from rest_framework import serializers

from accounts.models import ApiKey, ApiSession, Permission, Role, User, UserProfile


class RegisterInput(serializers.Serializer):
    email = serializers.EmailField(max_length=255)
    password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)
    display_name = serializers.CharField(max_length=255)

    def validate_password(self, value: str) -> str:
        # Checked here so one answer names every bad field; the service checks again with
        # the user's own details (similarity to the email).
        try:
            password_validation.validate_password(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(list(error.messages)) from error
        return value


class TokenInput(serializers.Serializer):
    token = serializers.CharField(max_length=1024)


class EmailInput(serializers.Serializer):
    email = serializers.EmailField(max_length=255)


class LoginInput(serializers.Serializer):
    email = serializers.CharField(max_length=255)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class PasswordChangeInput(serializers.Serializer):
    current_password = serializers.CharField(max_length=128, trim_whitespace=False)
    new_password = serializers.CharField(max_length=128, trim_whitespace=False)


class PasswordResetConfirmInput(serializers.Serializer):
    uid = serializers.CharField(max_length=64)
    token = serializers.CharField(max_length=128)
    new_password = serializers.CharField(max_length=128, trim_whitespace=False)


class AcceptedOutput(serializers.Serializer):
    detail = serializers.CharField()


class ProfileSerializer(serializers.ModelSerializer):
    class Meta:
        model = UserProfile
        fields = ["display_name", "avatar_url", "bio", "updated_at"]
        read_only_fields = ["updated_at"]
        extra_kwargs = {"display_name": {"required": False, "allow_blank": False}}


class MeOutput(serializers.ModelSerializer):
    profile = ProfileSerializer(read_only=True)

    class Meta:
        model = User
        fields = ["id", "email", "verified", "totp_enabled", "is_staff", "created_at", "profile"]


class SessionOutput(serializers.ModelSerializer):
    current = serializers.SerializerMethodField()
    ip = serializers.SerializerMethodField()
    user_agent = serializers.SerializerMethodField()

    class Meta:
        model = ApiSession
        fields = [
            "id",
            "created_at",
            "last_accessed_at",
            "expires_at",
            "ip",
            "user_agent",
            "current",
        ]

    def get_current(self, session: ApiSession) -> bool:
        # The session the list is read with; without a request (an event's payload), the
        # session as seen by itself.
        request = self.context.get("request")
        current = session if request is None else request.auth
        return isinstance(current, ApiSession) and current.pk == session.pk

    def get_ip(self, session: ApiSession) -> str | None:
        return (session.metadata or {}).get("ip")

    def get_user_agent(self, session: ApiSession) -> str:
        return (session.metadata or {}).get("user_agent", "")


class LoginOutput(serializers.Serializer):
    token = serializers.CharField(required=False, help_text="The session token; shown once.")
    expires_at = serializers.DateTimeField(required=False)
    session_id = serializers.UUIDField(required=False)
    two_factor_required = serializers.BooleanField()
    challenge = serializers.CharField(
        required=False, help_text="Send with a code to /auth/login/2fa within five minutes."
    )


class ApiKeyInput(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    scopes = serializers.ListField(
        child=serializers.CharField(max_length=255), required=False, max_length=500
    )

    def validate_expires_at(self, value):
        if value is not None and value <= timezone.now():
            raise serializers.ValidationError("Must be in the future.")
        return value


class ApiKeyOutput(serializers.ModelSerializer):
    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "scopes", "created_at", "expires_at", "last_used_at"]


def session_representation(session: ApiSession, viewer: Any = None) -> Any:
    """A session as GET /sessions lists it to itself: the payload of session.created
    (registered in AccountsConfig.ready())."""
    return SessionOutput(session).data


def api_key_representation(api_key: ApiKey, viewer: Any = None) -> Any:
    """An API key as GET /api-keys lists it, never its secret: the payload of
    api_key.created."""
    return ApiKeyOutput(api_key).data


class ApiKeyCreatedOutput(ApiKeyOutput):
    key = serializers.CharField(help_text="The key itself; shown this once, never again.")

    class Meta(ApiKeyOutput.Meta):
        fields = [*ApiKeyOutput.Meta.fields, "key"]


class DirectoryEntryOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="user_id")

    class Meta:
        model = UserProfile
        fields = ["id", "display_name", "avatar_url"]


class RoleOutput(serializers.ModelSerializer):
    # Read-only, so no queryset tells the type checker which model's rows it names.
    permissions: "serializers.SlugRelatedField[Permission]" = serializers.SlugRelatedField(
        slug_field="name", many=True, read_only=True
    )

    class Meta:
        model = Role
        fields = ["id", "name", "permissions"]


class PermissionOutput(serializers.ModelSerializer):
    class Meta:
        model = Permission
        fields = ["id", "name", "description"]


class RolePermissionsInput(serializers.Serializer):
    permissions = serializers.SlugRelatedField(
        slug_field="name", many=True, queryset=Permission.objects.all()
    )


class UserRolesInput(serializers.Serializer):
    roles = serializers.SlugRelatedField(slug_field="name", many=True, queryset=Role.objects.all())


class UserRolesOutput(serializers.Serializer):
    id = serializers.UUIDField()
    roles = serializers.ListField(child=serializers.CharField())


class RevokedOutput(serializers.Serializer):
    revoked = serializers.IntegerField()

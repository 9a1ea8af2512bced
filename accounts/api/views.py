"""Accounts API. Views parse input, call one service or selector, and shape the answer."""

from typing import TYPE_CHECKING

from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView, get_object_or_404
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from accounts import selectors
from accounts.models import ApiKey, ApiSession, Permission, Role, User
from accounts.services import credentials, login, roles, users
from core.api.context import action_context
from core.api.permissions import HasActionPermission, SessionCredentialOnly, request_has_perm
from core.api.routing import ReplicaReadsMixin
from core.api.schema import problem_responses
from core.api.validation import represented, require_json_types, validated

from . import serializers as s

if TYPE_CHECKING:
    from accounts.authentication import AuthenticatedRequest

ACCEPTED = "If the address can receive it, an email is on its way."


# For answers that carry a secret (a session token, an API key, a TOTP secret, recovery codes)
# or the account itself: `Cache-Control: no-store, private…`, so no browser or proxy cache
# keeps a copy for the next person at the machine.
no_store = method_decorator(never_cache)


def _accepted() -> Response:
    return Response({"detail": ACCEPTED}, status=status.HTTP_202_ACCEPTED)


class AuthViewSet(viewsets.GenericViewSet):
    """Signing up, verifying, signing in and out, and resetting a forgotten password."""

    permission_classes = [AllowAny]
    serializer_class = s.LoginInput
    # Strict per-IP and per-account limits (core.api.throttling) on every step that guesses
    # a secret or sends an email.
    throttle_scopes = {
        "register": "register",
        "verify_email": "register",
        "resend_verification": "register",
        "login": "login",
        "password_reset": "password_reset",
        "password_reset_confirm": "password_reset",
    }

    @property
    def throttle_scope(self) -> str | None:
        return self.throttle_scopes.get(self.action)

    @extend_schema(request=s.RegisterInput, responses={202: s.AcceptedOutput})
    @action(detail=False, methods=["post"])
    def register(self, request):
        """Creates an account and emails a verification link. The answer is the same whether
        or not the address already had an account."""
        users.user_register(**validated(s.RegisterInput, request.data))
        return _accepted()

    @extend_schema(request=s.TokenInput, responses={200: s.MeOutput})
    @action(detail=False, methods=["post"], url_path="verify-email")
    @no_store
    def verify_email(self, request):
        """Confirms an email address with the token from the verification email."""
        user = users.user_verify_email(**validated(s.TokenInput, request.data))
        return Response(s.MeOutput(user).data)

    @extend_schema(request=s.EmailInput, responses={202: s.AcceptedOutput})
    @action(detail=False, methods=["post"], url_path="verify-email/resend")
    def resend_verification(self, request):
        """Sends a new verification link to an unverified address."""
        users.verification_resend(**validated(s.EmailInput, request.data))
        return _accepted()

    @extend_schema(
        request=s.LoginInput,
        responses={200: s.LoginOutput, **problem_responses(401, 403, 423)},
    )
    @action(detail=False, methods=["post"])
    @no_store
    def login(self, request):
        """Signs in with email and password. Returns a session token, or, for accounts with
        two-factor authentication, a challenge to complete at /auth/login/2fa."""
        result = login.login_with_password(
            **validated(s.LoginInput, request.data), context=action_context(request)
        )
        return Response(login_payload(result))

    @extend_schema(request=None, responses={204: None})
    @action(detail=False, methods=["post"], permission_classes=[IsAuthenticated])
    def logout(self, request):
        """Ends the session whose token signed this request."""
        if isinstance(request.auth, ApiSession):
            credentials.session_revoke(
                user=request.user,
                session_id=request.auth.pk,
                actor=request.user,
                context=action_context(request),
            )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=s.EmailInput, responses={202: s.AcceptedOutput})
    @action(detail=False, methods=["post"], url_path="password-reset")
    def password_reset(self, request):
        """Emails a single-use link to choose a new password."""
        users.password_reset_request(**validated(s.EmailInput, request.data))
        return _accepted()

    @extend_schema(request=s.PasswordResetConfirmInput, responses={204: None})
    @action(detail=False, methods=["post"], url_path="password-reset/confirm")
    def password_reset_confirm(self, request):
        """Sets a new password from a reset link; every session of the account ends."""
        users.password_reset_confirm(
            **validated(s.PasswordResetConfirmInput, request.data),
            context=action_context(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


def login_payload(result: login.LoginResult) -> dict:
    """The body of a sign-in answer: a session, or the second-factor challenge."""
    # A result carries one or the other: no session means the second factor is still owed.
    if result.session is None:
        return {"two_factor_required": True, "challenge": result.two_factor_challenge}
    return {
        "two_factor_required": False,
        "token": result.token,
        "session_id": result.session.pk,
        "expires_at": result.session.expires_at,
    }


class MeView(GenericAPIView):
    """The signed-in user."""

    serializer_class = s.MeOutput

    @no_store
    def get(self, request):
        return Response(represented(s.MeOutput, request.user))


class ProfileView(GenericAPIView):
    """The signed-in user's public profile."""

    serializer_class = s.ProfileSerializer

    def get(self, request):
        return Response(self.get_serializer(getattr(request.user, "profile", None)).data)

    def patch(self, request):
        # A write needs a write permission: a key scoped to reading profiles may not edit one.
        if not request_has_perm(request, "accounts.change_userprofile"):
            self.permission_denied(request)
        serializer = self.get_serializer(data=request.data, partial=True)
        require_json_types(serializer)
        serializer.is_valid(raise_exception=True)
        profile = users.profile_update(user=request.user, **serializer.validated_data)
        return Response(self.get_serializer(profile).data)


class PasswordChangeView(GenericAPIView):
    """Changes the password; every other session of the account ends."""

    serializer_class = s.PasswordChangeInput
    permission_classes = [IsAuthenticated, SessionCredentialOnly]

    @extend_schema(responses={204: None})
    def post(self, request):
        data = validated(s.PasswordChangeInput, request.data)
        current = request.auth if isinstance(request.auth, ApiSession) else None
        users.password_change(
            user=request.user, current_session=current, context=action_context(request), **data
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class SessionViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """My signed-in sessions; the one making the request is marked ``current``."""

    serializer_class = s.SessionOutput
    permission_classes = [IsAuthenticated, SessionCredentialOnly]
    request: "AuthenticatedRequest"
    ordering = ("-last_accessed_at", "-id")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return ApiSession.objects.none()
        return selectors.session_list(user=self.request.user)

    def perform_destroy(self, instance):
        credentials.session_revoke(
            user=self.request.user,
            session_id=instance.pk,
            actor=self.request.user,
            context=action_context(self.request),
        )

    @extend_schema(request=None, responses={200: s.RevokedOutput})
    @action(detail=False, methods=["post"], url_path="revoke-others")
    def revoke_others(self, request):
        """Ends every session but the current one."""
        current = request.auth if isinstance(request.auth, ApiSession) else None
        revoked = credentials.session_revoke_others(
            user=request.user, current=current, context=action_context(request)
        )
        return Response({"revoked": revoked})


class ApiKeyViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """My API keys. The key itself is shown once, in the answer to its creation."""

    serializer_class = s.ApiKeyOutput
    permission_classes = [IsAuthenticated, SessionCredentialOnly]
    request: "AuthenticatedRequest"
    ordering = ("-created_at", "-id")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return ApiKey.objects.none()
        return selectors.api_key_list(user=self.request.user)

    @extend_schema(request=s.ApiKeyInput, responses={201: s.ApiKeyCreatedOutput})
    @no_store
    def create(self, request):
        api_key, secret = credentials.api_key_create(
            user=request.user,
            context=action_context(request),
            **validated(s.ApiKeyInput, request.data),
        )
        api_key.key = secret
        return Response(s.ApiKeyCreatedOutput(api_key).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        credentials.api_key_revoke(
            api_key=instance, actor=self.request.user, context=action_context(self.request)
        )


class UserDirectoryViewSet(ReplicaReadsMixin, viewsets.ReadOnlyModelViewSet):
    """People to pick as participants or sharees: display name and avatar only."""

    serializer_class = s.DirectoryEntryOutput
    permission_classes = [HasActionPermission]
    action_permissions = {
        "list": "accounts.view_userprofile",
        "retrieve": "accounts.view_userprofile",
        "roles": "accounts.change_userrole",
    }
    lookup_field = "user_id"
    ordering = ("display_name", "user_id")

    def get_queryset(self):
        return selectors.user_directory(search=self.request.query_params.get("search"))

    @extend_schema(
        request=s.UserRolesInput, responses={200: s.UserRolesOutput, **problem_responses(409)}
    )
    @action(detail=True, methods=["put"])
    def roles(self, request, user_id=None):
        """Makes the given roles exactly the user's roles."""
        user = get_object_or_404(User, pk=user_id, is_active=True)
        wanted = validated(s.UserRolesInput, request.data)["roles"]
        roles.user_set_roles(
            user=user, roles=wanted, actor=request.user, context=action_context(request)
        )
        return Response({"id": user.pk, "roles": sorted(role.name for role in wanted)})


class RoleViewSet(viewsets.ReadOnlyModelViewSet):
    """Roles and the permissions each grants."""

    serializer_class = s.RoleOutput
    permission_classes = [HasActionPermission]
    action_permissions = {
        "list": "accounts.view_role",
        "retrieve": "accounts.view_role",
        "permissions": "accounts.change_rolepermission",
    }
    ordering = ("name", "id")
    queryset = Role.objects.prefetch_related("permissions")

    @extend_schema(
        request=s.RolePermissionsInput, responses={200: s.RoleOutput, **problem_responses(409)}
    )
    @action(detail=True, methods=["put"])
    def permissions(self, request, pk=None):
        """Makes the given permissions exactly the role's grants."""
        role = self.get_object()
        permissions = validated(s.RolePermissionsInput, request.data)["permissions"]
        roles.role_set_permissions(
            role=role, permissions=permissions, actor=request.user, context=action_context(request)
        )
        return Response(s.RoleOutput(self.get_queryset().get(pk=role.pk)).data)


class PermissionViewSet(viewsets.ReadOnlyModelViewSet):
    """Every permission a role can grant."""

    serializer_class = s.PermissionOutput
    permission_classes = [HasActionPermission]
    action_permissions = {
        "list": "accounts.view_permission",
        "retrieve": "accounts.view_permission",
    }
    ordering = ("name", "id")
    queryset = Permission.objects.all()

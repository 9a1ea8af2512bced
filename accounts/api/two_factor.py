"""Two-factor authentication API: managing my authenticator app and recovery codes, and the
second step of signing in. The work happens in accounts.services.two_factor and
accounts.services.login."""

from collections.abc import Mapping

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from accounts import selectors
from accounts.exceptions import ValidationFailed
from accounts.services import login, two_factor
from core.api.context import action_context
from core.api.permissions import SessionCredentialOnly
from core.api.schema import problem_responses
from core.api.validation import validated

from .serializers import LoginOutput
from .views import login_payload, no_store

# Every endpoint here that checks a code or the password takes the strict "two_factor" limits
# (per IP and per account, core.api.throttling), so neither can be guessed at speed.
THROTTLE_SCOPE = "two_factor"


class CodeInput(serializers.Serializer):
    code = serializers.CharField(
        max_length=32, help_text="The six digits the authenticator app shows."
    )


class PasswordInput(serializers.Serializer):
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class SecondFactorLoginInput(serializers.Serializer):
    challenge = serializers.CharField(max_length=1024, help_text="From the password step.")
    code = serializers.CharField(
        max_length=32, help_text="The authenticator app's six digits, or a recovery code."
    )


class TotpSetupOutput(serializers.Serializer):
    secret = serializers.CharField(help_text="Base32, for typing into the app by hand.")
    otpauth_uri = serializers.CharField(help_text="The same secret as an `otpauth://` URI.")
    qr_svg = serializers.CharField(help_text="The URI as a QR code, an SVG document.")


class RecoveryCodesOutput(serializers.Serializer):
    recovery_codes = serializers.ListField(
        child=serializers.CharField(),
        help_text="Single-use codes for when the app is not at hand; shown this once.",
    )


class TwoFactorStatusOutput(serializers.Serializer):
    enabled = serializers.BooleanField()
    recovery_codes_left = serializers.IntegerField()


class TwoFactorStatusView(GenericAPIView):
    """Whether two-factor authentication is on for me, and how many recovery codes are left."""

    serializer_class = TwoFactorStatusOutput
    permission_classes = [IsAuthenticated, SessionCredentialOnly]

    def get(self, request):
        state = selectors.two_factor_status(user=request.user)
        return Response(self.get_serializer(state).data)


class TwoFactorViewSet(viewsets.GenericViewSet):
    """Turning two-factor authentication on and off, and my recovery codes. Only a signed-in
    person manages these: API keys are refused."""

    permission_classes = [IsAuthenticated, SessionCredentialOnly]
    serializer_class = CodeInput

    @property
    def throttle_scope(self) -> str | None:
        # Setup only hands out a new secret; the other actions check a code or the password.
        return None if self.action == "setup" else THROTTLE_SCOPE

    @extend_schema(request=None, responses={200: TotpSetupOutput, **problem_responses(409)})
    @action(detail=False, methods=["post"])
    # The action shares its name with Django's View.setup, which a DRF viewset never calls
    # (its as_view dispatches without it), so replacing it is safe.
    @no_store
    def setup(self, request):  # type: ignore[override]
        """Starts enabling two-factor authentication: a new secret for the authenticator app.
        Nothing changes at sign-in until the confirm step."""
        setup = two_factor.totp_setup(user=request.user)
        return Response(TotpSetupOutput(setup).data)

    @extend_schema(
        request=CodeInput, responses={200: RecoveryCodesOutput, **problem_responses(409)}
    )
    @action(detail=False, methods=["post"])
    @no_store
    def confirm(self, request):
        """Turns two-factor authentication on with a code from the app; answers with the
        recovery codes, shown this once."""
        codes = two_factor.totp_confirm(
            user=request.user,
            context=action_context(request),
            **validated(CodeInput, request.data),
        )
        return Response(RecoveryCodesOutput({"recovery_codes": codes}).data)

    @extend_schema(request=PasswordInput, responses={204: None})
    @action(detail=False, methods=["post"])
    def disable(self, request):
        """Turns two-factor authentication off; needs the password again."""
        two_factor.totp_disable(
            user=request.user,
            context=action_context(request),
            **validated(PasswordInput, request.data),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=PasswordInput, responses={200: RecoveryCodesOutput, **problem_responses(409)}
    )
    @action(detail=False, methods=["post"], url_path="recovery-codes")
    @no_store
    def recovery_codes(self, request):
        """Replaces all my recovery codes with new ones; needs the password again."""
        codes = two_factor.recovery_codes_regenerate(
            user=request.user,
            context=action_context(request),
            **validated(PasswordInput, request.data),
        )
        return Response(RecoveryCodesOutput({"recovery_codes": codes}).data)


class SecondFactorLoginView(GenericAPIView):
    """Completes signing in to an account with two-factor authentication: the challenge from
    /auth/login and a code from the app, or a recovery code. Answers like /auth/login."""

    serializer_class = SecondFactorLoginInput
    permission_classes = [AllowAny]
    throttle_scope = THROTTLE_SCOPE

    def get_throttle_account(self, request) -> str | None:
        # Counted per account the challenge names, so many clients sharing one challenge
        # share one budget; a challenge that names no account can verify nothing anyway.
        challenge = request.data.get("challenge") if isinstance(request.data, Mapping) else None
        if not isinstance(challenge, str):
            return None
        try:
            return str(login.user_for_two_factor_challenge(challenge=challenge).pk)
        except ValidationFailed:
            return None

    @extend_schema(responses={200: LoginOutput, **problem_responses(401, 423)})
    @no_store
    def post(self, request):
        result = login.login_with_second_factor(
            **validated(SecondFactorLoginInput, request.data), context=action_context(request)
        )
        return Response(login_payload(result))

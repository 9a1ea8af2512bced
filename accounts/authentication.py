"""DRF authentication for API clients: ``Authorization: Bearer <session token>`` and
``Authorization: Api-Key <key>``. Each costs one indexed query that also brings the user."""

from typing import TYPE_CHECKING

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from . import selectors
from .authorization import remember_permissions
from .services import credentials

if TYPE_CHECKING:
    from rest_framework.request import Request

    from .models import User

    class AuthenticatedRequest(Request):
        """The request a view sees once its permission classes have refused anonymous
        callers: its user is an account. DRF's types cannot know that; such a view states it
        with ``request: "AuthenticatedRequest"``."""

        user: User


class _HeaderCredentialAuthentication(BaseAuthentication):
    """Reads ``Authorization: <keyword> <secret>``; subclasses turn the secret into a
    credential row (or None) and record its use."""

    keyword: str
    refused = "The credential is invalid, expired or revoked."

    def authenticate(self, request):
        scheme, _, secret = get_authorization_header(request).decode("latin-1").partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None
        secret = secret.strip()
        if not secret or " " in secret:
            raise AuthenticationFailed(
                f"Malformed Authorization header: use '{self.keyword} <secret>'."
            )
        credential = self.credential_for(secret)
        if credential is None:
            raise AuthenticationFailed(self.refused)
        remember_permissions(credential.user, credential.permission_names)
        self.record_use(credential)
        return credential.user, credential

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="atrium"'

    def credential_for(self, secret: str):
        raise NotImplementedError

    def record_use(self, credential) -> None:
        raise NotImplementedError


class BearerSessionAuthentication(_HeaderCredentialAuthentication):
    keyword = "Bearer"
    refused = "The session token is invalid, expired or revoked."

    def credential_for(self, secret: str):
        return selectors.session_for_token(token=secret)

    def record_use(self, credential) -> None:
        credentials.session_touch(session=credential)


class ApiKeyAuthentication(_HeaderCredentialAuthentication):
    keyword = "Api-Key"
    refused = "The API key is invalid, expired or revoked."

    def credential_for(self, secret: str):
        return selectors.api_key_for_secret(key=secret)

    def record_use(self, credential) -> None:
        credentials.api_key_touch(api_key=credential)


# drf-spectacular lists security schemes by name, and Swagger UI's Authorize dialog shows
# them in that order: the names put the bearer token, what people paste, first.
class BearerSessionScheme(OpenApiAuthenticationExtension):
    target_class = BearerSessionAuthentication
    name = "bearerSessionToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "Sign in with POST /api/v1/auth/login and paste the token it returns here, "
                "as it is (Swagger UI adds 'Bearer ')."
            ),
        }


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = "headerApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "For programs: type 'Api-Key ' and the key in full ('Api-Key atr_…'), a key "
                "from POST /api/v1/me/api-keys. A login token goes in the bearer scheme above."
            ),
        }

"""The tokens account emails carry, made when the email is sent (by its job), so no token
ever sits in the job queue."""

from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from .models import User

VERIFY_SALT = "accounts.verify-email"


def verification_token(user: User) -> str:
    # The email is signed in so a link stops working if the address changes.
    return signing.dumps({"user": str(user.pk), "email": user.email}, salt=VERIFY_SALT)


def password_reset_params(user: User) -> dict[str, str]:
    """The ``uid`` and single-use ``token`` of a reset link. Django's token embeds the password
    hash, so it dies once the password changes."""
    return {
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": default_token_generator.make_token(user),
    }

"""Two-factor authentication with an authenticator app (TOTP) and single-use recovery codes.

Each write is one transaction. The TOTP secret lives encrypted in ``users.totp_secret`` from
setup on; ``users.totp_enabled`` turns true only once a code proves the app holds the secret,
which is when the device (``AuthenticatorDevice``, what django-otp verifies against) is
created.
"""

import base64
import hashlib
import io
import math
import secrets
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import segno
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import AuthenticatorDevice, RecoveryCode, User
from accounts.selectors import recovery_codes_left
from accounts.tasks import queue_notice
from core import audit, crypto
from core.context import ActionContext
from core.events import Audience, publish
from core.exceptions import Conflict, Locked, ValidationFailed
from core.models import AuditAction

from .roles import require_may_change_account

RECOVERY_CODE_COUNT = 10
# 31 symbols without the look-alikes 0/o, 1/l/i: 12 of them carry 59 bits, and people can
# copy them off paper. Shown in groups of four ("k7qm-x3tp-wzr9").
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_RECOVERY_GROUPS, _RECOVERY_GROUP_LENGTH = 3, 4
# 160 bits, the key size RFC 4226 recommends for HMAC-SHA1.
_SECRET_BYTES = 20


@dataclass(frozen=True)
class TotpSetup:
    """What an authenticator app needs: the secret to type in, or the URI and its QR code."""

    secret: str
    otpauth_uri: str
    qr_svg: str


def _locked_user(user: User) -> User:
    """The user's row, locked until the transaction ends, so concurrent 2FA changes of one
    account queue instead of interleaving."""
    return User.objects.select_for_update().get(pk=user.pk)


def _otpauth_uri(*, secret: str, email: str) -> str:
    # The Key Uri Format that authenticator apps read; the issuer appears both in the label
    # and as a parameter, for old and new apps alike. The label's separator is a literal
    # colon: an encoded one would read as part of the name.
    issuer = settings.OTP_TOTP_ISSUER
    label = f"{quote(issuer, safe='')}:{quote(email, safe='')}"
    params = urlencode(
        {
            "secret": secret,
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": AuthenticatorDevice.DIGITS,
            "period": AuthenticatorDevice.STEP_SECONDS,
        },
        quote_via=quote,
    )
    return f"otpauth://totp/{label}?{params}"


def _qr_svg(data: str) -> str:
    # A standalone SVG document (with its namespace), so it works inline and as an <img>.
    out = io.BytesIO()
    segno.make(data, error="m").save(out, kind="svg", scale=4, border=4, xmldecl=False)
    return out.getvalue().decode()


@transaction.atomic(durable=True)
def totp_setup(*, user: User) -> TotpSetup:
    """Gives the user a new secret to load into an authenticator app. Nothing changes at
    sign-in until ``totp_confirm``; calling this again replaces the pending secret."""
    user = _locked_user(user)
    if user.totp_enabled:
        raise Conflict(
            "Two-factor authentication is already on; turn it off first to use a new app.",
            code="two_factor_enabled",
        )
    secret = base64.b32encode(secrets.token_bytes(_SECRET_BYTES)).decode()
    user.totp_secret = crypto.encrypt(secret)
    user.save(update_fields=["totp_secret"])
    uri = _otpauth_uri(secret=secret, email=user.email)
    return TotpSetup(secret=secret, otpauth_uri=uri, qr_svg=_qr_svg(uri))


def totp_pending(*, user: User) -> TotpSetup | None:
    """The setup given by ``totp_setup`` and not confirmed yet, shown again (a page that
    asks for the code again after a wrong one); None when there is none. Writes nothing."""
    if user.totp_enabled or not user.totp_secret:
        return None
    secret = crypto.decrypt(user.totp_secret)
    uri = _otpauth_uri(secret=secret, email=user.email)
    return TotpSetup(secret=secret, otpauth_uri=uri, qr_svg=_qr_svg(uri))


@transaction.atomic(durable=True)
def totp_confirm(*, user: User, code: str, context: ActionContext) -> list[str]:
    """Turns two-factor authentication on once ``code`` shows the app holds the pending
    secret; returns the recovery codes, which exist nowhere else from here on."""
    user = _locked_user(user)
    if user.totp_enabled:
        raise Conflict("Two-factor authentication is already on.", code="two_factor_enabled")
    if not user.totp_secret:
        raise Conflict("Start with the setup step.", code="two_factor_not_set_up")
    step = AuthenticatorDevice.matching_step(user=user, token=code.strip())
    if step is None:
        raise ValidationFailed(
            "The code does not match; check the app's clock and try the current code.",
            fields={"code": ["Wrong or expired code."]},
        )
    user.totp_enabled = True
    user.save(update_fields=["totp_enabled"])
    # The confirming code counts as used, so it cannot also open a session.
    AuthenticatorDevice.objects.create(
        user=user, name="Authenticator app", confirmed=True, last_t=step
    )
    codes = _replace_recovery_codes(user)
    audit.record(action=AuditAction.TWO_FACTOR_ENABLED, actor=user, target=user, context=context)
    publish(
        type="two_factor.enabled",
        target=user,
        audience=Audience.user(user.pk),
        actor=user,
        context=context,
        payload={"recovery_codes_left": len(codes)},
    )
    return codes


@transaction.atomic(durable=True)
def two_factor_verify(*, user: User, code: str, context: ActionContext) -> bool:
    """The second step of signing in: whether ``code`` is a current authenticator code not
    used before, or one of the user's unused recovery codes (which it uses up).

    Durable, so what it consumes (the code's time step, a recovery code) and each counted
    failure commit whatever the caller does next. Raises Locked while failures throttle the
    device (django-otp's back-off: 1, 2, 4... seconds after each failure in a row).
    """
    # The lock queues concurrent attempts, so the throttle sees every failure.
    # django-otp ships no types, so the device model's queries are untyped; this says what
    # they return.
    device: AuthenticatorDevice | None = (
        AuthenticatorDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
    )
    if device is None:
        return False
    allowed, details = device.verify_is_allowed()
    if not allowed:
        wait = (details["locked_until"] - timezone.now()).total_seconds()
        raise Locked(
            "Too many wrong codes in a row; wait a moment before the next try.",
            code="two_factor_throttled",
            retry_after=max(1, math.ceil(wait)),
        )
    code = code.strip()
    if AuthenticatorDevice.TOKEN.fullmatch(code):
        return device.verify_token(code)
    if not _use_recovery_code(user=user, code=code):
        device.throttle_increment()
        return False
    device.throttle_reset()
    audit.record(
        action=AuditAction.RECOVERY_CODE_USED,
        actor=user,
        target=user,
        after={"recovery_codes_left": recovery_codes_left(user=user)},
        context=context,
    )
    return True


@transaction.atomic(durable=True)
def totp_disable(*, user: User, password: str, context: ActionContext) -> None:
    """Turns two-factor authentication off; the password must be given again, so a stolen
    session alone cannot remove the second factor."""
    _check_password(user, password)
    _turn_off(user=user, actor=user, context=context)


@transaction.atomic(durable=True)
def two_factor_reset(*, user: User, actor: User | None, context: ActionContext) -> None:
    """Staff action for a user who lost the authenticator and the recovery codes: turns
    two-factor authentication off, recorded as done by ``actor``."""
    require_may_change_account(actor, user)
    _turn_off(user=user, actor=actor, context=context)


@transaction.atomic(durable=True)
def recovery_codes_regenerate(*, user: User, password: str, context: ActionContext) -> list[str]:
    """Replaces every recovery code, used or not, with new ones; returns them."""
    _check_password(user, password)
    user = _locked_user(user)
    if not user.totp_enabled:
        raise Conflict("Two-factor authentication is off.", code="two_factor_disabled")
    codes = _replace_recovery_codes(user)
    audit.record(
        action=AuditAction.RECOVERY_CODES_REGENERATED, actor=user, target=user, context=context
    )
    return codes


def _check_password(user: User, password: str) -> None:
    if not user.check_password(password):
        raise ValidationFailed(
            "The password is wrong.", fields={"password": ["Does not match your password."]}
        )


def _turn_off(*, user: User, actor: User | None, context: ActionContext) -> None:
    """Removes the device, the secret (pending or in use) and the recovery codes; records the
    change when two-factor authentication was on."""
    locked = _locked_user(user)
    was_enabled = bool(locked.totp_enabled)
    AuthenticatorDevice.objects.filter(user=locked).delete()
    RecoveryCode.objects.filter(user=locked).delete()
    locked.totp_enabled = False
    locked.totp_secret = None
    locked.save(update_fields=["totp_enabled", "totp_secret"])
    user.totp_enabled, user.totp_secret = False, None
    if was_enabled:
        audit.record(
            action=AuditAction.TWO_FACTOR_DISABLED, actor=actor, target=user, context=context
        )
        by_staff = actor is not None and actor.pk != user.pk
        queue_notice("two_factor_disabled", user=user, context=context, by_staff=by_staff)
        publish(
            type="two_factor.disabled",
            target=user,
            audience=Audience.user(user.pk),
            actor=actor,
            context=context,
            payload={"by_staff": by_staff},
        )


def _new_recovery_code() -> str:
    groups = (
        "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_GROUP_LENGTH))
        for _ in range(_RECOVERY_GROUPS)
    )
    return "-".join(groups)


def _recovery_code_digest(code: str) -> str:
    # People retype codes with capitals, spaces or without the dashes; all mean the same code.
    normalized = "".join(ch for ch in code.lower() if ch.isalnum())
    return hashlib.sha256(normalized.encode()).hexdigest()


def _replace_recovery_codes(user: User) -> list[str]:
    codes: set[str] = set()
    while len(codes) < RECOVERY_CODE_COUNT:
        codes.add(_new_recovery_code())
    RecoveryCode.objects.filter(user=user).delete()
    RecoveryCode.objects.bulk_create(
        [RecoveryCode(user=user, code_hash=_recovery_code_digest(code)) for code in codes]
    )
    return sorted(codes)


def _use_recovery_code(*, user: User, code: str) -> bool:
    # used_at IS NULL is part of the UPDATE, so a code works once even for concurrent requests.
    used = RecoveryCode.objects.filter(
        user=user, code_hash=_recovery_code_digest(code), used_at__isnull=True
    ).update(used_at=timezone.now())
    return used == 1

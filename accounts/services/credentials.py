"""API sessions and API keys: opening, recording use, revoking, purging."""

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.credentials import digest, new_api_key, new_session_token, visible_part
from accounts.exceptions import NotFound, ValidationFailed
from accounts.models import ApiKey, ApiSession, Permission, User
from accounts.tasks import queue_notice
from core import audit
from core.context import ActionContext
from core.events import Audience, publish
from core.models import AuditAction

from .roles import require_may_change_account


def issue_session(*, user: User, context: ActionContext) -> tuple[ApiSession, str]:
    """Opens a session for a user whose identity is established; returns the row and the
    token, which exists nowhere else from here on. Runs inside the caller's transaction (a
    sign-in records itself in the same one)."""
    token = new_session_token()
    session = ApiSession.objects.create(
        user=user,
        token=digest(token),
        expires_at=timezone.now() + timedelta(seconds=settings.SESSION_TOKEN_LIFETIME),
        metadata={"ip": context.ip_address, "user_agent": context.user_agent},
    )
    audit.record(action=AuditAction.SESSION_CREATED, actor=user, target=session, context=context)
    publish(
        type="session.created",
        target=session,
        audience=Audience.user(user.pk),
        actor=user,
        context=context,
    )
    return session, token


@transaction.atomic(durable=True)
def session_create(*, user: User, context: ActionContext) -> tuple[ApiSession, str]:
    """A session for ``user`` without a sign-in (the password step is the caller's)."""
    return issue_session(user=user, context=context)


def _touch(credential: ApiSession | ApiKey, *, field: str) -> None:
    """Records a credential's use at most once per CREDENTIAL_TOUCH_INTERVAL. The condition
    sits in the UPDATE too, so concurrent requests on several workers write once. Every API
    request comes here: the common case, a recent use, returns before building any query."""
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.CREDENTIAL_TOUCH_INTERVAL)
    last = getattr(credential, field)
    if last is not None and last > stale_before:
        return
    with transaction.atomic(durable=True):
        type(credential).objects.filter(
            Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__lte": stale_before}),
            pk=credential.pk,
        ).update(**{field: now})


def session_touch(*, session: ApiSession) -> None:
    _touch(session, field="last_accessed_at")


def api_key_touch(*, api_key: ApiKey) -> None:
    _touch(api_key, field="last_used_at")


@transaction.atomic(durable=True)
def session_revoke(
    *, user: User, session_id: uuid.UUID, actor: User | None, context: ActionContext
) -> None:
    """Ends one of the user's sessions (logout when it is the current one); ``actor`` is the
    user or the staff member doing it."""
    deleted, _ = ApiSession.objects.filter(pk=session_id, user=user).delete()
    if not deleted:
        raise NotFound("No such session.")
    audit.record(
        action=AuditAction.SESSION_REVOKED,
        actor=actor,
        after={"session": str(session_id)},
        target=user,
        context=context,
    )


def _end_browser_sessions(user: User) -> int:
    """Signs the user out of the admin everywhere: deletes their Django sessions. Only staff
    hold such sessions (people use the API), so the live ones are few enough to read."""
    # The session table does not index its user (the id is inside the signed data).
    ended = [
        session.pk
        for session in Session.objects.filter(expire_date__gt=timezone.now())
        if session.get_decoded().get(SESSION_KEY) == str(user.pk)
    ]
    Session.objects.filter(pk__in=ended).delete()
    return len(ended)


def revoke_sessions(
    *, user: User, keep: ApiSession | None, actor: User | None, context: ActionContext
) -> int:
    """Ends every API session of the user but ``keep``, and, when nothing is kept, their
    admin sessions too; returns how many ended. Runs inside the caller's transaction (a
    password change or a lock ends sessions as part of itself)."""
    sessions = ApiSession.objects.filter(user=user)
    if keep is not None:
        sessions = sessions.exclude(pk=keep.pk)
    revoked = [str(pk) for pk in sessions.values_list("pk", flat=True)]
    sessions.filter(pk__in=revoked).delete()
    browser_sessions = _end_browser_sessions(user) if keep is None else 0
    if revoked or browser_sessions:
        after: dict[str, object] = {"sessions": revoked}
        if browser_sessions:
            after["admin_sessions"] = browser_sessions
        audit.record(
            action=AuditAction.SESSION_REVOKED,
            actor=actor,
            target=user,
            after=after,
            context=context,
        )
    return len(revoked) + browser_sessions


@transaction.atomic(durable=True)
def session_revoke_others(*, user: User, current: ApiSession | None, context: ActionContext) -> int:
    """Ends every session of the user but ``current``; returns how many ended."""
    return revoke_sessions(user=user, keep=current, actor=user, context=context)


@transaction.atomic(durable=True)
def sessions_revoke_all(*, user: User, actor: User | None, context: ActionContext) -> int:
    """Staff action: ends every session of the user."""
    require_may_change_account(actor, user)
    return revoke_sessions(user=user, keep=None, actor=actor, context=context)


@transaction.atomic(durable=True)
def sessions_purge_expired(*, dry_run: bool = False) -> int:
    """Deletes sessions past their absolute expiry or idle too long; returns how many."""
    now = timezone.now()
    dead = ApiSession.objects.filter(
        Q(expires_at__lte=now)
        | Q(last_accessed_at__lte=now - timedelta(seconds=settings.SESSION_IDLE_TIMEOUT))
    )
    if dry_run:
        return dead.count()
    deleted, _ = dead.delete()
    return deleted


@transaction.atomic(durable=True)
def api_key_create(
    *,
    user: User,
    name: str,
    expires_at: datetime | None = None,
    scopes: list[str] | None = None,
    context: ActionContext,
) -> tuple[ApiKey, str]:
    """Creates a key for ``user``; returns the row and the key, shown to the caller once.

    Scopes may only narrow what the owner holds: each must be one of the owner's permissions
    now (and is checked against the owner's permissions again on every use).
    """
    scopes = sorted(set(scopes or []))
    beyond = set(scopes) - user.get_all_permissions()
    if user.is_superuser:
        beyond -= set(Permission.objects.filter(name__in=beyond).values_list("name", flat=True))
    if beyond:
        raise ValidationFailed(
            "A key cannot hold permissions its owner lacks.",
            fields={"scopes": [f"Not among your permissions: {', '.join(sorted(beyond))}."]},
        )
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed(
            "The expiry must be in the future.", fields={"expires_at": ["Must be in the future."]}
        )
    secret = new_api_key()
    api_key = ApiKey.objects.create(
        user=user,
        name=name,
        expires_at=expires_at,
        scopes=scopes,
        key=digest(secret),
        prefix=visible_part(secret),
    )
    audit.record(
        action=AuditAction.API_KEY_CREATED,
        actor=user,
        target=api_key,
        after={"name": name, "scopes": scopes, "prefix": api_key.prefix},
        context=context,
    )
    queue_notice("api_key_created", user=user, context=context, name=name, prefix=api_key.prefix)
    publish(
        type="api_key.created",
        target=api_key,
        audience=Audience.user(user.pk),
        actor=user,
        context=context,
    )
    return api_key, secret


def _revoke_key(*, api_key: ApiKey, actor: User | None, context: ActionContext) -> None:
    deleted, _ = ApiKey.objects.filter(pk=api_key.pk).delete()
    if not deleted:
        raise NotFound("No such API key.")
    audit.record(
        action=AuditAction.API_KEY_REVOKED,
        actor=actor,
        target=api_key,
        before={"name": api_key.name, "prefix": api_key.prefix},
        context=context,
    )
    publish(
        type="api_key.revoked",
        target=api_key,
        audience=Audience.user(api_key.user_id),
        actor=actor,
        context=context,
        # Gone: named only.
        payload={"id": str(api_key.pk)},
    )


@transaction.atomic(durable=True)
def api_key_revoke(*, api_key: ApiKey, actor: User | None, context: ActionContext) -> None:
    _revoke_key(api_key=api_key, actor=actor, context=context)


def revoke_api_keys(*, user: User, actor: User | None, context: ActionContext) -> int:
    """Revokes every API key of the user; returns how many. Runs inside the caller's
    transaction (a password reset revokes keys as part of itself)."""
    keys = list(ApiKey.objects.select_for_update().filter(user=user))
    for api_key in keys:
        _revoke_key(api_key=api_key, actor=actor, context=context)
    return len(keys)


@transaction.atomic(durable=True)
def api_keys_revoke_all(*, user: User, actor: User | None, context: ActionContext) -> int:
    """Staff action: revokes every API key of the user; returns how many."""
    require_may_change_account(actor, user)
    return revoke_api_keys(user=user, actor=actor, context=context)

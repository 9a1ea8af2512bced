"""``Idempotency-Key`` for every create a client may retry: payments and refunds, messages,
conversations, documents, customers, products, invoices (core/api/idempotency.py reads the
header).

``run_once`` claims the key (per user), runs the write and stores its answer in one durable
transaction: a retry with the same key and request gets the first answer again, even while
the first is still running (it waits for it on the key's unique index); the same key with
another request is refused. A write that fails stores nothing, so its retry runs afresh.
Keys are per user, not per endpoint (the request's method and path are in its fingerprint),
and kept at least 24 hours (``manage.py purge_idempotency_keys``).

Those writes are decorated with ``idempotent_write`` instead of opening their own durable
transaction: each is still its own durable transaction, except inside ``run_once``, where it
joins run_once's, so the write and the answer stored for its key commit together or not at
all.
"""

import functools
import hashlib
import json
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ParamSpec, TypeVar, cast

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction

from core import sql
from core.exceptions import ValidationFailed
from core.models import IdempotencyKey

# How clients send the key; refusals name it as the field at fault.
FIELD = "Idempotency-Key"
MAX_KEY_LENGTH = 255
# The least a client may rely on a stored answer (README): purges keep keys this recent.
KEPT_HOURS = 24

# Set while run_once's durable transaction runs its action (per thread and per task).
_inside_run_once: ContextVar[bool] = ContextVar("inside_run_once", default=False)

P = ParamSpec("P")
R = TypeVar("R")


def idempotent_write(function: Callable[P, R]) -> Callable[P, R]:
    """Runs ``function`` as its own durable transaction, or as part of ``run_once``'s."""

    @functools.wraps(function)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        if _inside_run_once.get():
            # run_once's transaction is durable and rolls back whole on any error.
            with transaction.atomic(savepoint=False):
                return function(*args, **kwargs)
        with transaction.atomic(durable=True):
            return function(*args, **kwargs)

    return run


@dataclass(frozen=True)
class Answer:
    """What a client received for a request: its status and its JSON body, a value to encode
    or (a body PostgreSQL built) JSON text to pass through."""

    status: int
    body: Any
    replayed: bool = False


def fingerprint(*, method: str, path: str, body: Any) -> str:
    """The same request whatever the order of keys or whitespace of its JSON."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method}\n{path}\n{canonical}".encode()).hexdigest()


def run_once(
    *, user: AbstractBaseUser, key: str, fingerprint: str, action: Callable[[], Answer]
) -> Answer:
    """Runs ``action`` (one ``idempotent_write`` and the shaping of its answer) at most once per
    ``user`` and ``key``; returns its answer, or the stored answer of the first run
    (``replayed``)."""
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed(fields={FIELD: [f"Send between 1 and {MAX_KEY_LENGTH} characters."]})
    with transaction.atomic(durable=True):
        earlier = _claim(user=user, key=key, fingerprint=fingerprint)
        if earlier is not None:
            return earlier
        token = _inside_run_once.set(True)
        try:
            answer = action()
        finally:
            _inside_run_once.reset(token)
        # As the client receives it: ids and decimals as strings.
        text = (
            answer.body
            if isinstance(answer.body, str)
            else json.dumps(answer.body, cls=DjangoJSONEncoder)
        )
        with connection.cursor() as cursor:
            cursor.execute(
                sql.IDEMPOTENCY_STORE,
                {"status": answer.status, "body": text, "user": user.pk, "key": key},
            )
        body = json.loads(text)
    return Answer(status=answer.status, body=body)


def _claim(*, user: AbstractBaseUser, key: str, fingerprint: str) -> Answer | None:
    """Inserts the key first. A concurrent request with the same key blocks on the unique
    index until this transaction ends, then sees its stored answer; if this one rolls back
    the other proceeds as the first. Returns the earlier answer to replay, or None to go
    ahead."""
    with connection.cursor() as cursor:
        cursor.execute(sql.IDEMPOTENCY_CLAIM, [user.pk, key, fingerprint])
        if cursor.fetchone() is not None:
            return None
    earlier = IdempotencyKey.objects.get(user=user, key=key)
    if earlier.fingerprint != fingerprint:
        raise ValidationFailed(
            "This Idempotency-Key was used with a different request.",
            code="idempotency_key_reused",
            fields={FIELD: ["Already used for another request; use a new key."]},
            status=422,
        )
    # The answer was stored in the transaction that inserted the key, and that transaction has
    # committed (or this one would have inserted the key), so the status is set.
    status = cast(int, earlier.response_status)
    return Answer(status=status, body=earlier.response_body, replayed=True)


@transaction.atomic(durable=True)
def idempotency_keys_purge(*, older_than: datetime, dry_run: bool = False) -> int:
    """Removes keys created before ``older_than``; returns how many (would) go."""
    stale = IdempotencyKey.objects.filter(created_at__lt=older_than)
    return stale.count() if dry_run else stale.delete()[0]

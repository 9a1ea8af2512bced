"""``Idempotency-Key`` for API writes that move money.

A request with a key runs in one transaction that first claims the key (per user), then does
the work and stores the answer: a retry with the same key and body gets the first answer
again, even while the first is still running (it waits for it); the same key with another
body is a 422. A request that fails stores nothing, so its retry runs afresh. Keys are kept
at least 24 hours (``manage.py purge_idempotency_keys``).
"""

import json
from collections.abc import Callable

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from rest_framework.request import Request
from rest_framework.response import Response

from billing import services
from core.exceptions import ValidationFailed

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
REPLAYED_HEADER = "Idempotent-Replayed"


def idempotent(request: Request, perform: Callable[[], Response]) -> Response:
    """Runs ``perform`` (which calls non-durable services) at most once per key."""
    key = request.headers.get(HEADER)
    if key is None:
        with transaction.atomic(durable=True):
            return perform()
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed(
            fields={HEADER: [f"Send between 1 and {MAX_KEY_LENGTH} characters."]}
        )
    fingerprint = services.request_fingerprint(
        method=request.method, path=request.path, body=request.data
    )
    with transaction.atomic(durable=True):
        stored = services.idempotency_claim(user=request.user, key=key, fingerprint=fingerprint)
        if stored is not None:
            return Response(stored.body, status=stored.status, headers={REPLAYED_HEADER: "true"})
        response = perform()
        services.idempotency_store(
            user=request.user,
            key=key,
            status=response.status_code,
            # As the client received it: ids and decimals as strings.
            body=json.loads(json.dumps(response.data, cls=DjangoJSONEncoder)),
        )
    return response

"""``Idempotency-Key`` on the API's money writes: the header in, the answer out.

Claiming the key, the write and storing its answer are one transaction of
``billing.services.idempotency.run_once``; this module only reads the request and turns the
answer, first or replayed, into a response.
"""

from collections.abc import Callable
from typing import cast

from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from billing.services import idempotency
from billing.services.idempotency import Answer

HEADER = idempotency.FIELD
REPLAYED_HEADER = "Idempotent-Replayed"


def respond_once(request: Request, write: Callable[[], Answer]) -> Response:
    """Runs ``write`` (one money service and the shaping of its answer) at most once per
    ``Idempotency-Key``; without the header it simply runs."""
    key = request.headers.get(HEADER)
    if key is None:
        answer = write()
    else:
        # The money endpoints let no anonymous caller in (HasActionPermission), and a request
        # DRF dispatched has its method; its types know neither.
        answer = idempotency.run_once(
            user=cast(User, request.user),
            key=key,
            fingerprint=idempotency.fingerprint(
                method=cast(str, request.method), path=request.path, body=request.data
            ),
            action=write,
        )
    headers = {REPLAYED_HEADER: "true"} if answer.replayed else None
    return Response(answer.body, status=answer.status, headers=headers)

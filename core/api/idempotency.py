"""``Idempotency-Key`` on the API's creates: the header in, the answer out.

Claiming the key, the write and storing its answer are one transaction of
``core.services.idempotency.run_once``; this module only reads the request and turns the
answer, first or replayed, into a response. A view's create calls ``respond_once`` with its
write and documents the header with ``IDEMPOTENCY_PARAMETER``.
"""

from collections.abc import Callable
from typing import cast

from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request
from rest_framework.response import Response

from core.services import idempotency
from core.services.idempotency import Answer

HEADER = idempotency.FIELD
REPLAYED_HEADER = "Idempotent-Replayed"

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    HEADER,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Any unique string: a retry with the same key and body returns the first "
    "answer instead of doing the write twice.",
)


def respond_once(request: Request, write: Callable[[], Answer]) -> HttpResponse:
    """Runs ``write`` (one ``idempotent_write`` service and the shaping of its answer) at most
    once per ``Idempotency-Key``; without the header it simply runs."""
    key = request.headers.get(HEADER)
    if key is None:
        answer = write()
    else:
        # The creates let no anonymous caller in (HasActionPermission), and a request DRF
        # dispatched has its method; its types know neither.
        answer = idempotency.run_once(
            user=cast(AbstractBaseUser, request.user),
            key=key,
            fingerprint=idempotency.fingerprint(
                method=cast(str, request.method), path=request.path, body=request.data
            ),
            action=write,
        )
    if isinstance(answer.body, str):
        # JSON text PostgreSQL built, on the first run without a key: passed through.
        return HttpResponse(answer.body, status=answer.status, content_type="application/json")
    headers = {REPLAYED_HEADER: "true"} if answer.replayed else None
    return Response(answer.body, status=answer.status, headers=headers)

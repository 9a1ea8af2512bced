"""Builds the ``ActionContext`` of an HTTP request, once, for the API and the admin alike."""

import uuid
from typing import Any

from django.http import HttpRequest

from core.context import ActionContext
from core.net import client_ip

# Lengths the audit trail keeps; a header longer than this is noise, not evidence.
_USER_AGENT_MAX = 512
_REQUEST_ID_MAX = 64


def action_context(request: HttpRequest) -> ActionContext:
    """The context of this request. ``request`` may be DRF's ``Request`` (it proxies the
    Django request's attributes); the value is cached on the request, so the view, its
    serializers and its services share one."""
    cached = getattr(request, "_atrium_action_context", None)
    if cached is not None:
        return cached
    credential: Any = getattr(request, "auth", None)
    kind = getattr(getattr(credential, "_meta", None), "model_name", None)
    context = ActionContext(
        ip_address=client_ip(request.META),
        user_agent=request.headers.get("User-Agent", "")[:_USER_AGENT_MAX],
        request_id=(request.headers.get("X-Request-ID") or uuid.uuid4().hex)[:_REQUEST_ID_MAX],
        session_id=credential.pk if kind == "apisession" else None,
        api_key_id=credential.pk if kind == "apikey" else None,
    )
    request._atrium_action_context = context  # type: ignore[attr-defined]
    return context

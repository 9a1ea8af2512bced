"""Response rendering for the API."""

from collections.abc import Mapping
from typing import Any

from rest_framework import renderers

from .problems import PROBLEM_CONTENT_TYPE


class JSONRenderer(renderers.JSONRenderer):
    """DRF's JSON renderer, labelling error responses ``application/problem+json``.

    Every error body is a problem (``core.api.problems.exception_handler``), so the status code
    alone decides the media type. Response sets Content-Type before it calls ``render``, which
    is why the header is replaced here rather than chosen through ``media_type``. The browsable
    API also calls this renderer, to show the JSON inside its HTML page; that page keeps its
    own Content-Type.
    """

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        response = (renderer_context or {}).get("response")
        if (
            response is not None
            and response.status_code >= 400
            and getattr(response, "accepted_renderer", None) is self
        ):
            response["Content-Type"] = PROBLEM_CONTENT_TYPE
        return super().render(data, accepted_media_type, renderer_context)

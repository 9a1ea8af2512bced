"""Content negotiation with a fast path for what API clients send.

Almost every API request asks for JSON or for anything (no ``Accept``, ``*/*``, or
``application/json``); DRF's negotiation parses the header and matches it against every
renderer even then, a measurable part of a light request (docs/performance.md). Those
requests get the first renderer at once, which is the answer DRF's negotiation gives them;
any other ``Accept`` (the browsable API's ``text/html``, a list of types with weights) or a
``?format=`` goes through DRF's rules unchanged.
"""

from rest_framework.negotiation import DefaultContentNegotiation


class JSONFirstNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        accept = request.META.get("HTTP_ACCEPT", "")
        first = renderers[0]
        if (
            format_suffix is None
            and accept in ("", "*/*", first.media_type)
            and self.settings.URL_FORMAT_OVERRIDE not in request.query_params
        ):
            return first, first.media_type
        return super().select_renderer(request, renderers, format_suffix)

"""OpenAPI documentation of the API platform: the Problem component and the error responses
every operation can produce, so no view has to repeat them.

Standard errors are added to each operation from what the schema already knows about it:

- 400, 413, 415 when it takes a body; 400 also when it takes query parameters, or a path
  parameter that admits a NUL (free text, which PostgreSQL refuses: core/api/parsers.py);
- 401 and 403 unless anonymous callers are allowed;
- 404 when its path names an object;
- 406 always: an `Accept` that no renderer satisfies;
- 412 and 428 when it takes an `If-Match` (a stale `ETag`; none sent);
- 422 when it takes an `Idempotency-Key` (the key was used with another request);
- 429 when throttles apply (all views, by default);
- 503 always: while the database (or, for the scoped throttles, Redis) does not answer, every
  operation says so at once.

An undocumented method answers 405 with `Allow`; that is not an operation, so no operation
lists it. A URI too long for the HTTP server (gunicorn: a request line over 4,094 bytes) is
answered 414 by the server itself, before Atrium sees it (docs/security.md).

Errors particular to an operation are declared on it::

    @extend_schema(responses={200: InvoiceSerializer, **problem_responses(409, 423)})
"""

import re
from typing import Any

from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from core.services.idempotency import FIELD as IDEMPOTENCY_HEADER

from .problems import PROBLEM_CONTENT_TYPE

DESCRIPTIONS = {
    400: "The body or the query is malformed, or fields are invalid (listed in `errors`).",
    401: "No valid credentials were sent.",
    403: "The credentials do not allow this action.",
    404: "No such object, or the caller may not see it.",
    406: "No media type in `Accept` can be served; accept `application/json`.",
    409: "The request conflicts with the current state of the resource.",
    412: "The resource changed since the `ETag` sent in `If-Match`.",
    413: "The body is larger than the server accepts.",
    415: "The body's media type is not accepted; send `application/json`.",
    422: "The fields are well-formed but cannot be processed (listed in `errors`).",
    423: "The resource is locked; `Retry-After` says for how many seconds.",
    428: "This write must be conditional: send `If-Match` with the `ETag` read before.",
    429: "Too many requests; `Retry-After` says how many seconds to wait.",
    503: "A service it depends on is unavailable; `Retry-After` says when to try again.",
}

HEADERS = {
    401: {
        "WWW-Authenticate": {
            "description": "The authentication schemes the endpoint accepts.",
            "schema": {"type": "string"},
        }
    },
    423: {"Retry-After": {"description": "Seconds until unlocked.", "schema": {"type": "integer"}}},
    429: {
        "Retry-After": {"description": "Seconds before retrying.", "schema": {"type": "integer"}}
    },
    503: {
        "Retry-After": {"description": "Seconds before retrying.", "schema": {"type": "integer"}}
    },
}

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# A conditional write's header: the schema says 412 and 428 wherever an operation takes it.
IF_MATCH = "If-Match"


class ProblemFieldErrorSerializer(serializers.Serializer):
    field = serializers.CharField(
        help_text="Dotted path of the invalid field; `non_field_errors` for the input as a whole."
    )
    message = serializers.CharField()
    code = serializers.CharField(help_text="Machine-readable reason, e.g. `required`.")


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details, the body of every error response."""

    type = serializers.URLField(help_text="Identifies the kind of problem.")
    title = serializers.CharField(help_text="Short summary of the kind of problem.")
    status = serializers.IntegerField(help_text="The HTTP status code.")
    detail = serializers.CharField(help_text="What went wrong this time, for a person.")
    instance = serializers.CharField(help_text="Path of the request that failed.")
    code = serializers.CharField(help_text="The last segment of `type`, for programs.")
    # The member's name is RFC 9457's; it shadows Serializer.errors only on this schema class.
    errors = ProblemFieldErrorSerializer(many=True, help_text="Invalid fields; may be empty.")  # type: ignore[assignment]


def problem_responses(*statuses: int) -> dict[tuple[int, str], OpenApiResponse]:
    """``@extend_schema(responses=...)`` entries for the problems a view adds to the standard
    ones, e.g. ``problem_responses(409, 423)``."""
    return {
        (status, PROBLEM_CONTENT_TYPE): OpenApiResponse(
            ProblemSerializer, description=DESCRIPTIONS[status]
        )
        for status in statuses
    }


def _admits_nul(schema: dict[str, Any]) -> bool:
    """Whether a string parameter's schema lets a NUL through to the database."""
    if schema.get("type") != "string" or "format" in schema:
        return False
    pattern = schema.get("pattern")
    return pattern is None or re.search(pattern, "\x00") is not None


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema generator plus the standard problem responses."""

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        for parameter in operation.get("parameters", []):
            # DRF's fields and django-filter read an empty optional query parameter as absent.
            if (
                parameter["in"] == "query"
                and not parameter.get("required")
                and parameter.get("schema", {}).get("type") != "array"
            ):
                parameter["allowEmptyValue"] = True
        responses = operation["responses"]
        for status in self._standard_problems(operation):
            responses.setdefault(str(status), self._problem_response(status))
        return operation

    def _standard_problems(self, operation: dict[str, Any]) -> list[int]:
        statuses = []
        has_body = self.method in BODY_METHODS and "requestBody" in operation
        has_query = any(p["in"] == "query" for p in operation.get("parameters", []))
        free_path = any(
            p["in"] == "path" and _admits_nul(p.get("schema", {}))
            for p in operation.get("parameters", [])
        )
        if has_body or has_query or free_path:
            statuses.append(400)
        # get_auth lists {} among the requirements when anonymous callers are let in.
        if {} not in operation.get("security", []):
            statuses += [401, 403]
        if "{" in self.path:
            statuses.append(404)
        statuses.append(406)
        headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
        if IF_MATCH in headers:
            statuses += [412, 428]
        if IDEMPOTENCY_HEADER in headers:
            statuses.append(422)
        if has_body:
            statuses += [413, 415]
        if self.view.get_throttles():
            statuses.append(429)
        statuses.append(503)
        return statuses

    def _problem_response(self, status: int) -> dict[str, Any]:
        component = self.resolve_serializer(ProblemSerializer, "response")
        response = {
            "description": DESCRIPTIONS[status],
            "content": {PROBLEM_CONTENT_TYPE: {"schema": component.ref}},
        }
        if status in HEADERS:
            response["headers"] = HEADERS[status]
        return response

"""RFC 9457 problem details: the one error shape of the API.

Every 4xx and 5xx under ``/api/`` is a JSON object served as ``application/problem+json``::

    {
      "type": "https://atrium.example/problems/invalid",
      "title": "Invalid input",
      "status": 400,
      "detail": "One or more fields are invalid.",
      "instance": "/api/v1/accounts/register/",
      "code": "invalid",
      "errors": [{"field": "email", "message": "Enter a valid email address.", "code": "invalid"}]
    }

``code`` repeats the last segment of ``type`` so clients can switch on a short string.
``errors`` is always present (empty when no field is at fault). A field nested in an object or
a list is named by its dotted path (``lines.2.quantity``); errors about the input as a whole
use ``non_field_errors``. Extra members a ``DomainError`` declares follow these.
"""

import logging
from collections.abc import Iterator, Mapping
from http import HTTPStatus
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, RequestDataTooBig
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, DataError, connection
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions
from rest_framework.fields import get_error_detail
from rest_framework.response import Response
from rest_framework.settings import api_settings

from core.exceptions import DomainError
from core.postgres import connection_lost

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
# A stable identifier of each problem type, not a page that has to resolve (RFC 9457 4.1).
PROBLEM_TYPE_BASE = "https://atrium.example/problems/"

INVALID_TITLE = "Invalid input"
INVALID_DETAIL = "One or more fields are invalid."

FieldError = dict[str, str]


class RequestTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "The request body is larger than this server accepts."
    default_code = "request_too_large"


class ServerError(exceptions.APIException):
    """What the client learns of an unexpected exception: nothing of its cause."""

    default_detail = "An unexpected error occurred; it has been logged."
    default_code = "server_error"


class ServiceUnavailable(exceptions.APIException):
    status_code = 503
    default_detail = "The service is temporarily unavailable."
    default_code = "service_unavailable"


class DatabaseUnavailable(ServiceUnavailable):
    """A request during a database outage: answered at once, never held until it times out."""

    default_detail = "The database does not answer; retry in a moment."
    default_code = "database_unavailable"
    # Seconds: about what a PostgreSQL restart or failover takes; sent as Retry-After.
    wait = 2


def problem(
    *,
    status: int,
    code: str,
    detail: str,
    instance: str,
    title: str | None = None,
    errors: list[FieldError] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The problem body; ``title`` defaults to the HTTP reason phrase."""
    body = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": instance,
        "code": code,
        "errors": errors or [],
    }
    # Extensions never replace a standard member (RFC 9457 3.2).
    return {**(extensions or {}), **body}


def problem_response(request: HttpRequest, exc: exceptions.APIException) -> JsonResponse:
    """A problem for views outside DRF (URL-resolver 404s, health checks, Django's handlers)."""
    return JsonResponse(
        _api_problem_body(exc, request.path),
        status=exc.status_code,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def field_errors(detail: Any, path: tuple[str, ...] = ()) -> Iterator[FieldError]:
    """Flattens DRF's nested error detail (dicts of lists of dicts...) into ``errors`` items."""
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            name = api_settings.NON_FIELD_ERRORS_KEY if key == NON_FIELD_ERRORS else str(key)
            yield from field_errors(value, (*path, name))
    elif isinstance(detail, list):
        for index, item in enumerate(detail):
            if isinstance(item, Mapping | list):
                yield from field_errors(item, (*path, str(index)))
            else:
                yield from field_errors(item, path)
    else:
        yield {
            "field": ".".join(path) or api_settings.NON_FIELD_ERRORS_KEY,
            "message": str(detail),
            "code": getattr(detail, "code", None) or "invalid",
        }


def _as_api_exception(exc: Exception) -> Exception:
    """Django's own exceptions, raised by the ORM or shortcuts inside a view, as DRF's."""
    if isinstance(exc, DatabaseError) and connection_lost(connection):
        logger.warning("The database does not answer: %s", exc)
        return DatabaseUnavailable()
    if isinstance(exc, Http404):
        # The generic message: Http404's own names the model, which helps nobody probe.
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied(*exc.args)
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(get_error_detail(exc))
    if isinstance(exc, RequestDataTooBig):
        return RequestTooLarge()
    return exc


def _domain_problem(exc: DomainError, instance: str) -> Response:
    errors = [
        {"field": name, "message": message, "code": exc.code}
        for name, messages in exc.fields.items()
        for message in messages
    ]
    body = problem(
        status=exc.status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        instance=instance,
        errors=errors,
        extensions=exc.extensions,
    )
    return Response(body, status=exc.status, headers=exc.headers)


def _api_problem_body(exc: exceptions.APIException, instance: str) -> dict[str, Any]:
    if isinstance(exc, exceptions.ValidationError):
        return problem(
            status=exc.status_code,
            code=exc.default_code,
            title=INVALID_TITLE,
            detail=INVALID_DETAIL,
            instance=instance,
            errors=list(field_errors(exc.detail)),
        )
    return problem(
        status=exc.status_code,
        code=getattr(exc.detail, "code", None) or exc.default_code,
        detail=str(exc.detail),
        instance=instance,
    )


def _api_problem(exc: exceptions.APIException, instance: str) -> Response:
    headers = {}
    # APIView.handle_exception puts the challenge on the exception for 401s; Throttled carries
    # the wait in whole seconds.
    if auth_header := getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = auth_header
    if (wait := getattr(exc, "wait", None)) is not None:
        headers["Retry-After"] = str(wait)
    return Response(_api_problem_body(exc, instance), status=exc.status_code, headers=headers)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's EXCEPTION_HANDLER: every exception raised in an API view becomes a problem.

    Unexpected exceptions become a 500 that says nothing of the cause; the traceback goes to
    the log instead.
    """
    # Imported here: rest_framework.views loads the renderer and parser classes, which import
    # this module, while it is itself being imported.
    from rest_framework.views import set_rollback

    request = context["request"]
    if isinstance(exc, DataError):
        # Imported here for the same reason: the parsers import this module.
        from .parsers import unstorable_parameter

        exc = unstorable_parameter(request.query_params, context.get("kwargs") or {}) or exc
    exc = _as_api_exception(exc)
    if isinstance(exc, DomainError):
        response = _domain_problem(exc, request.path)
    else:
        if not isinstance(exc, exceptions.APIException):
            logger.exception("Unhandled error in %s %s", request.method, request.path)
            exc = ServerError()
        response = _api_problem(exc, request.path)
    # Handled or not, whatever the view began in an ATOMIC_REQUESTS transaction must not commit.
    set_rollback()
    return response

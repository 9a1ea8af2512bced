"""Health checks, and Django's error handlers made to speak problem details under /api/."""

import logging

from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from rest_framework import exceptions

from core.api.problems import RequestTooLarge, ServerError, ServiceUnavailable, problem_response

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Touches nothing else, so a database outage does not get
    healthy workers restarted."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: the database answers a query, so this worker can take traffic."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        logger.exception("Readiness check: the database does not answer")
        return problem_response(
            request,
            ServiceUnavailable("The database does not answer.", code="database_unavailable"),
        )
    return JsonResponse({"status": "ok"})


# Django calls these for errors raised outside DRF views (unknown URLs, middleware, its own
# request-size cap); errors inside DRF views go through core.api.problems.exception_handler.


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not request.path.startswith(API_PREFIX):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        return problem_response(request, RequestTooLarge())
    return problem_response(
        request, exceptions.ParseError("The request could not be understood.", code="bad_request")
    )


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not request.path.startswith(API_PREFIX):
        return defaults.permission_denied(request, exception)
    return problem_response(request, exceptions.PermissionDenied())


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not request.path.startswith(API_PREFIX):
        return defaults.page_not_found(request, exception)
    return problem_response(request, exceptions.NotFound())


def server_error(request: HttpRequest) -> HttpResponse:
    if not request.path.startswith(API_PREFIX):
        return defaults.server_error(request)
    return problem_response(request, ServerError())

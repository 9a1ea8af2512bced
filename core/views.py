"""Health checks, and Django's error handlers made to speak problem details under /api/."""

import functools
import logging

import psycopg
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import RequestDataTooBig
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from redis.exceptions import RedisError
from rest_framework import exceptions

from core.api.problems import RequestTooLarge, ServerError, ServiceUnavailable, problem_response
from core.postgres import probe
from core.routing import replica_state

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    """What Atrium is, and the ways in: the staff console, the API's documentation."""
    return render(request, "home.html", {"title": "Atrium"})


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Touches nothing else, so a database outage does not get
    healthy workers restarted."""
    return JsonResponse({"status": "ok"})


# The readiness check's own connection: a worker whose database does not answer must say so
# at once, not after the pool's wait. 2 s is libpq's shortest connect timeout.
READINESS_CONNECT_TIMEOUT = 2
READINESS_STATEMENT_TIMEOUT_MS = 1000


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: this worker can serve requests. 503 with the failing dependency whenever a
    request would fail: the database does not answer, a migration is not applied, or the
    database cache's table cannot be read. 200 "degraded" when a dependency is down that
    requests can do without: a Redis that does not answer (the throttles fail open but for the
    sign-in, registration, reset and two-factor limits, core/api/throttling.py; every worker
    shares the one Redis, so taking them all out of service would turn a partial outage into a
    full one), or a read replica that cannot be used (its reads fall back to the primary)."""
    problem = _database_problem() or _cache_problem()
    if problem is not None:
        return problem_response(request, problem)
    degraded = {}
    if not _redis_answers():
        degraded["cache"] = "unavailable"
        degraded["detail"] = (
            "Redis does not answer: general rate limits are not counted;"
            " sign-in, registration, password reset and two-factor answer 503."
        )
    replica = replica_state(fresh=True)
    if replica is not None and not replica.usable:
        degraded["replica"] = replica.problem
    if degraded:
        return JsonResponse({"status": "degraded", **degraded})
    return JsonResponse({"status": "ok"})


def _database_problem() -> ServiceUnavailable | None:
    try:
        applied = set(
            probe(
                connection.get_connection_params(),
                "SELECT app, name FROM django_migrations",
                connect_timeout=READINESS_CONNECT_TIMEOUT,
                statement_timeout_ms=READINESS_STATEMENT_TIMEOUT_MS,
            )
        )
    except psycopg.errors.UndefinedTable:
        applied = set()
    except psycopg.Error:
        logger.warning("Readiness check: the database does not answer", exc_info=True)
        return ServiceUnavailable("The database does not answer.", code="database_unavailable")
    pending = _pending_migrations(applied)
    if pending:
        names = ", ".join(f"{app}.{name}" for app, name in pending[:3])
        more = f" and {len(pending) - 3} more" if len(pending) > 3 else ""
        return ServiceUnavailable(
            f"The database lacks {len(pending)} migration(s) ({names}{more}): "
            "run manage.py migrate.",
            code="migrations_pending",
        )
    return None


@functools.cache
def _migration_graph() -> MigrationLoader:
    # The migrations on disk do not change while the process runs.
    return MigrationLoader(None, ignore_no_migrations=True)


def _pending_migrations(applied: set[tuple[str, str]]) -> list[tuple[str, str]]:
    loader = _migration_graph()

    def is_applied(key: tuple[str, str]) -> bool:
        # A squashed migration counts as applied once everything it replaces is.
        replacement = loader.replacements.get(key)
        return key in applied or (replacement is not None and set(replacement.replaces) <= applied)

    return sorted(key for key in loader.graph.nodes if not is_applied(key))


def _cache_problem() -> ServiceUnavailable | None:
    """The database cache's table cannot be read (Redis is ``_redis_answers``'s)."""
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        return None
    try:
        # A read through the cache API, as the throttles use it.
        cache.get("readyz")
    except Exception:
        logger.warning("Readiness check: the cache cannot be used", exc_info=True)
        if isinstance(cache, DatabaseCache):
            return ServiceUnavailable(
                f'The cache\'s table "{settings.CACHES["default"]["LOCATION"]}" cannot be read: '
                "run manage.py migrate.",
                code="cache_unavailable",
            )
        return ServiceUnavailable("The cache does not answer.", code="cache_unavailable")
    return None


def _redis_answers() -> bool:
    """True unless the cache is Redis and it does not answer a read."""
    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        return True
    try:
        cache.get("readyz")
    except RedisError:
        logger.warning("Readiness check: Redis does not answer", exc_info=True)
        return False
    return True


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

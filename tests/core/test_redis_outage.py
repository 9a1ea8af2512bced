"""A Redis that does not answer (core/api/throttling.py, docs/operations.md): the general
rates fail open, so signed-in work goes on; the sign-in, registration, reset and two-factor
limits fail closed with a 503 problem; /readyz stays ready and names the cache. Against a
real Redis on a port where nothing listens, and the machine's Redis for the way back."""

import uuid

import pytest
from rest_framework.test import APIClient

from accounts.services import credentials
from core.api import throttling
from core.context import SYSTEM
from tests.factories import DEFAULT_PASSWORD, UserFactory

DEAD_REDIS = "redis://127.0.0.1:6399/4"
LIVE_REDIS = "redis://127.0.0.1:6379/4"
PROBLEM = "application/problem+json"


@pytest.fixture
def redis_at(settings, monkeypatch):
    """Points the cache at ``url`` with production's rates and timeouts; each test starts
    with Redis believed up."""
    monkeypatch.setattr(throttling, "_redis_down_until", 0.0)
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            "anon": "60/min",
            "user": "600/min",
            "login.ip": "20/min",
            "login.account": "10/min",
        },
    }

    def point(url: str) -> None:
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": url,
                "KEY_PREFIX": f"atrium-tests-{uuid.uuid4()}",
                "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
            }
        }

    return point


def _login(user) -> object:
    return APIClient().post(
        "/api/v1/auth/login", {"email": user.email, "password": DEFAULT_PASSWORD}, format="json"
    )


@pytest.mark.django_db
def test_signed_in_requests_are_served_while_redis_is_down(redis_at):
    redis_at(DEAD_REDIS)
    user = UserFactory()
    _, token = credentials.session_create(user=user, context=SYSTEM)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    statuses = [api.get("/api/v1/me").status_code for _ in range(3)]

    assert statuses == [200, 200, 200]


@pytest.mark.django_db
def test_sign_in_is_a_503_problem_while_redis_is_down(redis_at):
    redis_at(DEAD_REDIS)
    user = UserFactory()

    response = _login(user)

    assert response.status_code == 503
    assert response["Content-Type"] == PROBLEM
    assert response.json()["code"] == "rate_limit_unavailable"
    assert int(response["Retry-After"]) == throttling.REDIS_RETRY_SECONDS


@pytest.mark.django_db
def test_sign_in_counts_again_once_redis_answers(redis_at, monkeypatch):
    redis_at(DEAD_REDIS)
    user = UserFactory()
    assert _login(user).status_code == 503

    redis_at(LIVE_REDIS)
    # The pause after a failure is over (it is REDIS_RETRY_SECONDS of wall time).
    monkeypatch.setattr(throttling, "_redis_down_until", 0.0)

    assert _login(user).status_code == 200


@pytest.mark.django_db
def test_after_a_failure_redis_is_left_alone_for_a_while(redis_at):
    redis_at(DEAD_REDIS)
    user = UserFactory()
    _login(user)

    redis_at(LIVE_REDIS)

    # Redis answers again, but this process does not ask it before the pause ends.
    assert _login(user).status_code == 503


@pytest.mark.django_db
def test_readyz_stays_ready_and_names_the_cache_while_redis_is_down(client, redis_at):
    redis_at(DEAD_REDIS)

    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["cache"] == "unavailable"


@pytest.mark.django_db
def test_readyz_is_ok_with_redis_answering(client, redis_at):
    redis_at(LIVE_REDIS)

    assert client.get("/readyz").json() == {"status": "ok"}

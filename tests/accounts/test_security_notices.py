"""Security notices by email: what happened, when, from where, and what to do."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import SignInDevice
from accounts.services import credentials, two_factor, users
from core.context import ActionContext
from tests.factories import DEFAULT_PASSWORD
from tests.jobs import run_queued_jobs

pytestmark = pytest.mark.django_db

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0 Safari/537.36"
)
HOME = ActionContext(ip_address="203.0.113.7", user_agent=FIREFOX)


def _sign_in(user, *, agent: str, address: str) -> None:
    client = APIClient(HTTP_USER_AGENT=agent, REMOTE_ADDR=address)
    response = client.post(
        "/api/v1/auth/login", {"email": user.email, "password": DEFAULT_PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content


def _sent() -> list:
    run_queued_jobs()
    return list(mail.outbox)


def _assert_tells_what_when_where(message, *, what: str, address: str) -> None:
    assert what in message.body
    assert f"{timezone.now():%Y-%m-%d}" in message.body
    assert address in message.body
    assert "If this was not you" in message.body or "were not yours" in message.body


def test_a_new_device_is_emailed_once(user):
    _sign_in(user, agent=FIREFOX, address="203.0.113.7")  # the first sign-in: no news
    assert _sent() == []

    _sign_in(user, agent=CHROME, address="198.51.100.20")
    _sign_in(user, agent=CHROME, address="198.51.100.21")  # the same /24: the same device
    (notice,) = _sent()
    assert notice.subject == "New sign-in to your Atrium account"
    _assert_tells_what_when_where(notice, what="Chrome on Windows", address="198.51.100.20")

    _sign_in(user, agent=FIREFOX, address="203.0.113.9")  # home again
    assert len(_sent()) == 1


def test_a_device_unseen_for_30_days_is_new_again(user):
    _sign_in(user, agent=FIREFOX, address="203.0.113.7")
    SignInDevice.objects.filter(user=user).update(last_seen_at=timezone.now() - timedelta(days=31))
    _sign_in(user, agent=FIREFOX, address="203.0.113.7")
    assert [message.subject for message in _sent()] == ["New sign-in to your Atrium account"]


def test_a_lockout_is_emailed_with_where_the_guesses_came_from(user, settings):
    settings.LOGIN_LOCKOUT_THRESHOLD = 2
    client = APIClient(HTTP_USER_AGENT=CHROME, REMOTE_ADDR="192.0.2.66")
    for _ in range(2):
        client.post("/api/v1/auth/login", {"email": user.email, "password": "wrong"}, format="json")

    (notice,) = _sent()
    assert notice.subject == "Your Atrium account was locked"
    _assert_tells_what_when_where(
        notice, what="after several wrong passwords", address="192.0.2.66"
    )


def test_a_password_change_is_emailed(user):
    users.password_change(
        user=user,
        current_password=DEFAULT_PASSWORD,
        new_password="a much better passphrase",
        current_session=None,
        context=HOME,
    )
    (notice,) = _sent()
    assert notice.subject == "Your Atrium password was changed"
    _assert_tells_what_when_where(notice, what="was changed", address="203.0.113.7")
    assert "Firefox on Linux" in notice.body


def test_an_api_key_is_emailed(user):
    api_key, _ = credentials.api_key_create(user=user, name="CI deploys", context=HOME)
    (notice,) = _sent()
    assert notice.subject == "A new API key was created on your Atrium account"
    _assert_tells_what_when_where(notice, what='"CI deploys"', address="203.0.113.7")
    assert api_key.prefix in notice.body


def test_turning_off_two_factor_is_emailed(user):
    user.totp_enabled = True
    user.save(update_fields=["totp_enabled"])
    two_factor.two_factor_reset(user=user, actor=None, context=HOME)
    (notice,) = _sent()
    assert notice.subject == "Two-factor authentication was turned off"
    _assert_tells_what_when_where(notice, what="a password alone", address="203.0.113.7")

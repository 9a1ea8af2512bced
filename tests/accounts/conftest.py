import re

import pytest
from django.core import mail
from rest_framework.test import APIClient

from accounts.services import credentials
from core.context import SYSTEM
from tests.factories import DEFAULT_PASSWORD, UserFactory, UserProfileFactory
from tests.jobs import run_queued_jobs


@pytest.fixture
def api(db) -> APIClient:
    return APIClient()


@pytest.fixture
def user(db):
    person = UserFactory(email="ana@example.com")
    UserProfileFactory(user=person, display_name="Ana Souza")
    return person


def sign_in(client: APIClient, user, password: str = DEFAULT_PASSWORD) -> str:
    """Signs ``user`` in through the API, sets the bearer header, returns the token."""
    response = client.post(
        "/api/v1/auth/login", {"email": user.email, "password": password}, format="json"
    )
    assert response.status_code == 200, response.content
    token = response.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return token


@pytest.fixture
def signed_in(api, user) -> APIClient:
    sign_in(api, user)
    return api


def session_token_for(user) -> str:
    _, token = credentials.session_create(user=user, context=SYSTEM)
    return token


def last_email_token(pattern: str) -> str:
    run_queued_jobs()  # emails are sent by jobs
    match = re.search(pattern, mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(1)

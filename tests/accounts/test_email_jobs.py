"""Account emails are jobs: the request enqueues them with its change and sends nothing."""

import pytest
from django.core import mail

from tests.jobs import queued, run_queued_jobs

pytestmark = pytest.mark.django_db
PASSWORD = "a much better passphrase"


def test_registering_enqueues_the_verification_email_and_sends_nothing_itself(api, synced_roles):
    response = api.post(
        "/api/v1/auth/register",
        {"email": "ben@example.com", "password": PASSWORD, "display_name": "Ben"},
        format="json",
    )

    assert response.status_code == 202
    assert mail.outbox == []
    assert len(queued("accounts.send_email")) == 1
    assert run_queued_jobs() == 1
    assert [message.to for message in mail.outbox] == [["ben@example.com"]]
    assert "/verify-email?token=" in mail.outbox[0].body


def test_a_refused_registration_enqueues_no_email(api, synced_roles):
    response = api.post(
        "/api/v1/auth/register",
        {"email": "ben@example.com", "password": "short", "display_name": "Ben"},
        format="json",
    )

    assert response.status_code == 400
    assert queued("accounts.send_email") == []


def test_the_reset_token_is_made_when_sending_and_never_queued(api, user):
    response = api.post("/api/v1/auth/password-reset", {"email": user.email}, format="json")

    assert response.status_code == 202
    (job,) = queued("accounts.send_email")
    assert set(job.args) == {"kind", "user_id", "facts"}
    run_queued_jobs()
    body = mail.outbox[0].body
    # A plain-text email: the link's "&" stays one (it was once HTML-escaped to "&amp;").
    assert "/reset-password?uid=" in body and "&token=" in body and "&amp;" not in body

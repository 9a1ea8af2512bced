"""The announcement point: receivers hear of committed changes only, once each."""

import pytest
from django.db import connection, transaction
from django.test import RequestFactory

from core import events, sql
from core.api.context import action_context
from core.context import SYSTEM
from core.models import Event
from tests.factories import UserFactory


@pytest.fixture
def heard():
    announcements: list[events.Announcement] = []
    events.receiver(announcements.append)
    yield announcements
    events.disconnect(announcements.append)


def _announce(user, **overrides):
    return events.publish(
        **{
            "type": "user.touched",
            "target": user,
            "audience": events.Audience.user(user.pk),
            "actor": user,
            "context": SYSTEM,
            "payload": {"email": user.email},
            **overrides,
        }
    )


@pytest.mark.django_db
def test_receivers_hear_an_announcement_once_its_transaction_commits(
    heard, django_capture_on_commit_callbacks
):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        _announce(user)
        assert heard == []  # not before the commit
    assert len(heard) == 1
    (announcement,) = heard
    assert announcement.type == "user.touched"
    assert announcement.object_type == "accounts.user"
    assert announcement.object_id == str(user.pk)
    assert announcement.audience == events.Audience("user", str(user.pk))
    assert announcement.actor_id == str(user.pk)
    assert announcement.payload == {"email": user.email}


@pytest.mark.django_db
def test_a_rolled_back_change_is_never_announced(heard, django_capture_on_commit_callbacks):
    user = UserFactory()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError, match="changed my mind"),
        transaction.atomic(),
    ):
        _announce(user)
        raise RuntimeError("changed my mind")
    assert callbacks == []
    assert heard == []


@pytest.mark.django_db(transaction=True)
def test_publishing_outside_a_transaction_is_refused(heard):
    user = UserFactory()
    with pytest.raises(RuntimeError, match="inside the service's transaction"):
        _announce(user)
    assert heard == []


@pytest.mark.django_db
def test_one_failing_receiver_does_not_silence_the_others(
    heard, django_capture_on_commit_callbacks
):
    def broken(announcement):
        raise ValueError("receiver bug")

    events.receiver(broken)
    events.disconnect(heard.append)
    events.receiver(heard.append)  # registered after the broken one
    try:
        user = UserFactory()
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            _announce(user)
    finally:
        events.disconnect(broken)
    assert [a.type for a in heard] == ["user.touched"]


@pytest.mark.django_db
def test_the_request_context_travels_with_the_announcement(
    heard, django_capture_on_commit_callbacks
):
    user = UserFactory()
    request = RequestFactory().post(
        "/", HTTP_USER_AGENT="pytest-browser", HTTP_X_REQUEST_ID="req-42", REMOTE_ADDR="10.0.0.9"
    )
    context = action_context(request)
    assert action_context(request) is context  # built once per request
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        _announce(user, context=context)
    assert heard[0].context.request_id == "req-42"
    assert heard[0].context.ip_address == "10.0.0.9"
    assert heard[0].context.user_agent == "pytest-browser"


@pytest.mark.django_db
def test_publish_sends_core_sqls_statement_and_nothing_else():
    """The benchmark floors send core.sql.INSERT_EVENT for Atrium's outbox row; this keeps
    publish sending that very text, as one statement."""
    user = UserFactory()
    sent: list[str] = []

    def capture(execute, statement, params, many, context):
        sent.append(statement)
        return execute(statement, params, many, context)

    request = RequestFactory().post("/", HTTP_X_REQUEST_ID="req-7")
    with transaction.atomic(), connection.execute_wrapper(capture):
        announcement = _announce(user, context=action_context(request))

    assert sent == [sql.INSERT_EVENT]
    event = Event.objects.get(pk=announcement.event_id)
    assert (event.type, event.object_type, event.object_id) == (
        "user.touched",
        "accounts.user",
        str(user.pk),
    )
    assert event.payload == {"email": user.email}
    assert (event.audience_kind, event.audience_key) == ("user", str(user.pk))
    assert (event.actor_id, event.request_id) == (user.pk, "req-7")
    assert event.occurred_at is not None

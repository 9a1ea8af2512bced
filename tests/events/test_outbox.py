"""The outbox: an event row exists exactly when the change committed, PostgreSQL keeps it as
written, wakes the LISTENers at commit, and hands ids out in commit order."""

import psycopg
import pytest
from django.db import DatabaseError, connection, transaction

from core import events
from core.context import ActionContext
from core.models import Event
from tests.events.conftest import publish
from tests.factories import UserFactory


@pytest.fixture
def heard():
    announcements: list[events.Announcement] = []
    events.receiver(announcements.append)
    yield announcements
    events.disconnect(announcements.append)


@pytest.mark.django_db
def test_publish_writes_the_row_in_the_transaction_and_announces_its_id_on_commit(
    heard, django_capture_on_commit_callbacks
):
    user = UserFactory()
    context = ActionContext(request_id="req-7")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        events.publish(
            type="password.changed",
            target=user,
            audience=events.Audience.user(user.pk),
            actor=user,
            context=context,
            payload={"user_id": str(user.pk)},
        )
        (row,) = Event.objects.all()  # there already, before the commit
        assert heard == []

    assert (row.type, row.object_type, row.object_id) == (
        "password.changed",
        "accounts.user",
        str(user.pk),
    )
    assert (row.audience_kind, row.audience_key) == ("user", str(user.pk))
    assert row.actor_id == user.pk
    assert row.request_id == "req-7"
    assert row.payload == {"user_id": str(user.pk)}
    assert row.occurred_at is not None
    assert [a.event_id for a in heard] == [row.pk]


@pytest.mark.django_db
def test_a_rolled_back_change_leaves_no_event(heard, django_capture_on_commit_callbacks):
    user = UserFactory()
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        publish(user, events.Audience.user(user.pk))
        raise RuntimeError("the service refused after publishing")
    assert not Event.objects.exists()
    assert heard == []


@pytest.mark.django_db
def test_the_database_refuses_to_change_an_event():
    user = UserFactory()
    event_id = publish(user, events.Audience.user(user.pk), type="session.created")
    with pytest.raises(DatabaseError, match="append-only: UPDATE refused"), transaction.atomic():
        Event.objects.filter(pk=event_id).update(type="session.revoked")
    assert Event.objects.get(pk=event_id).type == "session.created"


@pytest.mark.django_db
def test_the_database_lets_retention_delete_events():
    user = UserFactory()
    event_id = publish(user, events.Audience.user(user.pk))
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM events WHERE id = %s", [event_id])
    assert not Event.objects.exists()


def _other_connection() -> psycopg.Connection:
    return psycopg.connect(**connection.get_connection_params(), autocommit=True)


@pytest.mark.django_db(transaction=True)
def test_listeners_are_woken_with_the_id_at_commit_and_never_for_a_rollback():
    user = UserFactory()
    with _other_connection() as listener:
        listener.execute(f"LISTEN {events.CHANNEL}")

        with pytest.raises(RuntimeError), transaction.atomic():
            publish(user, events.Audience.user(user.pk))
            raise RuntimeError("rolled back")
        with transaction.atomic():
            committed = publish(user, events.Audience.user(user.pk))
            # Not yet committed: nothing delivered, and other connections do not see the row.
            assert list(listener.notifies(timeout=0.2)) == []
            count = listener.execute("SELECT count(*) FROM events").fetchone()
            assert count == (0,)

        notices = list(listener.notifies(timeout=1, stop_after=1))
    assert [(n.channel, n.payload) for n in notices] == [(events.CHANNEL, str(committed))]


@pytest.mark.django_db(transaction=True)
def test_a_second_writer_waits_for_the_first_so_ids_become_visible_in_order():
    user = UserFactory()
    with _other_connection() as other:
        other.execute("SET lock_timeout = '200ms'")
        with transaction.atomic():
            first = publish(user, events.Audience.user(user.pk))
            # While the first writer's transaction is open, another cannot draw an id.
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute(
                    "INSERT INTO events (type, object_type, object_id, audience_kind,"
                    " audience_key) VALUES ('x.y', 'accounts.user', '1', 'user', '1')"
                )
        (second,) = other.execute(
            "INSERT INTO events (type, object_type, object_id, audience_kind, audience_key)"
            " VALUES ('x.y', 'accounts.user', '1', 'user', '1') RETURNING id"
        ).fetchone()
    assert second > first

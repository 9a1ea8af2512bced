"""``GET /api/v1/events/stream``: the event log pushed live, served by real uvicorn processes.

The servers run config/asgi.py against the test database, so every change a test makes is
committed (transactional tests) and reaches them as it would reach production: through the
``events`` table and PostgreSQL's NOTIFY.
"""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import ApiSession
from accounts.services import credentials
from chat.services import participants
from core import events
from core.context import SYSTEM
from core.stream import LISTENER_NAME
from documents.services import share_grant
from tests.accounts.conftest import session_token_for
from tests.events.conftest import publish
from tests.events.sse import StreamServer
from tests.factories import (
    ConversationFactory,
    DocumentFactory,
    DocumentShareFactory,
    InvoiceFactory,
    ParticipantFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def servers(django_db_setup, django_db_blocker, tmp_path_factory):
    """Two server processes, as behind a load balancer."""
    log_dir = tmp_path_factory.mktemp("stream-servers")
    with django_db_blocker.unblock():
        started = [StreamServer(log_dir), StreamServer(log_dir)]
    yield started
    for server in started:
        server.stop()


@pytest.fixture
def server(servers):
    return servers[0]


@pytest.fixture
def room(member):
    conversation = ConversationFactory()
    owner, reader, stranger = member(), member(), member()
    ParticipantFactory(conversation=conversation, user=owner, role="owner")
    ParticipantFactory(conversation=conversation, user=reader)
    return conversation, owner, reader, stranger


def say(conversation, type: str = "message.created") -> int:
    return publish(conversation, events.Audience.conversation(conversation.pk), type)


def test_a_stream_needs_a_credential(server):
    stream = server.stream(None)
    assert stream.status == 401
    assert stream.response.getheader("Content-Type") == "application/problem+json"
    assert stream.response.getheader("WWW-Authenticate") == 'Bearer realm="atrium"'
    assert stream.body()["code"] == "not_authenticated"


def test_a_malformed_cursor_is_refused_naming_it(server, member):
    token = session_token_for(member())
    stream = server.stream(token, headers={"Last-Event-ID": "yesterday"})
    assert stream.status == 400
    assert [error["field"] for error in stream.body()["errors"]] == ["Last-Event-ID"]
    assert server.stream(token, query="?after=-1").body()["errors"][0]["field"] == "after"


def test_a_participant_hears_a_message_live_in_the_api_shape(server, room):
    conversation, _, reader, _ = room
    stream = server.stream(session_token_for(reader))
    assert stream.status == 200
    assert stream.response.getheader("Content-Type") == "text/event-stream; charset=utf-8"
    assert stream.response.getheader("Cache-Control") == "no-store"
    said = say(conversation)
    (message,) = stream.events(1)
    assert (message.id, message.event) == (said, "message.created")
    status, page = server.request(
        "GET", f"/api/v1/events?after={said - 1}", token=session_token_for(reader)
    )
    assert status == 200
    assert message.data == page["results"][0]


def test_only_those_who_may_read_an_event_hear_it(server, room, member, staff):
    conversation, _, reader, stranger = room
    document = DocumentFactory(owner=member())
    sharee, expired = member(), member()
    DocumentShareFactory(document=document, user=sharee)
    DocumentShareFactory(
        document=document, user=expired, expires_at=timezone.now() - timedelta(minutes=1)
    )
    streams = {
        name: server.stream(session_token_for(user))
        for name, user in {
            "reader": reader,
            "stranger": stranger,
            "owner": document.owner,
            "sharee": sharee,
            "expired": expired,
            "staff": staff,
        }.items()
    }
    said = say(conversation)
    edited = publish(document, events.Audience.document(document.pk), "document.updated")
    noticed = publish(
        InvoiceFactory(),
        events.Audience.permission("billing.view_invoice"),
        "invoice.marked_uncollectible",
    )
    heard = {name: [m.id for m in stream.quiet()] for name, stream in streams.items()}
    assert heard == {
        "reader": [said],
        "stranger": [],
        "owner": [edited],
        "sharee": [edited],
        "expired": [],
        "staff": [noticed],
    }


def test_a_removed_participant_hears_their_removal_and_nothing_after(server, room):
    conversation, owner, reader, _ = room
    stream = server.stream(session_token_for(reader))
    before = say(conversation)
    participants.participant_remove(
        conversation_id=conversation.pk, actor=owner, user_id=reader.pk, context=SYSTEM
    )
    say(conversation)
    heard = stream.quiet()
    assert [(m.event, m.data["audience"]["kind"]) for m in heard] == [
        ("message.created", "conversation"),
        # The system line of the removal, written in the same transaction, while the stream
        # still counted them in; then their removal, addressed to them; nothing after.
        ("message.created", "conversation"),
        ("participant.removed", "user"),
    ]
    assert heard[0].id == before
    assert heard[1].data["payload"]["metadata"]["event_type"] == "participant.removed"


def test_a_new_sharee_hears_the_document_from_the_grant_on(server, member):
    owner, grantee = member(), member()
    document = DocumentFactory(owner=owner)
    stream = server.stream(session_token_for(grantee))
    publish(document, events.Audience.document(document.pk), "document.updated")
    share_grant(
        actor=owner,
        document_id=document.pk,
        permission_level="viewer",
        user_id=grantee.pk,
        context=SYSTEM,
    )
    edited = publish(document, events.Audience.document(document.pk), "document.updated")
    heard = [(m.event, m.data["audience"]["kind"]) for m in stream.quiet()]
    assert heard == [
        ("share.granted", "document"),
        ("share.granted", "user"),
        ("document.updated", "document"),
    ]
    assert stream.quiet() == []
    assert edited


def test_an_event_committed_through_one_process_reaches_a_stream_on_the_other(servers, room):
    first, second = servers
    conversation, owner, reader, _ = room
    stream = first.stream(session_token_for(reader))
    status, posted = second.request(
        "POST",
        f"/api/v1/conversations/{conversation.pk}/messages",
        token=session_token_for(owner),
        body={"content": "through the other process"},
    )
    assert status == 201, posted
    (message,) = stream.events(1)
    assert message.event == "message.created"
    assert message.data["payload"]["id"] == posted["id"]


def test_resuming_gives_exactly_the_missed_events_then_the_live_ones(server, room):
    conversation, _, reader, _ = room
    token = session_token_for(reader)
    said = [say(conversation) for _ in range(5)]
    by_header = server.stream(token, headers={"Last-Event-ID": str(said[1])})
    by_query = server.stream(token, query=f"?after={said[1]}")
    later = say(conversation)
    for stream in (by_header, by_query):
        assert [m.id for m in stream.quiet()] == [*said[2:], later]


def test_a_resume_racing_new_commits_loses_and_repeats_nothing(server, room):
    conversation, _, reader, _ = room
    token = session_token_for(reader)
    first = say(conversation)
    said: list[int] = []

    def keep_saying():
        for _ in range(40):
            said.append(say(conversation))
            time.sleep(0.005)
        connection.close()

    writer = threading.Thread(target=keep_saying)
    writer.start()
    time.sleep(0.05)  # some before the stream opens, most while it replays and goes live
    stream = server.stream(token, headers={"Last-Event-ID": str(first)})
    writer.join()
    assert [m.id for m in stream.quiet()] == said


def test_the_type_filter_applies_to_the_stream(server, room):
    conversation, _, reader, _ = room
    stream = server.stream(session_token_for(reader), query="?type=message.edited")
    say(conversation, "message.created")
    edited = say(conversation, "message.edited")
    assert [m.id for m in stream.quiet()] == [edited]


def test_a_revoked_session_ends_its_stream(server, room):
    _, _, reader, _ = room
    token = session_token_for(reader)
    stream = server.stream(token)
    session = ApiSession.objects.get(user=reader)
    credentials.session_revoke(user=reader, session_id=session.pk, actor=reader, context=SYSTEM)
    ended = stream.events(1, timeout=5)[0]
    assert (ended.event, ended.data) == ("stream.ended", {"reason": "credential_revoked"})
    assert stream.next() is None  # the server closed it


def test_streams_survive_losing_the_database_connection_without_losing_an_event(server, room):
    conversation, _, reader, _ = room
    stream = server.stream(session_token_for(reader))
    before = say(conversation)
    assert [m.id for m in stream.events(1)] == [before]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = %s AND datname = current_database()",
            [LISTENER_NAME],
        )
        (terminated,) = cursor.fetchone()
    assert terminated >= 1
    # Committed while the listener is away: read from the table once it is back.
    during = [say(conversation) for _ in range(3)]
    after = say(conversation)
    assert [m.id for m in stream.quiet()] == [*during, after]


def test_staff_signed_in_to_the_console_stream_with_their_browser_session(server, staff, client):
    client.force_login(staff)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    stream = server.stream(None, headers={"Cookie": cookie})
    assert stream.status == 200
    noticed = publish(
        InvoiceFactory(),
        events.Audience.permission("billing.view_invoice"),
        "invoice.marked_uncollectible",
    )
    assert [m.id for m in stream.quiet()] == [noticed]
    client.logout()  # ends the session: the next recheck ends the stream
    ended = stream.events(1)[0]
    assert (ended.event, ended.data) == ("stream.ended", {"reason": "credential_revoked"})

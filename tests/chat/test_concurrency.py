"""Posting, editing and reacting from parallel threads, each with its own database connection
and committing for real: every invariant holds (no duplicate reaction, no lost edit, no
message out of order)."""

import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest
from django.db import connection, transaction
from django.utils import timezone

from chat import sql
from chat.models import Conversation, Message, MessageEdit, MessageReaction, MessageType
from tests.chat.conftest import client_for, post

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 6


def in_parallel(work: Callable[[int], object], threads: int = THREADS) -> list:
    """Runs ``work(i)`` in ``threads`` threads released at the same moment; their results."""
    start, results, errors = threading.Barrier(threads), [None] * threads, []

    def run(i: int) -> None:
        try:
            start.wait()
            results[i] = work(i)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert not errors, errors
    return results


def test_parallel_posts_all_land_in_order_and_move_the_latest_activity(room):
    clients = [client_for(user) for user in (room.owner, room.admin, room.member)] * 2

    posted = in_parallel(
        lambda i: [post(clients[i], room, f"thread {i} message {n}") for n in range(5)]
    )

    messages = Message.objects.filter(conversation_id=room.id, message_type="text")
    assert messages.count() == THREADS * 5
    # Each conversation's writers queue on its row lock and read the clock after it: no two
    # messages share a time, and each thread's messages are in the order it posted them.
    times = list(messages.values_list("sent_at", flat=True))
    assert len(set(times)) == len(times)
    for mine in posted:
        assert [m["sent_at"] for m in mine] == sorted(m["sent_at"] for m in mine)
    newest = Message.objects.filter(conversation_id=room.id).order_by("-sent_at").first()
    assert Conversation.objects.get(pk=room.id).last_activity_at == newest.sent_at


def test_parallel_edits_are_each_kept_in_the_history(room):
    message = post(client_for(room.member), room, "v0")
    url = room.url(f"/messages/{message['id']}")
    clients = [client_for(room.member) for _ in range(THREADS)]

    def edit(i: int) -> list[int]:
        return [
            clients[i].patch(url, {"content": f"v{i}.{n}"}, format="json").status_code
            for n in range(3)
        ]

    statuses = in_parallel(edit)

    assert {code for codes in statuses for code in codes} == {200}
    edits = list(MessageEdit.objects.filter(message_id=message["id"]).order_by("edited_at", "id"))
    final = Message.objects.get(pk=message["id"]).content
    written = {f"v{i}.{n}" for i in range(THREADS) for n in range(3)}
    # A chain: the first edit replaced v0, each later one replaced what the one before it
    # wrote, and the last one's content stands. Every content written appears exactly once.
    assert len(edits) == THREADS * 3
    assert edits[0].previous_content == "v0"
    replaced = [e.previous_content for e in edits[1:]] + [final]
    assert Counter(replaced) == Counter(written)


def test_parallel_reactions_of_one_person_make_one_reaction(room):
    message = post(client_for(room.owner), room)
    url = room.url(f"/messages/{message['id']}/reactions")
    clients = [client_for(room.member) for _ in range(THREADS)]

    statuses = in_parallel(
        lambda i: clients[i].post(url, {"emoji": "👍"}, format="json").status_code
    )

    assert sorted(statuses) == [200] * (THREADS - 1) + [201]
    assert MessageReaction.objects.filter(message_id=message["id"]).count() == 1


def test_parallel_reactions_of_different_people_are_all_counted(room, people):
    message = post(client_for(room.owner), room)
    url = room.url(f"/messages/{message['id']}/reactions")
    clients = [client_for(user) for user in (room.owner, room.admin, room.member)]

    in_parallel(lambda i: clients[i].post(url, {"emoji": "🎉"}, format="json"), threads=3)

    shown = client_for(room.owner).get(room.url(f"/messages/{message['id']}")).json()
    assert shown["reactions"] == [{"emoji": "🎉", "count": 3, "me": True}]


def test_two_owners_leaving_at_once_never_leave_the_conversation_without_one(room):
    client_for(room.owner).patch(
        room.url(f"/participants/{room.admin.pk}"), {"role": "owner"}, format="json"
    )
    clients = [client_for(room.owner), client_for(room.admin)]

    statuses = in_parallel(lambda i: clients[i].post(room.url("/leave")).status_code, threads=2)

    assert sorted(statuses) == [204, 409]
    assert room.conversation.participant_set.filter(role="owner").count() == 1


def _waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        # Inside a transaction the activity view keeps its first snapshot unless cleared.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return cursor.fetchone()[0] > 0


def test_a_mark_read_waiting_on_my_post_never_moves_the_mark_back(room):
    older = post(client_for(room.member), room, "older")
    admin = client_for(room.admin)
    posted, marking = threading.Event(), {}

    def post_and_hold_until_the_mark_read_waits() -> None:
        # A post's message and read mark (chat/sql.py's statement), committed only once the
        # mark-read queues behind them.
        with transaction.atomic():
            now = timezone.now()
            message = Message.objects.create(
                conversation_id=room.id,
                sender=room.admin,
                content="mine",
                message_type=MessageType.TEXT,
                sent_at=now,
            )
            with connection.cursor() as cursor:
                cursor.execute(
                    sql.POST_READ_MARK,
                    {
                        "message": message.pk,
                        "at": now,
                        "conversation": room.id,
                        "me": room.admin.pk,
                    },
                )
            marking["mine"] = str(message.pk)
            posted.set()
            deadline = time.monotonic() + 10
            while not _waiting_on_a_lock() and time.monotonic() < deadline:
                time.sleep(0.02)

    def mark_the_older_message_read() -> None:
        posted.wait(10)
        marking["response"] = admin.post(
            room.url("/read"), {"message_id": older["id"]}, format="json"
        )

    in_parallel(
        lambda i: (post_and_hold_until_the_mark_read_waits, mark_the_older_message_read)[i](),
        threads=2,
    )

    assert marking["response"].status_code == 200
    assert marking["response"].json()["last_read_message_id"] == marking["mine"]

"""``manage.py seed_chat_scale`` on a small plan: the rows arrive, and the messages table gets
back every index and constraint it had before the load."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from chat import scale
from chat.models import Conversation, Message, MessageReaction, Participant
from core.scale import PENDING_REFUSAL, drop_deferrable

# The loader commits on connections of its own.
pytestmark = pytest.mark.django_db(transaction=True)

PLAN = {"users": 60, "conversations": 30, "messages": 3000, "batch": 700}


def messages_table_definition() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT pg_get_indexdef(indexrelid) FROM pg_index
            WHERE indrelid = 'messages'::regclass
            UNION ALL
            SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
            WHERE conrelid = 'messages'::regclass OR confrelid = 'messages'::regclass
            """
        )
        return {row[0] for row in cursor.fetchall()}


def test_a_small_plan_loads_every_row_and_keeps_the_table_s_indexes(synced_roles):
    before = messages_table_definition()
    err = StringIO()

    call_command("seed_chat_scale", **PLAN, stdout=StringIO(), stderr=err)

    assert messages_table_definition() == before
    assert Message.all_objects.count() == PLAN["messages"]
    assert Conversation.objects.count() == PLAN["conversations"]
    busy = Conversation.objects.filter(title__startswith="Busy room")
    assert busy.count() == scale.BUSY_CONVERSATIONS
    assert Participant.objects.filter(conversation__in=busy).count() == (
        scale.BUSY_CONVERSATIONS * scale.BUSY_PARTICIPANTS
    )
    assert err.getvalue() == ""  # progress is for a terminal only


def test_loaded_messages_come_from_participants_and_keep_the_activity_and_read_rules(
    synced_roles,
):
    call_command("seed_chat_scale", **PLAN, stdout=StringIO(), stderr=StringIO())

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM messages m
            WHERE NOT EXISTS (SELECT 1 FROM participants p
                              WHERE p.conversation_id = m.conversation_id
                                AND p.user_id = m.sender_id)
            """
        )
        assert cursor.fetchone()[0] == 0, "every sender is a participant"
        cursor.execute(
            """
            SELECT count(*) FROM conversations c
            WHERE c.last_activity_at <> coalesce(
                (SELECT max(sent_at) FROM messages m WHERE m.conversation_id = c.id),
                c.last_activity_at)
            """
        )
        assert cursor.fetchone()[0] == 0
    assert MessageReaction.objects.exists()
    assert Participant.objects.filter(last_read_message__isnull=False).exists()


def test_a_dry_run_loads_nothing(synced_roles):
    out = StringIO()

    call_command("seed_chat_scale", **PLAN, dry_run=True, stdout=out)

    assert "Would load 60 users, 30 conversations, 3,000 messages" in out.getvalue()
    assert not Message.objects.exists()


def test_repair_rebuilds_what_an_interrupted_load_left_dropped(synced_roles):
    before = messages_table_definition()
    drop_deferrable(["messages"], lambda line: None)
    assert messages_table_definition() != before
    assert scale.refusal() == PENDING_REFUSAL

    call_command("seed_chat_scale", repair=True, stdout=StringIO(), stderr=StringIO())

    assert messages_table_definition() == before

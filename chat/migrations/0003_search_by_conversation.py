from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.operations import BtreeGinExtension
from django.db import migrations


class Migration(migrations.Migration):
    """Search leads with the conversation: a plain GIN index on the text made PostgreSQL read
    every message of the caller's conversations to filter them (seconds for a member of a
    conversation of 100,000 messages); with conversation_id in the GIN index (btree_gin) each
    conversation yields only its matches."""

    dependencies = [("chat", "0002_conversations_at_scale")]

    operations = [
        BtreeGinExtension(),
        migrations.RemoveIndex(model_name="message", name="messages_search_idx"),
        migrations.AddIndex(
            model_name="message",
            index=GinIndex(fields=["conversation", "search_vector"], name="messages_search_idx"),
        ),
    ]

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    """The trail's lists break ties by id, as the admin's order does: the new indexes carry it,
    and replace the ones they extend. Built before the old ones go, concurrently (a plain
    CREATE INDEX would hold off every audited write while it builds)."""

    atomic = False

    dependencies = [
        ("core", "0007_idempotency_key_from_billing"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="auditevent",
            index=models.Index(fields=["-occurred_at", "-id"], name="audit_events_newest_idx"),
        ),
        AddIndexConcurrently(
            model_name="auditevent",
            index=models.Index(
                fields=["action", "-occurred_at", "-id"], name="audit_events_action_newest_idx"
            ),
        ),
        RemoveIndexConcurrently(model_name="auditevent", name="audit_events_occurred_idx"),
        RemoveIndexConcurrently(model_name="auditevent", name="audit_events_action_idx"),
    ]

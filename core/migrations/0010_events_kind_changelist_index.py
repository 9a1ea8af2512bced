from django.db import migrations, models


class Migration(migrations.Migration):
    """The event log's admin list filtered by audience kind, newest first. A plain CREATE INDEX:
    the log is partitioned (0008), and PostgreSQL builds no index concurrently on a partitioned
    table; it is built on each partition under a lock that holds writes to the log meanwhile."""

    dependencies = [
        ("core", "0009_partition_logs_by_month"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="event",
            index=models.Index(fields=["audience_kind", "-id"], name="events_kind_newest_idx"),
        ),
    ]

"""The logs partitioned by month: rows find their month, the coming months are prepared,
old months are archived (detached, dumped, checked, dropped) and restore, and reading the
event log after a cursor stays an index walk."""

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from core.models import AuditAction, AuditEvent, Event
from core.partitions import LOGS, Month, months_of
from core.services.partitions import partitions_ensure
from tests import factories
from tests.events.factories import EventFactory
from tests.events.test_api import client_of
from tests.ops.conftest import database_url
from tests.ops.test_changelist_indexes import SORT_NODE

THIS_MONTH = Month.of(timezone.now())
OLD_MONTH = THIS_MONTH.following(-14)  # before what the migration prepared


def partition_holding(table: str, pk) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


def table_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        return cursor.fetchone()[0]


def command(name: str, *args: str) -> str:
    out = io.StringIO()
    call_command(name, *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_both_logs_have_this_month_and_a_year_ahead(db):
    for table in LOGS:
        months = months_of(table)
        assert THIS_MONTH in months
        assert THIS_MONTH.following(12) in months


def test_rows_land_in_the_partition_of_their_month(db):
    partitions_ensure(since=OLD_MONTH)
    moment = OLD_MONTH.start + timedelta(days=3)
    audit = factories.AuditEventFactory(occurred_at=moment)
    event = EventFactory(occurred_at=moment)
    current = EventFactory()

    assert partition_holding("audit_events", audit.pk) == OLD_MONTH.partition_of("audit_events")
    assert partition_holding("events", event.pk) == OLD_MONTH.partition_of("events")
    assert partition_holding("events", current.pk) == THIS_MONTH.partition_of("events")


def test_a_row_of_a_month_without_a_partition_is_kept_and_db_health_asks_for_a_human(db):
    stray = EventFactory(occurred_at=datetime(2001, 1, 1, tzinfo=UTC))

    with pytest.raises(CommandError) as refusal:
        command("db_health", "--long-transaction-seconds", "3600")

    assert partition_holding("events", stray.pk) == "events_default"
    assert "Log partitions (by month)" in str(refusal.value)


def test_ensure_partitions_adds_missing_months_once(db):
    coming = THIS_MONTH.following(3).partition_of("events")
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {coming}")

    first = command("ensure_partitions")
    second = command("ensure_partitions")

    assert f"Created {coming}." in first
    assert second == "Every partition was already there.\n"
    assert table_exists(coming)


def test_a_month_whose_rows_sit_in_the_default_partition_is_reported_not_forced(db):
    month = THIS_MONTH.following(5)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {month.partition_of('audit_events')}")
    factories.AuditEventFactory(occurred_at=month.start + timedelta(hours=1))

    with pytest.raises(CommandError, match=month.partition_of("audit_events")):
        command("ensure_partitions")

    assert not table_exists(month.partition_of("audit_events"))
    assert AuditEvent.objects.filter(occurred_at__gte=month.start).count() == 1


def test_reading_events_after_a_cursor_walks_each_partitions_index_in_id_order(db):
    partitions_ensure(since=OLD_MONTH)
    EventFactory(occurred_at=OLD_MONTH.start)
    EventFactory.create_batch(3)
    page = Event.objects.filter(id__gt=0).order_by("id")[:50]

    with connection.cursor() as cursor:
        for setting in ("enable_seqscan", "enable_sort", "enable_incremental_sort"):
            cursor.execute(f"SET LOCAL {setting} = off")
        sql, params = page.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "Merge Append" in plan
    assert "Seq Scan" not in plan and not SORT_NODE.search(plan), plan
    assert [e.pk for e in page] == sorted(e.pk for e in page)


def test_the_api_says_how_far_back_the_event_log_goes(db):
    partitions_ensure(since=OLD_MONTH)
    oldest = EventFactory(occurred_at=OLD_MONTH.start + timedelta(days=1))
    EventFactory()

    body = client_of(factories.UserFactory()).get("/api/v1/events/retention").json()

    assert body == {
        "live_since": (OLD_MONTH.start + timedelta(days=1)).isoformat().replace("+00:00", "Z"),
        "oldest_id": oldest.pk,
    }


def test_the_admin_lists_of_the_logs_say_how_far_back_they_go(client, db):
    client.force_login(factories.UserFactory(is_staff=True, is_superuser=True))
    factories.AuditEventFactory(occurred_at=datetime(2026, 1, 2, 3, 4, tzinfo=UTC))

    audit = client.get(reverse("admin:core_auditevent_changelist")).content.decode()
    events = client.get(reverse("admin:core_event_changelist")).content.decode()

    assert "Live rows since 2026-01-02 03:04 UTC" in audit
    assert "No live rows." in events


@pytest.mark.django_db(transaction=True)
def test_archive_moves_old_months_to_checked_backups_that_restore(tmp_path, missing_database):
    partitions_ensure(since=OLD_MONTH)
    moment = OLD_MONTH.start + timedelta(days=2)
    factories.AuditEventFactory.create_batch(3, occurred_at=moment)
    EventFactory.create_batch(2, occurred_at=moment)
    recent = EventFactory()
    cutoff = str(OLD_MONTH.following())

    dry = command("archive", "--before", cutoff, "--output", str(tmp_path), "--dry-run")
    output = command("archive", "--before", cutoff, "--output", str(tmp_path))

    audit_partition = OLD_MONTH.partition_of("audit_events")
    assert f"Would archive {audit_partition}." in dry
    assert f"Archived {audit_partition}: 3 rows" in output
    assert f"Archived {OLD_MONTH.partition_of('events')}: 2 rows" in output
    assert not table_exists(audit_partition)
    assert OLD_MONTH not in months_of("audit_events")
    assert list(Event.objects.values_list("pk", flat=True)) == [recent.pk]
    (manifest_path,) = tmp_path.glob(f"{audit_partition}-*.json")
    manifest = json.loads(manifest_path.read_text())
    assert manifest["tables"] == {audit_partition: 3}
    assert manifest["archived"]["month"] == str(OLD_MONTH)
    recorded = AuditEvent.objects.filter(action=AuditAction.LOG_MONTH_ARCHIVED)
    assert sorted(event.after["table"] for event in recorded) == ["audit_events", "events"]

    restored = command("restore", str(manifest_path), "--target", database_url(missing_database))
    assert "every count as in the backup" in restored


@pytest.mark.django_db(transaction=True)
def test_a_month_whose_dump_fails_is_attached_again_untouched(tmp_path):
    partitions_ensure(since=OLD_MONTH)
    EventFactory.create_batch(2, occurred_at=OLD_MONTH.start + timedelta(days=1))
    not_a_directory = tmp_path / "taken"
    not_a_directory.write_text("a file where the archives would go")

    with pytest.raises(FileExistsError):
        command(
            "archive",
            "--before",
            str(OLD_MONTH.following()),
            "--table",
            "events",
            "--output",
            str(not_a_directory),
        )

    assert OLD_MONTH in months_of("events")
    assert Event.objects.filter(occurred_at__lt=OLD_MONTH.end).count() == 2
    assert not AuditEvent.objects.filter(action=AuditAction.LOG_MONTH_ARCHIVED).exists()


def test_archive_refuses_the_current_month_and_bad_input(db):
    with pytest.raises(CommandError, match="YYYY-MM"):
        command("archive", "--before", "2026-13")
    with pytest.raises(CommandError, match="after this month"):
        command("archive", "--before", str(THIS_MONTH.following()))

"""Retention: ``purge_events`` removes old events in batches, and a dry run only counts."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from core.models import Event
from tests.events.factories import EventFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def log():
    """Five events of 40 days ago and two of today."""
    # The trigger refuses UPDATE, so old events are written with their past time.
    old = EventFactory.create_batch(5, occurred_at=timezone.now() - timedelta(days=40))
    recent = EventFactory.create_batch(2)
    return old, recent


def purge(*args: str) -> str:
    out = StringIO()
    call_command("purge_events", *args, stdout=out)
    return out.getvalue()


def test_a_dry_run_counts_and_removes_nothing(log):
    output = purge("--dry-run")
    assert "would remove 5 events older than 30 days" in output
    assert Event.objects.count() == 7


def test_a_purge_removes_the_old_events_in_batches_and_keeps_the_recent(log):
    _, recent = log
    output = purge("--older-than", "30", "--batch-size", "2")
    assert output.splitlines() == ["removed 5 events older than 30 days"]
    assert set(Event.objects.values_list("pk", flat=True)) == {e.pk for e in recent}


def test_a_longer_window_keeps_more(log):
    assert "removed 0 events" in purge("--older-than", "45")
    assert Event.objects.count() == 7


def test_a_window_under_a_day_is_refused(log):
    with pytest.raises(CommandError, match="at least 1 day"):
        purge("--older-than", "0")

"""The periodic jobs are scheduled and do what their commands do."""

import pytest

from accounts.services import credentials
from core import tasks as core_tasks
from core.context import SYSTEM
from core.jobs import app
from core.models import Event
from tests.factories import UserFactory

PERIODIC = {
    "core.recover_stalled_jobs",
    "core.purge_events",
    "core.purge_deleted",
    "core.purge_old_jobs",
    "billing.detect_past_due",
    "billing.send_reminders",
    "core.purge_idempotency_keys",
    "core.ensure_partitions",
    "webhooks.sweep",
}


def test_every_periodic_job_is_scheduled():
    app.perform_import_paths()
    scheduled = {periodic.task.name for periodic in app.periodic_registry.periodic_tasks.values()}
    assert scheduled >= PERIODIC


@pytest.mark.django_db
def test_the_events_purge_keeps_the_retention_window(settings):
    credentials.session_create(user=UserFactory(), context=SYSTEM)
    settings.EVENTS_RETENTION_DAYS = 1
    core_tasks.purge_events(timestamp=0)
    assert Event.objects.count() == 1
    # With no window at all, everything already written is older than now.
    settings.EVENTS_RETENTION_DAYS = 0
    core_tasks.purge_events(timestamp=0)
    assert Event.objects.count() == 0

import pytest
from django.core.management import call_command

from tests.jobs import empty_the_queue


@pytest.fixture
def synced_roles(db):
    """The permission rows and default roles that ``sync_permissions`` creates."""
    call_command("sync_permissions", verbosity=0)


@pytest.fixture(scope="session", autouse=True)
def _the_queue_starts_empty(django_db_setup, django_db_blocker):
    """The test database is reused between runs (--reuse-db), and procrastinate's tables are
    not Django's to flush: jobs a stopped run committed must not reach this one's tests."""
    with django_db_blocker.unblock():
        empty_the_queue()


@pytest.fixture(autouse=True)
def _no_jobs_left_behind(request, django_db_blocker):
    """A test that commits (transaction=True) leaves the jobs it queued in procrastinate's
    tables, where the next test's worker or ``run_queued_jobs`` would find them."""
    yield
    marker = request.node.get_closest_marker("django_db")
    if marker is not None and marker.kwargs.get("transaction"):
        with django_db_blocker.unblock():
            empty_the_queue()

"""End to end with a real worker process: a committed event wakes the worker, which
dispatches and delivers it to a real receiver."""

import pytest

from tests.jobs import empty_the_queue, start_worker, stop_worker, wait_until
from tests.webhooks.conftest import sign_in_event
from webhooks.models import WebhookDelivery


@pytest.fixture
def clean_queue(django_db_blocker):
    yield
    with django_db_blocker.unblock():
        empty_the_queue()


@pytest.mark.django_db(transaction=True)
def test_a_committed_event_reaches_the_receiver_through_a_worker(
    receiver, endpoint_for, clean_queue
):
    endpoint, _ = endpoint_for(receiver.url)
    worker = start_worker("--concurrency", "2")
    try:
        sign_in_event()  # commits: the NOTIFY wakes the worker's dispatcher
        wait_until(
            lambda: WebhookDelivery.objects.filter(endpoint=endpoint, status="delivered").exists(),
            what="the delivery",
        )
    finally:
        output = stop_worker(worker)
    assert worker.returncode == 0, output
    assert len(receiver.received) == 1

import pytest

from accounts.services import credentials
from core.context import SYSTEM
from tests.factories import StaffUserFactory, UserFactory
from tests.jobs import run_queued_jobs
from tests.webhooks.receiver import start_receiver
from webhooks import services


@pytest.fixture
def receiver():
    running = start_receiver()
    yield running
    running.close()


@pytest.fixture
def manager(synced_roles):
    return StaffUserFactory(roles=["admin"])


@pytest.fixture
def endpoint_for(manager):
    """``endpoint_for(url, events=[...])``: an endpoint made through the service, and its
    secret."""

    def make(url: str, *, events=("session.created",), **options):
        return services.endpoint_create(
            url=url, events=list(events), actor=manager, context=SYSTEM, **options
        )

    return make


def sign_in_event(user=None) -> None:
    """Something happens: a sign-in, which publishes ``session.created``."""
    credentials.session_create(user=user or UserFactory(), context=SYSTEM)


def deliver_everything() -> int:
    """The worker's part, in this process: what a wake-up on committed events starts (the
    dispatcher), then the delivery jobs it enqueues."""
    services.deliveries_dispatch()
    return run_queued_jobs()

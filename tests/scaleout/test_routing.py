"""core/routing.py's rules that need no replica to be seen: the read-your-writes marks and
their behaviour when the cache is out, and that a transaction always reads the primary."""

import pytest
from django.db import transaction
from django.test import override_settings

from core import routing

pytestmark = pytest.mark.scaleout

# Nothing listens on port 1: every command fails at once, as with a Redis that is down.
REDIS_DOWN = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}


def test_a_write_keeps_only_its_writer_on_the_primary():
    routing.note_write("writer")

    assert routing.wrote_recently("writer")
    assert not routing.wrote_recently("someone-else")


def test_without_the_cache_a_write_still_answers_and_every_reader_stays_on_the_primary():
    with override_settings(CACHES=REDIS_DOWN):
        routing.note_write("writer")

        assert routing.wrote_recently("anyone")


def test_the_window_outlasts_the_lag_a_replica_in_use_can_have(settings):
    settings.DATABASE_REPLICA_MAX_LAG = 5.0
    settings.DATABASE_REPLICA_CHECK_INTERVAL = 0.5

    assert routing.read_your_writes_seconds() == 6


@pytest.mark.django_db(transaction=True)
def test_reads_inside_a_transaction_go_to_the_primary_even_in_a_tolerant_read():
    with routing._reads_from(routing.REPLICA_DB_ALIAS):
        outside = routing.read_alias()
        with transaction.atomic():
            inside = routing.read_alias()

    assert (outside, inside) == (routing.REPLICA_DB_ALIAS, "default")

"""The scale-out topology for the tests (rehearsal/topology.py): a scratch primary, a hot
standby streaming from it, PgBouncer in transaction mode, and three Atrium processes under
gunicorn on config.settings.bench (production less the HTTPS redirect, throttles that never
refuse: the tests sign in more often than production allows) plus the event stream under
uvicorn, all with DATABASE_URL at PgBouncer and DATABASE_REPLICA_URL at the standby.

Started once per session, on ports of their own: by default 5470-5471 for the clusters, 6440
for PgBouncer, 8160-8161 for the two processes the checks spread over, 8162 for the one
allowing no lag, 8163 for the event stream; ``ATRIUM_SCALEOUT_PORTS=PRIMARY,PGBOUNCER,FIRST_APP``
moves them (two checkouts on one machine). Skipped, saying which, when the PostgreSQL server
binaries or PgBouncer are not installed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from rehearsal.client import Tokens
from rehearsal.topology import App, Plan, Ports, RehearsalError, Topology, missing_part, running

PORTS = Ports.parse(os.environ.get("ATRIUM_SCALEOUT_PORTS", "5470,6440,8160"))
# Two processes that read from the replica while it lags up to a minute (so a paused replay
# stays in use during a test) and check it only every half minute (so a replica stopped under
# them is found by a failing read, which the primary must then serve), and one that checks it
# often and leaves it as soon as it lags at all.
LENIENT = {"DATABASE_REPLICA_MAX_LAG": "60", "DATABASE_REPLICA_CHECK_INTERVAL": "30"}
STRICT = {"DATABASE_REPLICA_MAX_LAG": "0", "DATABASE_REPLICA_CHECK_INTERVAL": "0.2"}
STRICT_LAG_PORT = PORTS.first_app + 2
# The event stream (config/asgi.py under uvicorn), whose LISTEN must go past PgBouncer.
STREAM_PORT = PORTS.first_app + 3
PLAN = Plan(
    PORTS,
    (
        App(PORTS.first_app, LENIENT),
        App(PORTS.first_app + 1, LENIENT),
        App(STRICT_LAG_PORT, STRICT, spread=False),
        # A keep-alive every 0.3 s tells a test the stream is up without a wait.
        App(
            STREAM_PORT,
            {**LENIENT, "EVENT_STREAM_HEARTBEAT_SECONDS": "0.3"},
            server="uvicorn",
            spread=False,
        ),
    ),
)


@pytest.fixture(scope="session")
def topology() -> Iterator[Topology]:
    if problem := missing_part():
        pytest.skip(f"The scale-out tests need it: {problem}")
    try:
        with running(PLAN) as started:
            yield started
    except RehearsalError as error:
        pytest.fail(str(error))


@pytest.fixture(scope="session")
def tokens(topology: Topology) -> Tokens:
    """One sign-in per demo user for the whole session."""
    return Tokens(topology.app_ports[0])

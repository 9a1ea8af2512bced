"""The live stream across a real PostgreSQL restart: a scratch cluster of the test's own
(tests/ops/cluster.py) behind two uvicorn processes (tests/events/sse.py), restarted with
``pg_ctl restart -m fast`` while events are being committed.

What must hold (docs/events.md, "Database restart"): the open streams stay open, and each
carries every event of its reader committed before, during and after the restart, once each,
in id order. The restart cuts every connection, the hubs' LISTEN included: each hub reconnects
and reads from the table everything after the last id it handed out. Which writes committed is
read from the table afterwards (a commit cut by the restart may or may not have happened), so
the assertion is exact whatever the timing.
"""

import json
import os
import sys
import threading
import time

import psycopg

from core import sql
from tests.events.sse import ROOT, StreamServer
from tests.ops.cluster import needs_server_binaries, run, scratch_cluster

pytestmark = needs_server_binaries

PG_PORT = 8671
STREAM_PORTS = (8672, 8673)
DATABASE = "atrium_stream_restart"
TYPE = "thing.happened"
# Events committed before the restart starts, and after the cluster is back.
BEFORE, AFTER = 15, 15
# A guard against a stream that never resumes, not a measurement.
PATIENCE_SECONDS = 90

# A reader and two sessions, written through Atrium's own services on the scratch database.
SETUP = """
import json
from accounts.services import credentials
from core.context import SYSTEM
from tests.factories import UserFactory
user = UserFactory()
tokens = [credentials.session_create(user=user, context=SYSTEM)[1] for _ in range(2)]
print(json.dumps({"user": str(user.pk), "tokens": tokens}))
"""


class Writer(threading.Thread):
    """Commits one event after another for ``user`` (core/sql.py's INSERT_EVENT, the statement
    ``core.events.publish`` sends; each in its own transaction), reconnecting whenever the
    database is away, until stopped."""

    def __init__(self, url: str, user: str) -> None:
        super().__init__(daemon=True)
        self.url, self.user = url, user
        self.attempts = 0
        self.failures = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        db = None
        while not self.stopping.is_set():
            try:
                if db is None:
                    db = psycopg.connect(self.url, autocommit=True, connect_timeout=2)
                self.attempts += 1
                db.execute(sql.INSERT_EVENT, self.params())
            except psycopg.OperationalError:
                self.failures += 1
                if db is not None:
                    db.close()
                db = None
                time.sleep(0.1)
                continue
            time.sleep(0.02)
        if db is not None:
            db.close()

    def params(self) -> dict:
        return sql.event_params(
            type=TYPE,
            object_type="accounts.user",
            object_id=self.user,
            payload={"n": self.attempts},
            actor_id=None,
            audience_kind="user",
            audience_key=self.user,
            request_id="restart-test",
        )

    def committed_since(self, after: int) -> list[int]:
        with psycopg.connect(self.url, autocommit=True) as db:
            rows = db.execute(
                "SELECT id FROM events WHERE type = %s AND audience_key = %s AND id > %s"
                " ORDER BY id",
                [TYPE, self.user, after],
            ).fetchall()
        return [row[0] for row in rows]


def _wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + PATIENCE_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"Gave up waiting for {what}."
        time.sleep(0.05)


def test_streams_resume_after_a_postgres_restart_without_losing_or_repeating_an_event(
    tmp_path,
):
    with scratch_cluster(PG_PORT) as cluster:
        url = cluster.url(DATABASE)
        env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
        env.pop("DATABASE_DIRECT_URL", None)
        manage = [sys.executable, str(ROOT / "manage.py")]
        run(*manage, "ensure_database", env=env)
        run(*manage, "migrate", "--no-input", env=env)
        made = json.loads(run(*manage, "shell", "-c", SETUP, env=env).strip().splitlines()[-1])
        user, tokens = made["user"], made["tokens"]

        servers = [StreamServer(tmp_path, database_url=url, port=port) for port in STREAM_PORTS]
        writer = Writer(url, user)
        try:
            streams = [
                server.stream(token, query=f"?type={TYPE}")
                for server, token in zip(servers, tokens, strict=True)
            ]
            # Both streams are live once each has carried an event committed after it opened.
            with psycopg.connect(url, autocommit=True) as db:
                (first,) = db.execute(sql.INSERT_EVENT, writer.params()).fetchone()
            for stream in streams:
                assert [m.id for m in stream.events(1, timeout=PATIENCE_SECONDS)] == [first]

            writer.start()
            _wait_for(lambda: len(writer.committed_since(first)) >= BEFORE, "the first writes")
            cluster.restart()
            back = len(writer.committed_since(first))
            _wait_for(lambda: len(writer.committed_since(first)) >= back + AFTER, "writes after it")
            writer.stopping.set()
            writer.join(timeout=30)
            assert writer.failures > 0, "the restart never reached the writer"

            committed = writer.committed_since(first)
            for stream in streams:
                carried = [m.id for m in stream.events(len(committed), timeout=PATIENCE_SECONDS)]
                assert carried == committed
                # And nothing more: no event is sent twice after the resume.
                assert stream.quiet() == []
        finally:
            writer.stopping.set()
            for server in servers:
                server.stop()

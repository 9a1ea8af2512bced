"""The write ceiling of the current design on this machine: one primary, PgBouncer in
transaction mode, one gunicorn with N sync workers (the production topology of
docs/deployment.md, rehearsal/topology.py), loaded with writes at rising concurrency until
the throughput stops rising.

Workloads, each a POST per request through the API (wrk, a Lua script picking the target):

  messages            a message posted to one of 16 conversations (an event, an audit row)
  payments            a payment of 0.01 on one of 16 open invoices (idempotency, a row lock,
                      an event, an audit row)
  messages, no order  the messages again, on this scratch database only, with the events
                      table's commit-order lock (migration core/0004, docs/events.md) made a
                      no-op: what that lock costs

Per level: requests/s and p99 (wrk), the server's CPU per request, and PostgreSQL's view:
commits/s (pg_stat_database.xact_commit: every committed transaction, read-only ones too,
among them the sampler's own 20 a second), WAL bytes/s (pg_current_wal_lsn) and the share of
sampled backends waiting for the commit-order lock (pg_stat_activity, every 50 ms).

Run: nice -n 10 .venv/bin/python bench/bench_write_ceiling.py [--workers 4] [--duration 8]
     [--ports 5490,6460,8180] [--fsync on|off] [--redis-url redis://127.0.0.1:6379/13]

Needs the PostgreSQL server binaries, PgBouncer, wrk and Redis (production's cache). A scratch
cluster, started and removed by the run; fsync stays on (as in production) unless --fsync off.
The floor is the database alone (pgbench); there is no stock contender: the question is where
this design stops, not how it compares with another.
"""

import argparse
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import Contender, LoadResult, announce, bench_lock, warn_if_busy, wrk
from rehearsal.client import Tokens, conversation_with, open_invoice, user_id
from rehearsal.topology import (
    DATABASE,
    App,
    Plan,
    Ports,
    RehearsalError,
    Topology,
    running,
    url,
)

LEVELS = (1, 2, 4, 8, 16, 32, 64)
# A level that adds less than this to the best rate so far does not count as rising; two such
# levels in a row and the ceiling is reached (one alone may be another process's burst on a
# shared machine).
STILL_RISING = 1.05
FLAT_LEVELS_TO_STOP = 2
TARGETS = 16
# The floor: the database alone (pgbench, no app), one event written per transaction, as
# every event-writing service commit writes at least one.
EVENT_INSERT = (
    "INSERT INTO events (type, object_type, object_id, audience_kind, audience_key)"
    " VALUES ('bench.written', 'bench.thing', 'x', 'user', 'nobody');\n"
)
FLOOR_LEVELS = (1, 4, 16)
REDIS_URL = "redis://127.0.0.1:6379/13"
NO_COMMIT_ORDER = """
CREATE OR REPLACE FUNCTION events_take_commit_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RETURN NULL;
END $$;
"""


@dataclass(frozen=True)
class Level:
    connections: int
    load: LoadResult
    commits_per_second: float
    wal_bytes_per_second: float
    waiting_for_order: float


def post_script(directory: Path, name: str, paths: list[str], body: dict) -> Path:
    script = directory / f"{name}.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f"local paths = {{{', '.join(json.dumps(p) for p in paths)}}}\n"
        f"local body = {json.dumps(json.dumps(body))}\n"
        "request = function()\n"
        '  return wrk.format("POST", paths[math.random(#paths)], nil, body)\n'
        "end\n"
    )
    return script


def payment_script(directory: Path, invoices: list[str]) -> Path:
    """Each payment names its invoice in the body: one body per invoice, picked at random."""
    script = directory / "payments.lua"
    bodies = [
        json.dumps({"invoice": invoice, "amount": "0.01", "provider": "manual"})
        for invoice in invoices
    ]
    script.write_text(
        'wrk.headers["Content-Type"] = "application/json"\n'
        f"local bodies = {{{', '.join(json.dumps(b) for b in bodies)}}}\n"
        "request = function()\n"
        '  return wrk.format("POST", "/api/v1/billing/payments", nil,'
        " bodies[math.random(#bodies)])\n"
        "end\n"
    )
    return script


class LockSampler:
    """Samples the primary's client backends while a level runs: how many are in a query,
    and how many of those wait for the events' commit-order (advisory) lock."""

    def __init__(self, topology: Topology):
        self.topology = topology
        self.active = 0
        self.waiting = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        # One connection for the whole level: a new one every sample would cost the server
        # a process start each time.
        with psycopg.connect(url(self.topology.primary_port), autocommit=True) as db:
            while not self._stop.wait(0.05):
                ((active, waiting),) = db.execute(
                    "SELECT count(*) FILTER (WHERE state = 'active'),"
                    " count(*) FILTER (WHERE wait_event_type = 'Lock'"
                    " AND wait_event = 'advisory')"
                    " FROM pg_stat_activity WHERE backend_type = 'client backend'"
                    " AND pid <> pg_backend_pid()"
                ).fetchall()
                self.active += active
                self.waiting += waiting

    def __enter__(self) -> "LockSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def database_counters(topology: Topology) -> tuple[int, int]:
    ((commits, wal),) = topology.primary(
        "SELECT xact_commit, pg_current_wal_lsn() - '0/0'::pg_lsn"
        " FROM pg_stat_database WHERE datname = current_database()"
    )
    return int(commits), int(wal)


def measure(
    topology: Topology, contender: Contender, script: Path, connections: int, seconds: int
) -> Level:
    commits_before, wal_before = database_counters(topology)
    started = time.monotonic()
    with LockSampler(topology) as sampler:
        load = wrk(
            contender,
            seconds,
            script=script,
            connections=connections,
            server=topology.processes[topology.app_ports[0]],
        )
    elapsed = time.monotonic() - started
    commits_after, wal_after = database_counters(topology)
    return Level(
        connections,
        load,
        (commits_after - commits_before) / elapsed,
        (wal_after - wal_before) / elapsed,
        sampler.waiting / sampler.active if sampler.active else 0.0,
    )


def climb(topology: Topology, name: str, contender: Contender, script: Path, seconds: int):
    print(f"\n{name}")
    print(
        f"  {'conns':>5} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'CPU ms/req':>10}"
        f" {'commits/s':>9} {'WAL kB/s':>9} {'waiting for order':>17}"
    )
    best: Level | None = None
    flat = 0
    for connections in LEVELS:
        level = measure(topology, contender, script, connections, seconds)
        print(
            f"  {connections:5} {level.load.requests_per_second:7.0f} {level.load.p50_ms:7.1f}"
            f" {level.load.p99_ms:7.1f} {level.load.cpu_ms_per_request or 0:10.1f}"
            f" {level.commits_per_second:9.0f} {level.wal_bytes_per_second / 1024:9.0f}"
            f" {level.waiting_for_order:16.0%}",
            flush=True,
        )
        rate = level.load.requests_per_second
        if best is not None and rate < best.load.requests_per_second * STILL_RISING:
            flat += 1
            if flat == FLAT_LEVELS_TO_STOP:
                break
        else:
            flat = 0
        if best is None or rate > best.load.requests_per_second:
            best = level
    assert best is not None
    print(
        f"  ceiling: {best.load.requests_per_second:.0f} req/s at {best.connections} connections"
        f" (p99 {best.load.p99_ms:.0f} ms), {best.commits_per_second:.0f} commits/s"
    )
    return best


def pgbench_tps(topology: Topology, script: Path, clients: int, seconds: int) -> float:
    done = subprocess.run(
        [
            str(topology.postgres_bin / "pgbench"),
            "-n",
            f"-c{clients}",
            f"-j{min(clients, 2)}",
            f"-T{seconds}",
            "-f",
            str(script),
            "-h",
            "127.0.0.1",
            "-p",
            str(topology.primary_port),
            "-U",
            "postgres",
            DATABASE,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"tps = ([\d.]+)", done.stdout)
    if found is None:
        raise SystemExit(f"Could not read pgbench's output:\n{done.stdout}{done.stderr}")
    return float(found.group(1))


def floor(topology: Topology, directory: Path, seconds: int, label: str) -> dict[int, float]:
    """Event-writing commits/s of the database alone, straight to the primary."""
    script = directory / "event.sql"
    script.write_text(EVENT_INSERT)
    rates = {clients: pgbench_tps(topology, script, clients, seconds) for clients in FLOOR_LEVELS}
    print(
        f"  floor, {label}: "
        + ", ".join(f"{clients} clients {rate:.0f}/s" for clients, rate in rates.items())
    )
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--ports", default="5490,6460,8180")
    parser.add_argument("--fsync", choices=("on", "off"), default="on")
    # Production's cache: without it every throttled request writes the database cache's
    # table, several commits per request that production does not make.
    parser.add_argument("--redis-url", default=REDIS_URL)
    args = parser.parse_args()
    ports = Ports.parse(args.ports)
    plan = Plan(
        ports,
        (App(ports.first_app, workers=args.workers),),
        replica=False,
        fsync=args.fsync == "on",
        # Every wrk connection a gunicorn worker could hold, and the sampler's.
        max_connections=100,
        env={"REDIS_URL": args.redis_url},
    )
    with bench_lock(), tempfile.TemporaryDirectory(prefix="atrium-bench-write-") as tmp:
        announce(
            "bench_write_ceiling",
            1,
            args.duration,
            extra=f", gunicorn -w {args.workers} -> PgBouncer (transaction) -> PostgreSQL"
            f" (fsync {args.fsync}), cache {args.redis_url}",
        )
        warn_if_busy()
        with running(plan, progress=lambda step: print(f"  {step}", flush=True)) as topology:
            port = topology.app_ports[0]
            tokens = Tokens(port)
            ana, billing = tokens("ana"), tokens("billing")
            others = [user_id(port, tokens(handle)) for handle in ("ben", "grace")]
            conversations = [
                conversation_with(port, ana, f"Bench {i}", *others) for i in range(TARGETS)
            ]
            invoices = [open_invoice(port, billing, "1000000.00") for _ in range(TARGETS)]
            directory = Path(tmp)
            messages = post_script(
                directory,
                "messages",
                [f"/api/v1/conversations/{c}/messages" for c in conversations],
                {"content": "How far does one primary go?"},
            )
            base = f"http://127.0.0.1:{port}"
            as_ana = Contender("messages", f"{base}/api/v1/conversations", f"Bearer {ana}")
            as_billing = Contender("payments", f"{base}/api/v1/billing", f"Bearer {billing}")
            ceilings = {
                "messages": climb(topology, "messages", as_ana, messages, args.duration),
                "payments": climb(
                    topology,
                    "payments",
                    as_billing,
                    payment_script(directory, invoices),
                    args.duration,
                ),
            }
            print("\nThe floor: one event per commit, pgbench straight to the primary")
            floor(topology, directory, args.duration, "as shipped")
            topology.primary(NO_COMMIT_ORDER)
            floor(topology, directory, args.duration, "the commit-order lock a no-op")
            ceilings["messages, no order"] = climb(
                topology,
                "messages, the commit-order lock made a no-op (this scratch database only)",
                as_ana,
                messages,
                args.duration,
            )
        print("\nSummary: the ceiling of each workload")
        for name, best in ceilings.items():
            print(
                f"  {name:20} {best.load.requests_per_second:6.0f} req/s"
                f" (p99 {best.load.p99_ms:5.0f} ms, {best.connections} conns),"
                f" {best.commits_per_second:5.0f} commits/s,"
                f" WAL {best.wal_bytes_per_second / 1024:5.0f} kB/s,"
                f" {best.waiting_for_order:.0%} of active backends waiting for the order lock"
            )
        warn_if_busy()


if __name__ == "__main__":
    try:
        main()
    except RehearsalError as error:
        raise SystemExit(f"bench_write_ceiling: {error}") from None
    except KeyboardInterrupt:
        raise SystemExit(
            "bench_write_ceiling: interrupted; everything it started is stopped."
        ) from None

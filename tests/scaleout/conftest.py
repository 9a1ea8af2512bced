"""The scale-out topology, for real: a scratch PostgreSQL primary, a hot standby streaming
from it (pg_basebackup), PgBouncer in transaction mode in front of the primary, and three
Atrium processes under gunicorn (production settings less the HTTPS redirect:
config.settings.bench) whose DATABASE_URL is PgBouncer and whose DATABASE_REPLICA_URL is the
standby (docs/scale-out.md).

Started once per session in a temporary directory, on ports of their own (5470-5471 for the
clusters, 6440 for PgBouncer, 8160-8162 for the app processes, 8163 for the event stream under
uvicorn), and torn down at the end.
Skipped, saying which, when the PostgreSQL server binaries or PgBouncer are not installed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
DATABASE = "atrium_scale"
PRIMARY_PORT = 5470
REPLICA_PORT = 5471
PGBOUNCER_PORT = 6440
# Two processes that read from the replica while it lags up to a minute (so a paused replay
# stays in use during a test) and check it only every half minute (so a replica stopped under
# them is found by a failing read, which the primary must then serve), and one that checks it
# often and leaves it as soon as it lags at all.
APP_PORTS = (8160, 8161)
STRICT_LAG_PORT = 8162
# The event stream (config/asgi.py under uvicorn), whose LISTEN must go past PgBouncer.
STREAM_PORT = 8163
LENIENT = {"DATABASE_REPLICA_MAX_LAG": "60", "DATABASE_REPLICA_CHECK_INTERVAL": "30"}
STRICT = {"DATABASE_REPLICA_MAX_LAG": "0", "DATABASE_REPLICA_CHECK_INTERVAL": "0.2"}
WORKERS_PER_PROCESS = 2
# Waits for a condition (a server up, WAL replayed) give up after this long.
PATIENCE_SECONDS = 60
DEMO_PASSWORD = "atrium-demo-password"


def _postgres_bin() -> Path | None:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if all((candidate / tool).exists() for tool in ("initdb", "pg_ctl", "pg_basebackup")):
            return candidate
    return None


def _pgbouncer() -> str | None:
    return shutil.which("pgbouncer") or next(
        (p for p in ("/usr/sbin/pgbouncer",) if Path(p).exists()), None
    )


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL and PgBouncer refuse to run as root: as root (CI), run them as the postgres
    user."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


def _run(command: list[str], **kwargs: Any) -> None:
    done = subprocess.run(  # noqa: S603 - our own fixed commands
        command, capture_output=True, text=True, timeout=300, **kwargs
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")


def wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + PATIENCE_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"Gave up waiting for {what}.")
        time.sleep(0.1)


def url(port: int, database: str = DATABASE) -> str:
    return f"postgres://postgres@127.0.0.1:{port}/{database}"


def sql(port: int, statement: str, params: Any = None) -> list[tuple]:
    """One statement on a cluster directly (never through the app), autocommit."""
    with psycopg.connect(url(port), autocommit=True, connect_timeout=5) as db:
        cursor = db.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def replica_caught_up() -> bool:
    (primary_lsn,) = sql(PRIMARY_PORT, "SELECT pg_current_wal_lsn()::text")[0]
    return sql(REPLICA_PORT, "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [primary_lsn])[0][0]


def replica_received_everything() -> bool:
    (primary_lsn,) = sql(PRIMARY_PORT, "SELECT pg_current_wal_lsn()::text")[0]
    return sql(REPLICA_PORT, "SELECT pg_last_wal_receive_lsn() >= %s::pg_lsn", [primary_lsn])[0][0]


def pgbouncer_clients() -> int:
    """How many client connections PgBouncer holds for Atrium's database now."""
    # The admin console speaks the simple query protocol only: a client-side cursor uses it.
    with psycopg.connect(
        url(PGBOUNCER_PORT, "pgbouncer"), autocommit=True, cursor_factory=psycopg.ClientCursor
    ) as admin:
        cursor = admin.execute("SHOW CLIENTS")
        columns = [column.name for column in cursor.description or ()]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    return sum(1 for row in rows if row["database"] == DATABASE)


@dataclass
class Response:
    status: int
    body: Any
    headers: dict[str, str]


def call(
    port: int,
    method: str,
    path: str,
    *,
    token: str | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> Response:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={
            "Content-Type": "application/json",
            **({"Authorization": f"Bearer {token}"} if token else {}),
            **(headers or {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=PATIENCE_SECONDS) as answer:  # noqa: S310
            status, raw, answer_headers = answer.status, answer.read(), dict(answer.headers)
    except urllib.error.HTTPError as error:
        status, raw, answer_headers = error.code, error.read(), dict(error.headers)
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode(errors="replace")
    return Response(status, parsed, answer_headers)


def login(port: int, handle: str) -> str:
    answer = call(
        port,
        "POST",
        "/api/v1/auth/login",
        body={"email": f"{handle}@atrium.local", "password": DEMO_PASSWORD},
    )
    assert answer.status == 200, answer.body
    return answer.body["token"]


@dataclass
class Topology:
    directory: Path
    postgres_bin: Path
    app_ports: tuple[int, ...]
    strict_lag_port: int
    stream_port: int

    def pg_ctl(self, cluster: str, action: str) -> None:
        data = self.directory / cluster
        _run(
            _as_postgres(
                [
                    str(self.postgres_bin / "pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(self.directory / f"{cluster}.log"),
                    "-w",
                    "-m",
                    "fast",
                    action,
                ]
            )
        )

    def replica_streaming(self) -> bool:
        try:
            return sql(REPLICA_PORT, "SELECT count(*) FROM pg_stat_wal_receiver")[0][0] == 1
        except psycopg.OperationalError:
            return False


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def _app_env(replica_limits: dict[str, str]) -> dict[str, str]:
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "DJANGO_", "REDIS_"))
    }
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "config.settings.bench",
        "DATABASE_URL": url(PGBOUNCER_PORT),
        "DATABASE_DIRECT_URL": url(PRIMARY_PORT),
        "DATABASE_REPLICA_URL": url(REPLICA_PORT),
        **replica_limits,
        "LOG_LEVEL": "WARNING",
    }


def _write_primary_config(data: Path, sockets: Path) -> None:
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(
            f"""
port = {PRIMARY_PORT}
listen_addresses = '127.0.0.1'
unix_socket_directories = '{sockets}'
max_connections = 80
shared_buffers = 32MB
wal_level = replica
max_wal_senders = 4
# A scratch cluster: durability buys nothing here and costs the shared disk.
fsync = off
full_page_writes = off
hot_standby_feedback = on
"""
        )


def _write_pgbouncer_config(directory: Path) -> Path:
    (directory / "userlist.txt").write_text('"postgres" ""\n')
    config = directory / "pgbouncer.ini"
    config.write_text(
        f"""[databases]
{DATABASE} = host=127.0.0.1 port={PRIMARY_PORT} dbname={DATABASE}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {PGBOUNCER_PORT}
unix_socket_dir =
auth_type = trust
auth_file = {directory / "userlist.txt"}
pool_mode = transaction
max_client_conn = 300
default_pool_size = 20
logfile = {directory / "pgbouncer.log"}
admin_users = postgres
"""
    )
    return config


@pytest.fixture(scope="session")
def topology() -> Iterator[Topology]:
    postgres_bin, pgbouncer = _postgres_bin(), _pgbouncer()
    if postgres_bin is None:
        pytest.skip("The scale-out rehearsal needs PostgreSQL's initdb, pg_ctl, pg_basebackup.")
    if pgbouncer is None:
        pytest.skip("The scale-out rehearsal needs PgBouncer (apt-get install pgbouncer).")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("Running as root, the scale-out rehearsal needs runuser.")
    ports = (PRIMARY_PORT, REPLICA_PORT, PGBOUNCER_PORT, *APP_PORTS, STRICT_LAG_PORT, STREAM_PORT)
    taken = [port for port in ports if not _port_free(port)]
    assert not taken, f"Ports {taken} are in use: another rehearsal still runs?"

    directory = Path(tempfile.mkdtemp(prefix="atrium-scaleout-"))
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    topology = Topology(directory, postgres_bin, APP_PORTS, STRICT_LAG_PORT, STREAM_PORT)
    processes: list[subprocess.Popen] = []
    started: list[str] = []
    try:
        _run(
            _as_postgres(
                [
                    str(postgres_bin / "initdb"),
                    "-D",
                    str(directory / "primary"),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--no-sync",
                ]
            )
        )
        _write_primary_config(directory / "primary", directory)
        topology.pg_ctl("primary", "start")
        started.append("primary")
        with psycopg.connect(url(PRIMARY_PORT, "postgres"), autocommit=True) as db:
            db.execute(f"CREATE DATABASE {DATABASE}")

        _run(
            _as_postgres(
                [
                    str(postgres_bin / "pg_basebackup"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(PRIMARY_PORT),
                    "-U",
                    "postgres",
                    "-D",
                    str(directory / "replica"),
                    "-R",
                    "-X",
                    "stream",
                    "-c",
                    "fast",
                ]
            )
        )
        with (directory / "replica" / "postgresql.conf").open("a") as conf:
            conf.write(f"port = {REPLICA_PORT}\n")
        topology.pg_ctl("replica", "start")
        started.append("replica")

        config = _write_pgbouncer_config(directory)
        if os.geteuid() == 0:
            shutil.chown(config, "postgres")
        processes.append(subprocess.Popen(_as_postgres([pgbouncer, str(config)])))  # noqa: S603
        wait_until(lambda: not _port_free(PGBOUNCER_PORT), "PgBouncer to listen")

        setup_env = _app_env(LENIENT)
        for command in (
            # Migrations bypass the pooler (docs/scale-out.md); the demo data goes through it.
            ["migrate", "--database", "direct", "--noinput", "-v", "0"],
            ["seed_demo"],
        ):
            _run([sys.executable, "manage.py", *command], cwd=ROOT, env=setup_env)

        for port, limits in [(p, LENIENT) for p in APP_PORTS] + [(STRICT_LAG_PORT, STRICT)]:
            with (directory / f"gunicorn-{port}.log").open("w") as log:
                processes.append(
                    subprocess.Popen(  # noqa: S603 - gunicorn from this venv
                        [
                            str(Path(sys.executable).parent / "gunicorn"),
                            "config.wsgi:application",
                            "-w",
                            str(WORKERS_PER_PROCESS),
                            "-b",
                            f"127.0.0.1:{port}",
                        ],
                        cwd=ROOT,
                        env=_app_env(limits),
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
        with (directory / f"uvicorn-{STREAM_PORT}.log").open("w") as log:
            processes.append(
                subprocess.Popen(  # noqa: S603 - uvicorn from this venv
                    [
                        sys.executable,
                        "-m",
                        "uvicorn",
                        "config.asgi:application",
                        "--port",
                        str(STREAM_PORT),
                        "--no-access-log",
                        "--timeout-graceful-shutdown",
                        "2",
                    ],
                    cwd=ROOT,
                    # A keep-alive every 0.3 s tells a test the stream is up without a wait.
                    env={**_app_env(LENIENT), "EVENT_STREAM_HEARTBEAT_SECONDS": "0.3"},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        for port in (*APP_PORTS, STRICT_LAG_PORT, STREAM_PORT):
            wait_until(lambda port=port: _answers(port), f"Atrium on port {port}")
        wait_until(replica_caught_up, "the replica to replay the demo data")
        yield topology
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        for cluster in reversed(started):
            # Already stopped by a test that failed before starting it again.
            with contextlib.suppress(RuntimeError):
                topology.pg_ctl(cluster, "stop")
        shutil.rmtree(directory, ignore_errors=True)


def _answers(port: int) -> bool:
    try:
        return call(port, "GET", "/healthz").status == 200
    except OSError:
        return False

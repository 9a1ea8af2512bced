"""The scale-out topology, for real, in a temporary directory: a scratch PostgreSQL primary, a
hot standby streaming from it (pg_basebackup -R), PgBouncer in transaction mode in front of
the primary, and Atrium processes (gunicorn for the API, uvicorn for the event stream) whose
DATABASE_URL is PgBouncer, DATABASE_DIRECT_URL the primary and DATABASE_REPLICA_URL the
standby (docs/scale-out.md, docs/deployment.md).

``running(plan)`` starts it, migrates past the pooler, seeds the demo data through it, and
tears everything down however the block ends (an error, Ctrl-C). Used by tests/scaleout,
``make rehearsal`` (rehearsal/__main__.py) and bench/bench_write_ceiling.py.

As root (CI) PostgreSQL and PgBouncer run as the ``postgres`` user through ``runuser``; they
refuse to run as root.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from rehearsal.client import answers

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "atrium_scale"
# Waits for a condition (WAL replayed, a server listening) give up after this long; an app
# process gets longer to start: importing Django on two cores shared with a dozen other
# processes took more than a minute.
PATIENCE_SECONDS = 60
STARTUP_PATIENCE_SECONDS = 180


class RehearsalError(Exception):
    """An operator's mistake or a missing part, said in one line (no traceback)."""


def postgres_bin() -> Path | None:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if all((candidate / tool).exists() for tool in ("initdb", "pg_ctl", "pg_basebackup")):
            return candidate
    return None


def pgbouncer_path() -> str | None:
    return shutil.which("pgbouncer") or next(
        (p for p in ("/usr/sbin/pgbouncer",) if Path(p).exists()), None
    )


def missing_part() -> str | None:
    """What this machine lacks to start the topology, in one sentence; None when nothing."""
    if postgres_bin() is None:
        return (
            "PostgreSQL's server binaries (initdb, pg_ctl, pg_basebackup under "
            "/usr/lib/postgresql/*/bin) are not installed: apt-get install postgresql."
        )
    if pgbouncer_path() is None:
        return "PgBouncer is not installed: apt-get install pgbouncer."
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "Running as root, PostgreSQL must run as the postgres user: runuser is missing."
    return None


def _as_postgres(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


def _run(command: list[str], **kwargs: Any) -> None:
    done = subprocess.run(  # noqa: S603 - our own fixed commands
        command, capture_output=True, text=True, timeout=300, **kwargs
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")


def wait_until(
    condition: Callable[[], bool], what: str, patience: float = PATIENCE_SECONDS
) -> None:
    deadline = time.monotonic() + patience
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"Gave up waiting for {what}.")
        time.sleep(0.1)


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def url(port: int, database: str = DATABASE) -> str:
    return f"postgres://postgres@127.0.0.1:{port}/{database}"


def sql(port: int, statement: str, params: Any = None) -> list[tuple]:
    """One statement on a server directly (never through the app), autocommit."""
    with psycopg.connect(url(port), autocommit=True, connect_timeout=5) as db:
        cursor = db.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


@dataclass(frozen=True)
class Ports:
    """The primary (the standby listens on the next port), PgBouncer, and the first app
    process (the others follow)."""

    primary: int
    pgbouncer: int
    first_app: int

    @property
    def replica(self) -> int:
        return self.primary + 1

    @classmethod
    def parse(cls, text: str) -> Ports:
        """``"5460,6440,8630"``: primary, PgBouncer, first app port."""
        try:
            primary, pgbouncer, first_app = (int(part) for part in text.split(","))
        except ValueError:
            raise RehearsalError(
                f"Ports {text!r}: expected three numbers, PRIMARY,PGBOUNCER,FIRST_APP"
                " (e.g. 5460,6440,8630)."
            ) from None
        return cls(primary, pgbouncer, first_app)


@dataclass(frozen=True)
class App:
    """One Atrium process: gunicorn (the API, WSGI) or uvicorn (the event stream, ASGI);
    ``env`` adds to the plan's environment. ``spread``: the checks spread their concurrent
    requests over it (Topology.app_ports)."""

    port: int
    env: dict[str, str] = field(default_factory=dict)
    server: str = "gunicorn"
    workers: int = 2
    spread: bool = True


@dataclass(frozen=True)
class Plan:
    ports: Ports
    apps: tuple[App, ...]
    # Every Atrium process's settings module and environment (besides the database URLs).
    settings: str = "config.settings.bench"
    env: dict[str, str] = field(default_factory=dict)
    replica: bool = True
    # A scratch cluster skips fsync by default: durability buys nothing here and costs the
    # shared disk. A benchmark of writes keeps it, as production does.
    fsync: bool = False
    max_connections: int = 80

    def every_port(self) -> list[int]:
        ports = [self.ports.primary, self.ports.pgbouncer, *(app.port for app in self.apps)]
        return ports + ([self.ports.replica] if self.replica else [])


def production_env() -> dict[str, str]:
    """What config.settings.production refuses to start without, made up for one run, and
    plain HTTP on the loopback (the load balancer's TLS is not part of the rehearsal)."""
    return {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        # seed_demo's staff accounts have a public password: allowed on this scratch cluster.
        "DEMO_DATA_ALLOWED": "true",
    }


@dataclass
class Topology:
    plan: Plan
    directory: Path
    postgres_bin: Path
    processes: dict[int, subprocess.Popen] = field(default_factory=dict)

    @property
    def app_ports(self) -> tuple[int, ...]:
        return tuple(app.port for app in self.plan.apps if app.spread)

    @property
    def primary_port(self) -> int:
        return self.plan.ports.primary

    @property
    def replica_port(self) -> int:
        return self.plan.ports.replica

    def pg_ctl(self, cluster: str, action: str) -> None:
        _run(
            _as_postgres(
                [
                    str(self.postgres_bin / "pg_ctl"),
                    "-D",
                    str(self.directory / cluster),
                    "-l",
                    str(self.directory / f"{cluster}.log"),
                    "-w",
                    "-m",
                    "fast",
                    action,
                ]
            )
        )

    def primary(self, statement: str, params: Any = None) -> list[tuple]:
        return sql(self.primary_port, statement, params)

    def replica(self, statement: str, params: Any = None) -> list[tuple]:
        return sql(self.replica_port, statement, params)

    def replica_streaming(self) -> bool:
        try:
            return self.replica("SELECT count(*) FROM pg_stat_wal_receiver")[0][0] == 1
        except psycopg.OperationalError:
            return False

    def replica_caught_up(self) -> bool:
        (lsn,) = self.primary("SELECT pg_current_wal_lsn()::text")[0]
        return self.replica("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn])[0][0]

    def replica_received_everything(self) -> bool:
        (lsn,) = self.primary("SELECT pg_current_wal_lsn()::text")[0]
        return self.replica("SELECT pg_last_wal_receive_lsn() >= %s::pg_lsn", [lsn])[0][0]

    @contextlib.contextmanager
    def replay_paused(self) -> Iterator[None]:
        """The standby receives WAL but applies none of it until the block ends."""
        self.replica("SELECT pg_wal_replay_pause()")
        try:
            yield
        finally:
            self.replica("SELECT pg_wal_replay_resume()")
        wait_until(self.replica_caught_up, "the replica to replay again")

    def pgbouncer_clients(self) -> int:
        """How many client connections PgBouncer holds for Atrium's database now."""
        # The admin console speaks the simple query protocol only: a client-side cursor uses it.
        with psycopg.connect(
            url(self.plan.ports.pgbouncer, "pgbouncer"),
            autocommit=True,
            cursor_factory=psycopg.ClientCursor,
        ) as admin:
            cursor = admin.execute("SHOW CLIENTS")
            columns = [column.name for column in cursor.description or ()]
            rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        return sum(1 for row in rows if row["database"] == DATABASE)

    def app_env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        inherited = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DATABASE_", "DJANGO_", "REDIS_"))
        }
        ports = self.plan.ports
        return {
            **inherited,
            "DJANGO_SETTINGS_MODULE": self.plan.settings,
            "DATABASE_URL": url(ports.pgbouncer),
            "DATABASE_DIRECT_URL": url(ports.primary),
            **({"DATABASE_REPLICA_URL": url(ports.replica)} if self.plan.replica else {}),
            "LOG_LEVEL": "WARNING",
            **self.plan.env,
            **(extra or {}),
        }

    def manage(self, *args: str) -> None:
        _run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.app_env())

    def start_app(self, app: App) -> None:
        if app.server == "gunicorn":
            command = [
                str(Path(sys.executable).parent / "gunicorn"),
                "config.wsgi:application",
                "-w",
                str(app.workers),
                "-b",
                f"127.0.0.1:{app.port}",
                # Every gunicorn on a machine shares one control socket path by default.
                "--no-control-socket",
            ]
        else:
            command = [
                sys.executable,
                "-m",
                "uvicorn",
                "config.asgi:application",
                "--port",
                str(app.port),
                "--no-access-log",
                "--timeout-graceful-shutdown",
                "2",
            ]
        with (self.directory / f"{app.server}-{app.port}.log").open("w") as log:
            self.processes[app.port] = subprocess.Popen(  # noqa: S603 - from this venv
                command,
                cwd=ROOT,
                env=self.app_env(app.env),
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def log_tail(self, name: str, chars: int = 2000) -> str:
        path = self.directory / name
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _write_primary_config(plan: Plan, data: Path, sockets: Path) -> None:
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(
            f"""
port = {plan.ports.primary}
listen_addresses = '127.0.0.1'
unix_socket_directories = '{sockets}'
max_connections = {plan.max_connections}
shared_buffers = 32MB
wal_level = replica
max_wal_senders = 4
fsync = {"on" if plan.fsync else "off"}
full_page_writes = {"on" if plan.fsync else "off"}
hot_standby_feedback = on
# What each statement cost, and where it ran: the standby, whose configuration this becomes,
# counts the reads it serves (rehearsal/invariants.py).
shared_preload_libraries = 'pg_stat_statements'
"""
        )


def _write_pgbouncer_config(plan: Plan, directory: Path) -> Path:
    (directory / "userlist.txt").write_text('"postgres" ""\n')
    config = directory / "pgbouncer.ini"
    config.write_text(
        f"""[databases]
{DATABASE} = host=127.0.0.1 port={plan.ports.primary} dbname={DATABASE}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {plan.ports.pgbouncer}
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


@contextlib.contextmanager
def running(plan: Plan, progress: Callable[[str], None] = lambda _: None) -> Iterator[Topology]:
    """The topology of ``plan``, up and seeded; stopped and removed however the block ends.
    RehearsalError (one line) when a part is missing or a port is taken."""
    postgres, pgbouncer = postgres_bin(), pgbouncer_path()
    if (problem := missing_part()) or postgres is None or pgbouncer is None:
        raise RehearsalError(problem or "PostgreSQL or PgBouncer is missing.")
    taken = [port for port in plan.every_port() if not port_free(port)]
    if taken:
        raise RehearsalError(
            f"Port{'s' if len(taken) > 1 else ''} {', '.join(map(str, taken))} already in use:"
            " another rehearsal still running, or choose others."
        )

    directory = Path(tempfile.mkdtemp(prefix="atrium-scaleout-"))
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    topology = Topology(plan, directory, postgres)
    pooler: subprocess.Popen | None = None
    started: list[str] = []
    # Ctrl-C (SIGINT) already raises KeyboardInterrupt; SIGTERM must unwind the same way so
    # the clusters are stopped, not orphaned.
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        progress(f"primary: initdb, port {plan.ports.primary}")
        _run(
            _as_postgres(
                [
                    str(postgres / "initdb"),
                    "-D",
                    str(directory / "primary"),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--no-sync",
                ]
            )
        )
        _write_primary_config(plan, directory / "primary", directory)
        topology.pg_ctl("primary", "start")
        started.append("primary")
        with psycopg.connect(url(plan.ports.primary, "postgres"), autocommit=True) as db:
            db.execute(f"CREATE DATABASE {DATABASE}")
        sql(plan.ports.primary, "CREATE EXTENSION pg_stat_statements")

        if plan.replica:
            progress(f"replica: pg_basebackup -R, port {plan.ports.replica}")
            _run(
                _as_postgres(
                    [
                        str(postgres / "pg_basebackup"),
                        "-h",
                        "127.0.0.1",
                        "-p",
                        str(plan.ports.primary),
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
                conf.write(f"port = {plan.ports.replica}\n")
            topology.pg_ctl("replica", "start")
            started.append("replica")

        progress(f"PgBouncer: transaction mode, port {plan.ports.pgbouncer}")
        config = _write_pgbouncer_config(plan, directory)
        if os.geteuid() == 0:
            shutil.chown(config, "postgres")
        # Its log is the file the configuration names; stderr would repeat it.
        pooler = subprocess.Popen(  # noqa: S603
            _as_postgres([pgbouncer, "-q", str(config)]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: not port_free(plan.ports.pgbouncer), "PgBouncer to listen")

        progress("migrate --database direct (past the pooler), seed_demo (through it)")
        topology.manage("migrate", "--database", "direct", "--noinput", "-v", "0")
        topology.manage("seed_demo")

        progress(
            "app processes: "
            + ", ".join(f"{app.server} x{app.workers} on {app.port}" for app in plan.apps)
        )
        for app in plan.apps:
            topology.start_app(app)
        for app in plan.apps:
            wait_until(
                functools.partial(_alive_and_answering, topology, app.port),
                f"the Atrium process on {app.port} to answer",
                STARTUP_PATIENCE_SECONDS,
            )
        if plan.replica:
            wait_until(topology.replica_caught_up, "the replica to replay the seed data")
        yield topology
    finally:
        for process in reversed(list(topology.processes.values())):
            _stop(process)
        topology.processes.clear()
        if pooler is not None:
            _stop(pooler)
        for cluster in reversed(started):
            # Already stopped by a check that failed before starting it again.
            with contextlib.suppress(RuntimeError):
                topology.pg_ctl(cluster, "stop")
        signal.signal(signal.SIGTERM, previous)
        shutil.rmtree(directory, ignore_errors=True)


def _alive_and_answering(topology: Topology, port: int) -> bool:
    process = topology.processes[port]
    if process.poll() is not None:
        log = topology.log_tail(f"gunicorn-{port}.log") or topology.log_tail(f"uvicorn-{port}.log")
        raise RehearsalError(f"The Atrium process on {port} exited ({process.returncode}):\n{log}")
    return answers(port)


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt

"""A scratch PostgreSQL cluster of a test's own (initdb in a temporary directory), to stop,
start and restart under a running Atrium: tests/ops/test_database_outage.py and
tests/events/test_stream_restart.py."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_BIN = Path("/usr/lib/postgresql/15/bin")

needs_server_binaries = pytest.mark.skipif(
    not (PG_BIN / "initdb").exists(), reason="PostgreSQL 15's server binaries are not installed"
)

# PostgreSQL's server refuses to run as root: as root, its commands run as "postgres".
AS_SERVER_USER = ("runuser", "-u", "postgres", "--") if os.geteuid() == 0 else ()


def run(*command: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(command, capture_output=True, env=env, check=False)  # noqa: S603
    assert done.returncode == 0, f"{command[:6]}… failed:\n{done.stdout!r}\n{done.stderr!r}"
    return done.stdout.decode()


class Cluster:
    def __init__(self, directory: Path, port: int):
        self.data = directory / "data"
        self.socket = directory
        self.log = directory / "postgres.log"
        self.port = port

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def pg_ctl(self, *args: str) -> None:
        try:
            run(
                *AS_SERVER_USER,
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-w",
                # pg_ctl's own wait, 60 s by default, is generous but for a machine under load.
                "-t",
                "180",
                *args,
            )
        except AssertionError as failure:
            log = self.log.read_text() if self.log.exists() else "(no log)"
            raise AssertionError(f"{failure}\nthe server's log ends:\n{log[-2000:]}") from None

    def _options(self) -> tuple[str, str]:
        return "-o", f"-p {self.port} -k {self.socket} -c listen_addresses=127.0.0.1"

    def start(self) -> None:
        self.pg_ctl(*self._options(), "start")

    def stop(self) -> None:
        self.pg_ctl("-m", "fast", "stop")

    def restart(self) -> None:
        """A fast restart: every connection is cut, open transactions roll back."""
        self.pg_ctl(*self._options(), "-m", "fast", "restart")


@contextlib.contextmanager
def scratch_cluster(port: int) -> Iterator[Cluster]:
    """A new cluster, started on ``port`` (trust authentication, user postgres); removed
    afterwards."""
    # Not pytest's tmp_path: its parents are private to the user running the tests.
    directory = Path(tempfile.mkdtemp(prefix="atrium-cluster-"))
    if AS_SERVER_USER:
        shutil.chown(directory, user="postgres")
    cluster = Cluster(directory, port)
    run(
        *AS_SERVER_USER,
        str(PG_BIN / "initdb"),
        "-D",
        str(cluster.data),
        "-U",
        "postgres",
        "--auth=trust",
    )
    cluster.start()
    try:
        yield cluster
    finally:
        if (cluster.data / "postmaster.pid").exists():
            cluster.stop()
        shutil.rmtree(directory, ignore_errors=True)

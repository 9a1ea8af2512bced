"""``make rehearsal`` (python -m rehearsal) tells an operator's mistake in one line and starts
nothing; the rehearsal itself is tests/scaleout/test_scaleout.py's invariants."""

import socket
import subprocess
import sys

import pytest

from rehearsal.topology import ROOT, missing_part

pytestmark = pytest.mark.scaleout


def _rehearse(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - this venv's python, our arguments
        [sys.executable, "-m", "rehearsal", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_ports_that_are_not_three_numbers_are_one_line():
    done = _rehearse("--ports", "5480,6450")

    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "rehearsal: Ports '5480,6450': expected three numbers, PRIMARY,PGBOUNCER,FIRST_APP"
        " (e.g. 5460,6440,8630)."
    ]


def test_a_port_in_use_is_one_line_and_nothing_is_started():
    if problem := missing_part():
        pytest.skip(problem)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        done = _rehearse("--ports", f"{port},{port + 1},{port + 2}")

    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith("rehearsal: Port") and f"{port}" in line and "already in use" in line
    assert "initdb" not in done.stdout

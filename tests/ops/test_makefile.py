"""`make demo` serves on the port asked for, after `migrate` alone prepares the database."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _demo_commands(*args: str) -> str:
    # -n prints the recipe without running it.
    return subprocess.run(  # noqa: S603
        ["make", "-n", "demo", *args],  # noqa: S607
        cwd=ROOT,
        # A PORT in the environment would be make's default.
        env={k: v for k, v in os.environ.items() if k != "PORT"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_make_demo_serves_on_port_8000_by_default():
    assert "--host 127.0.0.1 --port 8000" in _demo_commands()


def test_make_demo_serves_on_the_port_given():
    commands = _demo_commands("PORT=8001")

    assert "--host 127.0.0.1 --port 8001" in commands
    assert "http://127.0.0.1:8001" in commands  # links in emails point at it


def test_make_demo_needs_no_step_beside_migrate_for_the_schema():
    commands = _demo_commands()

    assert "manage.py migrate" in commands
    assert "createcachetable" not in commands

"""A database outage, for real: a scratch PostgreSQL cluster of the test's own (initdb in a
temporary directory) behind Atrium under gunicorn, stopped and started again between requests.

What must hold (docs/operations.md, "When PostgreSQL goes away"): /healthz answers 200
throughout and never needs the database; /readyz answers 503 naming the database while it is
down; every API request during the outage is answered, with 503 problem+json and Retry-After,
none held until the client gives up; the first request after the database returns succeeds.
Counts and statuses are asserted, never times: the client's timeout is only a guard.
"""

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bench.harness import gunicorn
from tests.ops.cluster import needs_server_binaries, run, scratch_cluster

PG_PORT = 5450
APP_PORT = 8120
ROOT = Path(__file__).resolve().parents[2]
# Long enough that only a hung request reaches it: a guard, not a measurement.
CLIENT_TIMEOUT = 30

pytestmark = needs_server_binaries


@pytest.fixture
def cluster():
    with scratch_cluster(PG_PORT) as cluster:
        yield cluster


@pytest.fixture
def atrium(cluster, tmp_path, monkeypatch):
    """Atrium under gunicorn (3 sync workers, production settings, the connection pool on),
    on a migrated database of the scratch cluster."""
    url = f"postgres://postgres@127.0.0.1:{PG_PORT}/atrium_outage"
    for name, value in {
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "config.settings.bench",
        "DATABASE_POOL": "true",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("REDIS_URL", raising=False)
    manage = [str(ROOT / ".venv" / "bin" / "python"), str(ROOT / "manage.py")]
    run(*manage, "ensure_database", env=dict(os.environ))
    run(*manage, "migrate", "--no-input", env=dict(os.environ))
    with gunicorn("config.wsgi:application", APP_PORT, tmp_path) as server:
        _wait_for(server)
        yield


def _get(path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(f"http://127.0.0.1:{APP_PORT}{path}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=CLIENT_TIMEOUT) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def _wait_for(server: subprocess.Popen) -> None:
    for _ in range(300):
        assert server.poll() is None, "gunicorn exited"
        try:
            _get("/healthz")
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    pytest.fail("gunicorn never answered")


def _me() -> tuple[int, dict[str, str], bytes]:
    # A token nobody holds: answering 401 means the session table was read.
    return _get("/api/v1/me", Authorization="Bearer not-a-session-anyone-holds")


def _problem(answer) -> dict:
    _, headers, body = answer
    assert headers["Content-Type"] == "application/problem+json", body
    return json.loads(body)


def test_a_database_outage_is_answered_at_once_and_recovered_from(atrium, cluster):
    assert [_get("/healthz")[0], _get("/readyz")[0], _me()[0]] == [200, 200, 401]

    cluster.stop()
    # More requests than workers, so every worker meets the outage.
    during = [_me() for _ in range(6)]
    health, ready = _get("/healthz"), _get("/readyz")

    assert [status for status, _, _ in during] == [503] * 6
    assert {_problem(answer)["code"] for answer in during} == {"database_unavailable"}
    assert {headers["Retry-After"] for _, headers, _ in during} == {"2"}
    assert health[0] == 200
    assert ready[0] == 503
    assert _problem(ready)["code"] == "database_unavailable"

    cluster.start()
    # Each of the first requests after the restart, whichever worker takes it, succeeds.
    after = [_me()[0] for _ in range(6)]

    assert after == [401] * 6
    assert _get("/readyz")[0] == 200

"""Real servers and a real SSE client for the stream's tests.

``StreamServer`` runs config/asgi.py under uvicorn in its own process, against the test
database, as production would run it; ``Stream`` reads its ``text/event-stream`` over a plain
HTTP connection, one message at a time.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
PATH = "/api/v1/events/stream"
# Each test signs its readers in just before they listen, and signing in is itself an event
# (to the user's own account): whether it reaches the new stream depends on whether the
# server's listener read it before the stream opened. The reading helpers leave it out.
SIGN_IN = "session.created"
# The server's rhythm in these tests: fast enough that a revoked credential or a quiet stream
# shows within a second.
TICK_SECONDS = 0.3


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class StreamServer:
    """One server process (uvicorn, config.asgi) on the test database, or on
    ``database_url``."""

    def __init__(
        self, log_dir: Path, *, database_url: str | None = None, port: int | None = None
    ) -> None:
        self.port = port or free_port()
        database = connection.settings_dict
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": database_url
            or (
                f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}"
                f"/{database['NAME']}"
            ),
            "EVENT_STREAM_HEARTBEAT_SECONDS": str(TICK_SECONDS),
            "EVENT_STREAM_RECHECK_SECONDS": str(TICK_SECONDS),
        }
        self.log = log_dir / f"uvicorn-{self.port}.log"
        self.process = subprocess.Popen(  # noqa: S603 — our own interpreter and arguments
            [
                sys.executable,
                "-m",
                "uvicorn",
                "config.asgi:application",
                "--port",
                str(self.port),
                "--no-access-log",
                "--timeout-graceful-shutdown",
                "2",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        self._wait_until_up()

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"uvicorn exited: {self.log.read_text()[-2000:]}")
            try:
                status, _ = self.request("GET", "/healthz")
            except OSError:
                time.sleep(0.1)
                continue
            if status == 200:
                return
        raise RuntimeError(f"uvicorn did not answer: {self.log.read_text()[-2000:]}")

    def request(
        self, method: str, path: str, *, token: str | None = None, body: Any = None
    ) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        client = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            client.request(method, path, body=json.dumps(body) if body else None, headers=headers)
            response = client.getresponse()
            content = response.read()
        finally:
            client.close()
        return response.status, json.loads(content) if content else None

    def stream(self, token: str | None, *, query: str = "", headers: dict | None = None) -> Stream:
        return Stream(self.port, token=token, query=query, headers=headers or {})

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@dataclass
class Message:
    event: str | None = None
    id: int | None = None
    data: Any = None
    comments: list[str] = field(default_factory=list)


class Stream:
    """An open ``GET /api/v1/events/stream``, read message by message."""

    def __init__(self, port: int, *, token: str | None, query: str, headers: dict) -> None:
        self.client = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        if token:
            headers = {"Authorization": f"Bearer {token}", **headers}
        self.client.request("GET", PATH + query, headers=headers)
        self.response = self.client.getresponse()
        self.status = self.response.status

    def body(self) -> Any:
        return json.loads(self.response.read())

    def next(self, timeout: float = 5.0) -> Message | None:
        """The next message or comment block; None when the server ended the stream."""
        assert self.client.sock is not None
        self.client.sock.settimeout(timeout)
        message, seen = Message(), False
        while True:
            line = self.response.readline()
            if not line:
                return None
            text = line.decode().rstrip("\n")
            if not text:
                if seen:
                    return message
                continue
            seen = True
            name, _, value = text.partition(":")
            value = value.removeprefix(" ")
            if name == "":
                message.comments.append(value)
            elif name == "id":
                message.id = int(value)
            elif name == "event":
                message.event = value
            elif name == "data":
                message.data = json.loads(value)

    def events(self, count: int, *, timeout: float = 5.0) -> list[Message]:
        """The next ``count`` events, skipping comments and the opening ``retry:``."""
        found: list[Message] = []
        while len(found) < count:
            message = self.next(timeout)
            assert message is not None, f"the stream ended after {found}"
            if message.event not in (None, SIGN_IN):
                found.append(message)
        return found

    def quiet(self, *, ticks: int = 3) -> list[Message]:
        """The events that arrive before ``ticks`` keep-alive comments in a row: what a
        stream carries once nothing more is coming for it."""
        found: list[Message] = []
        quiet = 0
        while quiet < ticks:
            message = self.next(timeout=5 * TICK_SECONDS + 2)
            assert message is not None, "the stream ended"
            if message.event not in (None, SIGN_IN):
                found.append(message)
                quiet = 0
            elif "keep-alive" in message.comments:
                quiet += 1
        return found

    def close(self) -> None:
        self.client.close()

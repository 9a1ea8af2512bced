"""A real HTTP server for webhook tests and the benchmark: answers each POST with the next
scripted status (then 200) and keeps what it received."""

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# This helper's ports (docs/contributing.md: one range per engineer).
PORTS = range(8110, 8120)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    server: ThreadingHTTPServer
    statuses: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hooks"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_receiver(statuses: list[int] | None = None) -> Receiver:
    """Listens on the first free port of PORTS, in a thread."""
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real receivers do

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            receiver.received.append(Received(self.path, dict(self.headers), body))
            status = receiver.statuses.pop(0) if receiver.statuses else 200
            answer = b'{"ok": true}'
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: object) -> None:
            pass

    for port in PORTS:
        try:
            server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
            break
        except OSError:
            continue
    else:
        raise OSError(f"no free port in {PORTS}")
    server.daemon_threads = True
    receiver = Receiver(server=server, statuses=list(statuses or []))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver

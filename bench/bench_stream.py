"""What the live event stream costs: memory per idle stream, commit-to-delivery latency with many
listeners of one busy conversation, and how fast a client resumes from the table.

Run: .venv/bin/python bench/bench_stream.py [--streams 1000] [--rate 50] [--seconds 20]

Needs PostgreSQL on 127.0.0.1:5432 (database atrium_bench_stream, created and filled here).
One uvicorn process serves config/asgi.py with the bench settings (production's middleware and
authentication). A second process (bench/stream_clients.py) opens the streams: every reader is a
participant of one conversation, and the first ``--measured`` of them note when each message
arrives (the others read and discard, as idle clients of a busy room would). This process posts
messages through the chat service at ``--rate`` per second, noting when each commits.

Floors, printed beside: memory per open stream of a bare ASGI SSE application under the same
uvicorn (bench/floor_stream.py), and the latency of PostgreSQL's NOTIFY itself reaching a bare
client (the lower bound of any LISTEN-based design). Targets (issue): 1,000 idle streams in one
process under 200 MB; p99 commit-to-delivery under 250 ms at 50 messages/s into a conversation
with 1,000 listeners.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import ROOT, bench_lock, manage, percentile

DATABASE_URL = "postgres://postgres@127.0.0.1:5432/atrium_bench_stream"
SETTINGS_MODULE = "config.settings.bench"
PORT = 8175
FLOOR_PORT = 8176
STREAM_PATH = "/api/v1/events/stream"


def setup_django() -> None:
    os.environ["DATABASE_URL"] = DATABASE_URL
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    manage("ensure_database")
    manage("migrate", "--noinput", "-v0")
    manage("sync_permissions", "-v0")
    import django

    django.setup()


def prepare(readers: int):
    """A conversation of ``readers`` members plus a poster, each reader with a session token."""
    from accounts.models import Role, User, UserRole
    from accounts.services import credentials
    from chat.models import Conversation, Participant
    from core.context import SYSTEM

    member = Role.objects.get(name="member")
    users = User.objects.bulk_create(
        User(email=f"stream-{index}-{time.time_ns()}@bench.invalid") for index in range(readers + 1)
    )
    UserRole.objects.bulk_create(UserRole(user=user, role=member) for user in users)
    conversation = Conversation.objects.create(title="The busy room")
    poster, *listeners = users
    Participant.objects.bulk_create(
        Participant(
            conversation=conversation, user=user, role="owner" if user is poster else "member"
        )
        for user in users
    )
    tokens = [credentials.session_create(user=user, context=SYSTEM)[1] for user in listeners]
    return conversation, poster, tokens


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def serve(app: str, port: int, log_dir: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": DATABASE_URL, "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
            "--backlog",
            "4096",
            # Open streams never end on their own: give them 2 s, not forever, at shutdown.
            "--timeout-graceful-shutdown",
            "2",
        ],
        cwd=ROOT,
        env=env,
        stdout=(log_dir / f"{port}.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    time.sleep(3)
    if process.poll() is not None:
        raise SystemExit((log_dir / f"{port}.log").read_text())
    return process


def clients(port: int, tokens: list[str], *, measured: int, listen: str | None = None):
    command = [
        sys.executable,
        str(ROOT / "bench" / "stream_clients.py"),
        "--port",
        str(port),
        "--measured",
        str(measured),
    ]
    if listen:
        command += ["--listen", listen]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    process.stdin.write(json.dumps(tokens) + "\n")
    process.stdin.flush()
    if process.stdout.readline().strip() != "open":
        raise SystemExit("the clients could not open their streams")
    return process


def idle_memory(app: str, port: int, tokens: list[str], log_dir: Path) -> tuple[int, int]:
    """The server's RSS (KiB) with one stream open, then with all of them."""
    server = serve(app, port, log_dir)
    try:
        warm = clients(port, tokens[:1], measured=0)
        time.sleep(1)
        one = rss_kib(server.pid)
        warm.stdin.write("go\n")
        warm.stdin.flush()
        warm.wait(10)
        many = clients(port, tokens, measured=0)
        time.sleep(2)
        all_open = rss_kib(server.pid)
        many.stdin.write("go\n")
        many.stdin.flush()
        many.wait(30)
        return one, all_open
    finally:
        server.terminate()
        server.wait(10)


def fan_out(conversation, poster, tokens, *, rate: int, seconds: int, measured: int, log_dir):
    from chat.services.messages import message_post
    from core import events, postgres
    from core.context import SYSTEM

    event_of: dict[str, str] = {}
    events.receiver(lambda said: event_of.__setitem__(said.object_id, str(said.event_id)))
    server = serve("config.asgi:application", PORT, log_dir)
    try:
        readers = clients(PORT, tokens, measured=measured, listen=postgres.direct_conninfo())
        time.sleep(1)
        committed: dict[str, float] = {}
        cpu_before = cpu_seconds(server.pid)
        readers.stdin.write("go\n")
        readers.stdin.flush()
        interval, next_at = 1 / rate, time.monotonic()
        for index in range(rate * seconds + 1):
            last = index == rate * seconds
            message = message_post(
                conversation_id=conversation.pk,
                sender=poster,
                content="END" if last else f"message {index}",
                context=SYSTEM,
            )
            committed[str(message.pk)] = time.time()
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))
        report = json.loads(readers.stdout.readline())
        cpu = cpu_seconds(server.pid) - cpu_before
        readers.wait(30)
        rss = rss_kib(server.pid)
    finally:
        server.terminate()
        server.wait(10)
    delivered = [
        (arrived - committed[message_id]) * 1000
        for arrivals in report["streams"]
        for message_id, arrived in arrivals.items()
        if message_id in committed
    ]
    notified = [
        (report["notified"][event_of[message_id]] - at) * 1000
        for message_id, at in committed.items()
        if event_of.get(message_id) in report["notified"]
    ]
    expected = len(committed) * measured
    return delivered, notified, expected, rss, cpu / (len(committed) * len(tokens))


def resume(tokens: list[str], log_dir: Path) -> tuple[int, float]:
    """One client replaying the whole log from ``after=0``: events and seconds."""
    import http.client

    server = serve("config.asgi:application", PORT, log_dir)
    try:
        client = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        started = time.perf_counter()
        client.request(
            "GET", STREAM_PATH + "?after=0", headers={"Authorization": f"Bearer {tokens[0]}"}
        )
        response = client.getresponse()
        count = 0
        while True:
            line = response.readline()
            if line.startswith(b"event: message.created"):
                count += 1
            if b'"content":"END"' in line:
                break
        return count, time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=50, help="messages per second")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--measured", type=int, default=20, help="streams that time arrivals")
    args = parser.parse_args()
    with bench_lock():
        setup_django()
        conversation, poster, tokens = prepare(args.streams)
        log_dir = Path(tempfile.mkdtemp(prefix="bench-stream-"))
        print(
            f"bench_stream: {os.cpu_count()} CPUs, {args.streams} streams, "
            f"{args.rate} messages/s for {args.seconds}s; logs in {log_dir}"
        )

        one, many = idle_memory("config.asgi:application", PORT, tokens, log_dir)
        floor_one, floor_many = idle_memory(
            "bench.floor_stream:application", FLOOR_PORT, tokens, log_dir
        )
        per = (many - one) / (len(tokens) - 1)
        floor_per = (floor_many - floor_one) / (len(tokens) - 1)
        print(
            f"idle streams   Atrium: {many / 1024:.0f} MB RSS with {len(tokens)} open "
            f"({one / 1024:.0f} MB with one), {per:.1f} KiB per stream | floor (bare ASGI SSE): "
            f"{floor_many / 1024:.0f} MB, {floor_per:.1f} KiB per stream"
        )

        delivered, notified, expected, rss, cpu_per_delivery = fan_out(
            conversation,
            poster,
            tokens,
            rate=args.rate,
            seconds=args.seconds,
            measured=args.measured,
            log_dir=log_dir,
        )
        print(
            f"fan-out        {len(delivered)}/{expected} deliveries timed on {args.measured} of "
            f"{len(tokens)} streams: commit-to-delivery p50 {percentile(delivered, 0.5):.1f} ms, "
            f"p99 {percentile(delivered, 0.99):.1f} ms, max {max(delivered):.1f} ms; "
            f"server RSS after {rss / 1024:.0f} MB, server CPU {cpu_per_delivery * 1e6:.1f} µs "
            f"per delivery (one event to one stream)"
        )
        print(
            f"               floor (NOTIFY to a bare LISTEN client): p50 "
            f"{percentile(notified, 0.5):.1f} ms, p99 {percentile(notified, 0.99):.1f} ms"
        )

        count, seconds = resume(tokens, log_dir)
        print(
            f"resume         {count} events replayed from after=0 in {seconds:.2f}s: "
            f"{count / seconds:.0f} events/s"
        )


if __name__ == "__main__":
    main()

"""What chat costs at scale: under gunicorn, 16 concurrent clients with bearer tokens,

  (a) the newest 50 messages of a conversation,
  (b) a page 10,000 messages deep, by cursor,
  (c) posting a message,
  (d) listing my conversations,

for three contenders alternated in rounds: Atrium, the floor (bench/floor_chat.py: a bare WSGI
function running the same SQL through psycopg and answering the same bytes) and the stock
version (bench/stock_chat.py: ModelViewSet + ModelSerializer + PageNumberPagination). (a) is
also run against a database of 10,000 messages, to show it costs the same there.

Run: .venv/bin/python bench/bench_chat.py [--rounds 3] [--duration 8] [--cache redis|database]

Needs PostgreSQL on 127.0.0.1:5432, Redis on 127.0.0.1:6379 (unless --cache database) and wrk.
The databases atrium_bench_chat (10 million messages) and atrium_bench_chat_10k are created,
migrated and loaded with ``manage.py seed_chat_scale`` when they hold no chat data yet (the
large one takes about ten minutes). Ports 8110 to 8113. Method: README.md, "Performance".
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import (
    ROOT,
    Contender,
    Endpoint,
    LoadResult,
    announce,
    bench_lock,
    gunicorn,
    redis_url,
    report,
    sweep,
    wait_for_answer,
    warn_if_busy,
    wrk,
)

SERVER = "postgres://postgres@127.0.0.1:5432/"
REDIS_URL = redis_url(14)
BENCH_EMAIL = "bench-chat@bench.invalid"


@dataclass(frozen=True)
class DataSet:
    database: str
    users: int
    conversations: int
    messages: int

    @property
    def url(self) -> str:
        return SERVER + self.database


LARGE = DataSet("atrium_bench_chat", 10_000, 100_000, 10_000_000)
SMALL = DataSet("atrium_bench_chat_10k", 1_000, 1_000, 10_000)
# Atrium on the database of 10,000 messages, beside the newest page on 10 million.
SMALL_SCENARIO = "(a) newest 50, 10k messages"
PORTS = {"atrium": 8110, "floor": 8111, "stock": 8112, "atrium 10k": 8113}
WARM_UP_SECONDS = 2
DEEP = 10_000
OTHER_CONVERSATIONS = 48
POST_BODY = {"content": "Bench: a message of an ordinary length, posted under load."}


# --- data -----------------------------------------------------------------------------------


def manage(data: DataSet, *args: str, capture: bool = False) -> str:
    env = {**os.environ, "DATABASE_URL": data.url}
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        text=True,
        stdout=subprocess.PIPE if capture else None,
    )
    return done.stdout or ""


def prepare(data: DataSet) -> dict:
    """Migrates and loads ``data`` if it holds no chat data yet, then (re)makes the bench
    user's fixtures there; returns them (token, conversation ids, the deep cursor)."""
    manage(data, "ensure_database")
    manage(data, "migrate", "--noinput", "--verbosity", "0")
    manage(data, "createcachetable", "--verbosity", "0")
    manage(data, "sync_permissions")
    out = manage(
        data,
        "shell",
        "-c",
        f"from bench.bench_chat import fixtures; fixtures({DEEP})",
        capture=True,
    )
    fixture = json.loads(out.strip().splitlines()[-1])
    if fixture.get("load"):
        print(f"Loading {data.messages:,} messages into {data.database} (seed_chat_scale)...")
        manage(
            data,
            "seed_chat_scale",
            f"--users={data.users}",
            f"--conversations={data.conversations}",
            f"--messages={data.messages}",
        )
        out = manage(
            data,
            "shell",
            "-c",
            f"from bench.bench_chat import fixtures; fixtures({DEEP})",
            capture=True,
        )
        fixture = json.loads(out.strip().splitlines()[-1])
    return fixture


def fixtures(deep: int) -> None:
    """Run inside ``manage.py shell`` against one bench database: prints one JSON line.

    The bench user (a member with a profile and a fresh session) takes part in the busiest
    conversation (read), the next one (posted to) and 48 others, each read up to a few
    messages before its end."""
    from django.db import connection, transaction

    from accounts.models import ApiSession, Role, User, UserProfile, UserRole
    from accounts.services import credentials
    from chat.cursors import Cursor, Direction, Key
    from chat.models import Conversation, Message, Participant
    from core.context import SYSTEM

    busy = list(
        Conversation.objects.filter(title__in=["Busy room 0", "Busy room 1"]).order_by("title")
    )
    if len(busy) < 2:
        print(json.dumps({"load": True}))
        return
    with transaction.atomic():
        user = User.objects.filter(email=BENCH_EMAIL).first() or User.objects.create_user(
            BENCH_EMAIL, verified=True
        )
        UserProfile.objects.get_or_create(user=user, defaults={"display_name": "Bench"})
        UserRole.objects.get_or_create(user=user, role=Role.objects.get(name="member"))
        ApiSession.objects.filter(user=user).delete()
        others = list(
            Conversation.objects.filter(title__startswith="Scale chat").order_by("id")[
                :OTHER_CONVERSATIONS
            ]
        )
        for conversation in [*busy, *others]:
            read = (
                Message.objects.filter(conversation=conversation)
                .order_by("-sent_at", "-id")
                .values_list("pk", "sent_at")[3:4]
            )
            last_read = read[0] if read else (None, None)
            Participant.objects.update_or_create(
                conversation=conversation,
                user=user,
                defaults={
                    "role": "member",
                    "last_read_message_id": last_read[0],
                    "last_read_at": last_read[1],
                },
            )
    # A durable service: its own transaction, after the fixtures'.
    _, token = credentials.session_create(user=user, context=SYSTEM)
    # The key of the message ``deep`` rows down the busiest conversation: where a client
    # that paged that far would be. (The bench may use OFFSET; the API never does.)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sent_at, id FROM messages WHERE conversation_id = %s AND deleted_at IS NULL"
            " ORDER BY sent_at DESC, id DESC OFFSET %s LIMIT 1",
            [busy[0].pk, deep - 1],
        )
        row = cursor.fetchone()
    deep_cursor = Cursor(Direction.OLDER, Key(*row)).encode() if row else None
    print(
        json.dumps(
            {
                "token": token,
                "read": str(busy[0].pk),
                "post": str(busy[1].pk),
                "deep_cursor": deep_cursor,
            }
        )
    )


# --- servers and load -----------------------------------------------------------------------


@contextmanager
def environment(**values: str) -> Iterator[None]:
    """Sets environment variables for the processes started inside the block."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@dataclass(frozen=True)
class Scenario:
    name: str
    contenders: list[Contender]
    script: Path | None = None


def scenarios(large: dict, small: dict, post_script: Path) -> list[Scenario]:
    def base(name: str) -> str:
        return f"http://127.0.0.1:{PORTS[name]}"

    bearer, small_bearer = f"Bearer {large['token']}", f"Bearer {small['token']}"
    read = f"/api/v1/conversations/{large['read']}/messages"
    posts = f"/api/v1/conversations/{large['post']}/messages"
    deep = f"{read}?cursor={large['deep_cursor']}"
    return [
        Scenario(
            "(a) newest 50",
            [
                Contender("atrium", base("atrium") + read, bearer),
                Contender("floor", base("floor") + read, bearer),
                Contender("stock", base("stock") + f"/stock{read.removeprefix('/api/v1')}", bearer),
            ],
        ),
        Scenario(
            SMALL_SCENARIO,
            [
                Contender(
                    "atrium 10k",
                    base("atrium 10k") + f"/api/v1/conversations/{small['read']}/messages",
                    small_bearer,
                )
            ],
        ),
        Scenario(
            f"(b) {DEEP:,} deep",
            [
                Contender("atrium", base("atrium") + deep, bearer),
                Contender("floor", base("floor") + deep, bearer),
                Contender(
                    "stock",
                    base("stock") + f"/stock{read.removeprefix('/api/v1')}?page={DEEP // 50 + 1}",
                    bearer,
                ),
            ],
        ),
        Scenario(
            "(c) post",
            [
                Contender("atrium", base("atrium") + posts, bearer),
                Contender("floor", base("floor") + posts, bearer),
                Contender(
                    "stock", base("stock") + f"/stock{posts.removeprefix('/api/v1')}", bearer
                ),
            ],
            script=post_script,
        ),
        Scenario(
            "(d) my conversations",
            [
                Contender("atrium", base("atrium") + "/api/v1/conversations", bearer),
                Contender("floor", base("floor") + "/api/v1/conversations", bearer),
                Contender("stock", base("stock") + "/stock/conversations", bearer),
            ],
        ),
    ]


def check_bodies(scenario: Scenario, processes: dict) -> None:
    """Atrium and the floor answer the same JSON (links differ only by port)."""
    bodies = {}
    for contender in scenario.contenders:
        body = wait_for_answer(processes[contender.name], contender)
        bodies[contender.name] = body.decode().replace(f":{PORTS[contender.name]}/", ":PORT/")
    if "floor" in bodies and json.loads(bodies["atrium"]) != json.loads(bodies["floor"]):
        raise SystemExit(f"{scenario.name}: the floor's body differs from Atrium's.")
    sizes = ", ".join(f"{name} {len(body):,} B" for name, body in bodies.items())
    print(f"  {scenario.name}: bodies checked ({sizes})")


def settle(seconds: float = 30) -> None:
    """Waits until PostgreSQL has finished the previous contender's queries: the stock
    version's slow pages outlive the clients that gave up on them, and would otherwise be
    measured against whoever runs next."""
    import psycopg

    deadline = time.monotonic() + seconds
    with psycopg.connect(SERVER + "postgres", autocommit=True) as db:
        while time.monotonic() < deadline:
            busy = db.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = ANY(%s)"
                " AND state = 'active' AND pid <> pg_backend_pid()",
                [[LARGE.database, SMALL.database]],
            ).fetchone()[0]
            if not busy:
                return
            time.sleep(0.2)


def measure(contender: Contender, seconds: int, script: Path | None) -> LoadResult:
    settle()
    return wrk(contender, seconds, script=script)


# --- report ---------------------------------------------------------------------------------


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x"


def endpoint_of(scenario: Scenario) -> Endpoint:
    """A scenario as the harness sweeps it; Atrium on 10,000 messages is an endpoint of its
    own, without floor or stock."""
    atrium, *others = scenario.contenders
    by_name = {contender.name: contender for contender in others}
    script = scenario.script
    return Endpoint(
        scenario.name,
        atrium,
        by_name.get("floor"),
        by_name.get("stock"),
        (lambda contender: script) if script else None,
    )


def print_depth_and_size(results: dict) -> None:
    """What depth and table size cost Atrium, at 16 connections (medians over the rounds)."""

    def p50(name: str, kind: str = "atrium") -> float:
        return statistics.median(r.p50_ms for r in results[name, kind, 16])

    print(
        f"  (b) p50 / (a) p50: {_ratio(p50(f'(b) {DEEP:,} deep'), p50('(a) newest 50'))};"
        f" (a) p50 at 10k / at 10M: {_ratio(p50(SMALL_SCENARIO), p50('(a) newest 50'))}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", type=int, default=8, help="seconds of load per contender")
    parser.add_argument("--cache", choices=["redis", "database"], default="redis")
    args = parser.parse_args()

    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.bench"
    os.environ["REDIS_URL"] = REDIS_URL if args.cache == "redis" else ""
    announce(
        "bench_chat", args.rounds, args.duration, extra=f", throttles counting in {args.cache}"
    )

    with (
        bench_lock(),
        tempfile.TemporaryDirectory(prefix="atrium-bench-chat-") as tmp,
        ExitStack() as stack,
    ):
        large, small = prepare(LARGE), prepare(SMALL)
        if large["deep_cursor"] is None:
            raise SystemExit(f"The busiest conversation has fewer than {DEEP:,} messages.")
        post_script = Path(tmp) / "post.lua"
        post_script.write_text(
            'wrk.method = "POST"\n'
            f"wrk.body = {json.dumps(json.dumps(POST_BODY))}\n"
            'wrk.headers["Content-Type"] = "application/json"\n'
        )
        servers = {
            "atrium": ("config.wsgi:application", LARGE, "config.settings.bench"),
            "floor": ("bench.floor_chat:application", LARGE, "config.settings.bench"),
            "stock": ("config.wsgi:application", LARGE, "bench.stock_settings"),
            "atrium 10k": ("config.wsgi:application", SMALL, "config.settings.bench"),
        }
        processes = {}
        for name, (app, data, settings) in servers.items():
            with environment(DATABASE_URL=data.url, DJANGO_SETTINGS_MODULE=settings):
                processes[name] = stack.enter_context(gunicorn(app, PORTS[name], Path(tmp)))
        plan = scenarios(large, small, post_script)
        print("Servers:")
        for scenario in plan:
            if scenario.script is None:
                check_bodies(scenario, processes)
        for scenario in plan:
            for contender in scenario.contenders:
                measure(contender, WARM_UP_SECONDS, scenario.script)

        endpoints = [endpoint_of(scenario) for scenario in plan]
        servers = {
            f"http://127.0.0.1:{PORTS[name]}": process for name, process in processes.items()
        }
        busy = warn_if_busy()
        results = sweep(
            endpoints, servers, rounds=args.rounds, duration=args.duration, settle=settle
        )
        print_depth_and_size(results)
        report("chat", endpoints, results, busy=busy or warn_if_busy())


if __name__ == "__main__":
    main()

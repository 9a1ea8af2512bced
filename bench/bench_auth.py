"""What authentication costs: ``GET /api/v1/me`` with a session token and with an API key under
gunicorn, beside the floor (bench/floor_me.py, a bare WSGI function running the same lookup with
psycopg), and login latency beside a bare argon2 verify with Atrium's parameters.

Run: .venv/bin/python bench/bench_auth.py [--rounds 2] [--duration 8] [--cache redis|database]

Needs PostgreSQL on 127.0.0.1:5432 (database atrium_bench, created and migrated here), Redis on
127.0.0.1:6379 (unless --cache database) and wrk.
Method: docs/performance.md. Contenders run in alternation within each round, because the
machine is shared and noisy; compare the ratios of one round before the absolute figures.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import (
    CONNECTIONS,
    Contender,
    Endpoint,
    LoadResult,
    announce,
    atrium_floor_stock,
    bench_lock,
    manage,
    percentile,
    print_round,
    print_scaling,
    print_summary,
    redis_url,
    report,
    span,
    wait_for_answer,
    warn_if_busy,
    wrk,
)

DATABASE_SERVER = "postgres://postgres@127.0.0.1:5432/"
REDIS_URL = redis_url(14)
SETTINGS_MODULE = "config.settings.bench"
ME_PATH = "/api/v1/me"
STOCK_ME_PATH = "/stock/me"
LOGIN_PATH = "/api/v1/auth/login"

BENCH_EMAIL = "bench@bench.invalid"
BENCH_PASSWORD = "bench: correct horse battery staple"
# Enough other rows that finding the credential is a walk down a real B-tree, and that the
# user join does not hit a table of one.
FILLER_USERS = 1_000
FILLER_SESSIONS = 100_000
FILLER_API_KEYS = 10_000
FILLER_EMAIL_PATTERN = "filler-%@bench.invalid"

WARM_UP_SECONDS = 2
LOGINS_PER_ROUND = 40


@dataclass(frozen=True)
class Credentials:
    token: str
    api_key: str


@dataclass(frozen=True)
class LoginResult:
    login_p50_ms: float
    login_p99_ms: float
    argon2_p50_ms: float
    argon2_p99_ms: float


# --- Database and fixtures -----------------------------------------------------------------


def prepare_database() -> None:
    manage("ensure_database")
    manage("migrate", "--noinput", "--verbosity", "0")
    # Where the throttles count when --cache database is chosen.
    manage("createcachetable", "--verbosity", "0")


def prepare_fixtures() -> Credentials:
    """The bench user with a profile, a fresh session and API key (their secrets exist only in
    this process), and the filler rows. Safe to run again: the bench user's old credentials are
    dropped, since their secrets are gone anyway, and the filler is only topped up."""
    from django.db import connection, transaction

    from accounts.models import ApiKey, ApiSession, User, UserProfile
    from accounts.services import credentials
    from core.context import SYSTEM

    with transaction.atomic():
        user = User.objects.filter(email=BENCH_EMAIL).first() or User(email=BENCH_EMAIL)
        user.verified = True
        user.is_active = True
        user.totp_enabled = False
        # Hashed again each run, so the hash has the parameters the hasher has today.
        user.set_password(BENCH_PASSWORD)
        user.save()
        UserProfile.objects.get_or_create(user=user, defaults={"display_name": "Bench User"})
        ApiSession.objects.filter(user=user).delete()
        ApiKey.objects.filter(user=user).delete()
        with connection.cursor() as cursor:
            _fill(cursor)
    # Durable services: their own transactions, after the fixtures'.
    _, token = credentials.session_create(user=user, context=SYSTEM)
    _, api_key = credentials.api_key_create(user=user, name="bench", context=SYSTEM)
    connection.close_pool()
    return Credentials(token=token, api_key=api_key)


def _fill(cursor) -> None:
    cursor.execute(
        "INSERT INTO users (email, password_hash, verified)"
        " SELECT replace(%s, '%%', n::text), '!', true FROM generate_series(1, %s) n"
        " ON CONFLICT DO NOTHING",
        [FILLER_EMAIL_PATTERN, FILLER_USERS],
    )
    cursor.execute(
        "INSERT INTO user_profiles (user_id, display_name)"
        " SELECT id, email FROM users WHERE email LIKE %s ON CONFLICT DO NOTHING",
        [FILLER_EMAIL_PATTERN],
    )
    for table, target, columns, values in (
        ("sessions", FILLER_SESSIONS, "token, expires_at", "now() + interval '14 days'"),
        ("api_keys", FILLER_API_KEYS, "key, name", "'filler'"),
    ):
        cursor.execute(
            f"SELECT count(*) FROM {table} t JOIN users u ON u.id = t.user_id"
            " WHERE u.email LIKE %s",
            [FILLER_EMAIL_PATTERN],
        )
        missing = target - cursor.fetchone()[0]
        if missing <= 0:
            continue
        # Spread over the filler users; random digests, like real ones.
        cursor.execute(
            f"INSERT INTO {table} (user_id, {columns})"
            f" SELECT u.id, encode(sha256(gen_random_uuid()::text::bytea), 'hex'), {values}"
            " FROM generate_series(1, %s) g"
            " JOIN (SELECT id, row_number() OVER (ORDER BY id) AS i FROM users"
            "       WHERE email LIKE %s) u ON u.i = 1 + g %% %s",
            [missing, FILLER_EMAIL_PATTERN, FILLER_USERS],
        )
        cursor.execute(f"ANALYZE {table}")
    cursor.execute("ANALYZE users")
    cursor.execute("ANALYZE user_profiles")


# --- Servers --------------------------------------------------------------------------------


# --- Measurements ---------------------------------------------------------------------------


def login_timings(base_url: str, count: int) -> list[float]:
    """Milliseconds per POST /auth/login, one after the other, each with the right password
    (so the lockout never starts) and each opening a session."""
    body = json.dumps({"email": BENCH_EMAIL, "password": BENCH_PASSWORD}).encode()
    timings = []
    for _ in range(count):
        request = urllib.request.Request(
            base_url + LOGIN_PATH,
            data=body,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                response.read()
        except urllib.error.HTTPError as error:
            raise SystemExit(f"Login answered {error.code}: {error.read()[:500]!r}") from error
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def argon2_timings(count: int) -> list[float]:
    """Milliseconds per bare argon2id verify with the parameters of Atrium's hasher."""
    from argon2 import PasswordHasher
    from argon2.low_level import Type

    from accounts.hashers import AtriumArgon2PasswordHasher as Atrium

    hasher = PasswordHasher(
        time_cost=Atrium.time_cost,
        memory_cost=Atrium.memory_cost,
        parallelism=Atrium.parallelism,
        type=Type.ID,
    )
    encoded = hasher.hash(BENCH_PASSWORD)
    timings = []
    for _ in range(count):
        start = time.perf_counter()
        hasher.verify(encoded, BENCH_PASSWORD)
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def measure_login(base_url: str) -> LoginResult:
    logins = login_timings(base_url, LOGINS_PER_ROUND)
    verifies = argon2_timings(LOGINS_PER_ROUND)
    return LoginResult(
        login_p50_ms=statistics.median(logins),
        login_p99_ms=percentile(logins, 0.99),
        argon2_p50_ms=statistics.median(verifies),
        argon2_p99_ms=percentile(verifies, 0.99),
    )


# --- Report ---------------------------------------------------------------------------------


def print_login(login: LoginResult) -> None:
    print(
        f"  login ({LOGINS_PER_ROUND} sequential): p50 {login.login_p50_ms:.1f} ms,"
        f" p99 {login.login_p99_ms:.1f} ms; argon2 verify: p50 {login.argon2_p50_ms:.1f} ms,"
        f" p99 {login.argon2_p99_ms:.1f} ms; login beyond argon2 (p50):"
        f" {login.login_p50_ms - login.argon2_p50_ms:.1f} ms"
    )


def print_login_summary(logins: list[LoginResult]) -> None:
    print(
        f"  login p50 {span([x.login_p50_ms for x in logins], 1)} ms,"
        f" p99 {span([x.login_p99_ms for x in logins], 1)} ms;"
        f" argon2 verify p50 {span([x.argon2_p50_ms for x in logins], 1)} ms;"
        f" login beyond argon2 (p50)"
        f" {span([x.login_p50_ms - x.argon2_p50_ms for x in logins], 1)} ms"
    )


# --- Driver ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", type=int, default=8, help="seconds of load per contender")
    parser.add_argument(
        "--cache",
        choices=["redis", "database"],
        default="redis",
        help="where throttles count: Redis (production) or PostgreSQL (the fallback)",
    )
    parser.add_argument("--database", default="atrium_bench", help="the bench's own database")
    parser.add_argument(
        "--port", type=int, default=8100, help="Atrium's port; the floor and stock take the next"
    )
    args = parser.parse_args()

    # Every child (manage.py, the gunicorns) inherits these; the bench never touches another
    # database, whatever the shell says.
    os.environ["DATABASE_URL"] = DATABASE_SERVER + args.database
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    # Set either way, so a developer's .env never chooses; database 14 keeps bench counters
    # away from anything else on the machine's Redis.
    os.environ["REDIS_URL"] = REDIS_URL if args.cache == "redis" else ""
    # This process makes the fixtures and reads the hasher's parameters with Atrium's code.
    import django

    django.setup()
    announce("bench_auth", args.rounds, args.duration)

    prepare_database()
    credentials = prepare_fixtures()
    bearer, api_key = f"Bearer {credentials.token}", f"Api-Key {credentials.api_key}"
    atrium_url, floor_url, stock_url = (
        f"http://127.0.0.1:{args.port + offset}" for offset in range(3)
    )
    # Bearer tokens at every concurrency level (the scaling comparison); API keys at 16.
    scaled = [
        Contender("atrium bearer", atrium_url + ME_PATH, bearer),
        Contender("floor bearer", floor_url + ME_PATH, bearer),
        Contender("stock bearer", stock_url + STOCK_ME_PATH, bearer),
    ]
    keyed = [
        Contender("atrium api-key", atrium_url + ME_PATH, api_key),
        Contender("floor api-key", floor_url + ME_PATH, api_key),
    ]
    runs = [(c, n) for n in CONNECTIONS for c in scaled] + [(c, 16) for c in keyed]
    pairs = [
        *((f"atrium bearer c{n}", f"floor bearer c{n}") for n in CONNECTIONS),
        *((f"atrium bearer c{n}", f"stock bearer c{n}") for n in CONNECTIONS),
        ("atrium api-key c16", "floor api-key c16"),
    ]

    # Before the servers start: booting them is work of our own.
    busy = warn_if_busy()
    with (
        bench_lock(),
        tempfile.TemporaryDirectory(prefix="atrium-bench-") as log_dir,
        atrium_floor_stock("bench.floor_me:application", args.port, Path(log_dir)) as (
            atrium,
            floor,
            stock,
        ),
    ):
        print("Servers:")
        process_of = {atrium_url: atrium, floor_url: floor, stock_url: stock}

        def base_of(contender: Contender) -> str:
            return contender.url.split("/api/")[0].split("/stock/")[0]

        bodies = {c.name: wait_for_answer(process_of[base_of(c)], c) for c in [*scaled, *keyed]}
        for name in ("floor bearer", "stock bearer", "floor api-key"):
            expected = bodies["atrium " + name.split()[1]]
            if json.loads(bodies[name]) != json.loads(expected):
                raise SystemExit(
                    f"{name}'s body differs from Atrium's:\n{expected!r}\n{bodies[name]!r}"
                )
        for contender in [*scaled, *keyed]:
            wrk(contender, WARM_UP_SECONDS)

        rounds: list[dict[str, LoadResult]] = []
        logins: list[LoginResult] = []
        for number in range(1, args.rounds + 1):
            rounds.append(
                {
                    f"{c.name} c{n}": wrk(
                        c, args.duration, connections=n, server=process_of[base_of(c)]
                    )
                    for c, n in runs
                }
            )
            logins.append(measure_login(atrium_url))
            print_round(number, rounds[-1], pairs)
            print_login(logins[-1])
        print_summary(rounds, pairs)
        print_scaling(rounds, [c.name for c in scaled])
        print_login_summary(logins)
        me = Endpoint("GET /me", *scaled)
        results = {
            (me.name, contender.name.split()[0], n): [r[f"{contender.name} c{n}"] for r in rounds]
            for contender in scaled
            for n in CONNECTIONS
        }
        report("auth", [me], results, busy=busy or warn_if_busy())


if __name__ == "__main__":
    main()

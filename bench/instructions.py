"""Instructions per request, counted by valgrind's callgrind: what a code change costs or saves
on one request, unaffected by whatever else the machine is doing (seconds on a shared machine
are not).

Each path is requested in this process through the WSGI application exactly as gunicorn calls
it (production middleware, throttles counting in Redis, response iterated and closed), with a
session token of ``--email``. callgrind runs twice, with ``--warm-up`` requests and with
``--warm-up`` + ``--requests``; the difference divided by ``--requests`` is the figure, so
start-up and first-request costs stay out of it.

Run: .venv/bin/python bench/instructions.py [--database atrium_bench_perf] [--requests 200]
       [--email bench@bench.invalid] [--settings config.settings.bench]
       [--app bench.floor_me.application] PATH [PATH...]

PATH may be ``METHOD:/path`` with a JSON body after a second colon (``POST:/api/v1/x:{...}``).
The database must hold the user (bench/bench_auth.py makes ``bench@bench.invalid``).
"""

import argparse
import io
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# The throttles' counters; a shared machine gives each engineer a Redis database index.
REDIS_URL = "redis://127.0.0.1:6379/14"
_COLLECTED = re.compile(r"Collected : (\d+)")


def _request(application, method: str, path: str, body: bytes, authorization: str) -> int:
    path, _, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_AUTHORIZATION": authorization,
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    status = []
    response = application(environ, lambda s, headers, exc_info=None: status.append(s))
    try:
        for _ in response:
            pass
    finally:
        # PEP 3333: the server calls close() when the iterable has one.
        if hasattr(response, "close"):
            response.close()
    return int(status[0].split()[0])


def _parse(target: str) -> tuple[str, str, bytes]:
    method, sep, rest = target.partition(":")
    if not sep or not method.isupper():
        return "GET", target, b""
    path, _, body = rest.partition(":")
    return method, path, body.encode()


def inner(count: int, targets: list[str], app: str | None) -> None:
    """The measured process: ``count`` rounds of every target."""
    from django.core.wsgi import get_wsgi_application
    from django.utils.module_loading import import_string

    application = import_string(app) if app else get_wsgi_application()
    authorization = os.environ["BENCH_AUTHORIZATION"]
    parsed = [_parse(t) for t in targets]
    for _ in range(count):
        for method, path, body in parsed:
            status = _request(application, method, path, body, authorization)
            if status >= 400:
                raise SystemExit(f"{method} {path} answered {status}")


def _collected(count: int, args: argparse.Namespace, out_dir: str) -> int:
    result = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out_dir}/callgrind.{count}",
            sys.executable,
            __file__,
            f"--database={args.database}",
            f"--settings={args.settings}",
            f"--redis={args.redis}",
            *([f"--app={args.app}"] if args.app else []),
            "--inner",
            str(count),
            *args.targets,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    found = _COLLECTED.search(result.stderr)
    if result.returncode != 0 or found is None:
        raise SystemExit(f"callgrind failed:\n{result.stderr[-3000:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="+", metavar="PATH")
    parser.add_argument("--database", default="atrium_bench_perf")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warm-up", type=int, default=20)
    parser.add_argument("--email", default="bench@bench.invalid")
    parser.add_argument("--settings", default="config.settings.bench")
    parser.add_argument(
        "--app", help="another WSGI application to measure, e.g. bench.floor_me.application"
    )
    parser.add_argument("--redis", default=REDIS_URL, help="the throttles' Redis database")
    parser.add_argument("--keep", help="directory to keep the callgrind files in")
    parser.add_argument("--inner", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{args.database}"
    os.environ["DJANGO_SETTINGS_MODULE"] = args.settings
    os.environ["REDIS_URL"] = args.redis
    # Under valgrind everything runs ~50 times slower: the pool's 2 s wait for a connection
    # would turn a busy machine's slow connect into a 503.
    os.environ.setdefault("DATABASE_POOL_TIMEOUT", "60")
    import django

    django.setup()
    if args.inner is not None:
        inner(args.inner, args.targets, args.app)
        return

    from django.db import connection

    from accounts.models import User
    from accounts.services import credentials
    from core.context import SYSTEM

    _, token = credentials.session_create(user=User.objects.get(email=args.email), context=SYSTEM)
    connection.close_pool()
    os.environ["BENCH_AUTHORIZATION"] = f"Bearer {token}"
    with tempfile.TemporaryDirectory(prefix="atrium-callgrind-") as tmp:
        out_dir = args.keep or tmp
        base = _collected(args.warm_up, args, out_dir)
        total = _collected(args.warm_up + args.requests, args, out_dir)
    per_round = (total - base) / args.requests
    print(f"{per_round / 1e6:.3f}M instructions per round of {', '.join(args.targets)}")


if __name__ == "__main__":
    main()

"""What the documents endpoints cost at scale: reading a document, listing my documents,
updating a document (a new version) and a search, under gunicorn with 16 concurrent clients,
beside the floor (bench/floor_documents.py: a bare WSGI function sending the same SQL with
psycopg and answering the same JSON).

Run: .venv/bin/python bench/bench_documents.py [--rounds 2] [--duration 8]
     [--documents 100000] [--versions 20]

Needs PostgreSQL on 127.0.0.1:5432 (database atrium_bench_docs, created, migrated and loaded
here: the first run loads the documents with ``manage.py seed_documents_scale``, about two
minutes for 100,000 documents and 2 million versions; later runs reuse them), Redis on
127.0.0.1:6379 (the throttles count there, as in production) and wrk.

The bench user owns 2,000 of the documents and holds 200 live and 100 expired shares of
others'. Reads pick one of its documents at random per request; updates walk its documents,
each wrk thread its own half, sending the version the last answer gave, so no update is ever
refused as stale. Method: docs/performance.md; contenders alternate within each round.
"""

import argparse
import json
import os
import re
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import (
    Contender,
    Endpoint,
    announce,
    atrium_floor_stock,
    base_of,
    bench_lock,
    manage,
    redis_url,
    report,
    sweep,
    wait_for_answer,
    warn_if_busy,
    wrk,
)

DATABASE_SERVER = "postgres://postgres@127.0.0.1:5432/"
DATABASE = "atrium_bench_docs"
REDIS_URL = redis_url(13)
SETTINGS_MODULE = "config.settings.bench"
ATRIUM_PATH = "/api/v1/documents"
STOCK_PATH = "/stock/documents"
BENCH_EMAIL = "bench-docs@bench.invalid"
SEARCH_QUERY = "budget forecast"
WARM_UP_SECONDS = 2
UPDATE_SETTLE_SECONDS = 2
# wrk's thread count (bench.harness.WRK); the update script splits the documents by thread.
WRK_THREADS = 2
# About the size of a loaded document's content, so an update writes a realistic row.
EDIT_TEXT = (
    "Quarterly budget review: revenue forecast holds, hiring plan moves one quarter, the "
    "migration of the reporting database finishes before the audit. Owners confirm their "
    "actions in the next meeting; risks and decisions are listed in the appendix below. "
) * 4

READ_SCRIPT = """
local ids = {%(ids)s}
function request()
  return wrk.format("GET", "%(prefix)s/" .. ids[math.random(#ids)])
end
"""

# Each thread keeps the version of each of its documents from the answers it gets, so the next
# PATCH of that document names the current version.
UPDATE_SCRIPT = """
local docs = {%(docs)s}
local threads, counter = 0, 0
function setup(thread)
  thread:set("part", threads)
  threads = threads + 1
end
function init(args)
  mine, versions, position, edits = {}, {}, 0, 0
  for k, doc in ipairs(docs) do
    if k %% %(threads)d == part then
      table.insert(mine, doc[1])
      versions[doc[1]] = doc[2]
    end
  end
end
function request()
  position = position %% #mine + 1
  edits = edits + 1
  local id = mine[position]
  local headers = {}
  for name, value in pairs(wrk.headers) do headers[name] = value end
  headers["Content-Type"] = "application/json"
  headers["If-Match"] = '"' .. versions[id] .. '"'
  local body = '{"content":"%(text)s edit ' .. part .. '-' .. edits .. '"}'
  return wrk.format("PATCH", "%(prefix)s/" .. id, headers, body)
end
function response(status, headers, body)
  if status == 200 then
    local id = body:match('"id":"([^"]+)"')
    local version = body:match('"version":(%%d+)')
    if id and version then versions[id] = tonumber(version) end
  end
end
"""


# --- Database and fixtures -----------------------------------------------------------------


def prepare(documents: int, versions: int) -> str:
    """Migrates, loads the data set if the database has none, and returns a fresh session
    token for the bench user."""
    from django.db import connection

    manage("ensure_database")
    manage("migrate", "--noinput", "--verbosity", "0")
    manage("createcachetable", "--verbosity", "0")
    manage("sync_permissions", "--verbosity", "0")

    from accounts.models import ApiSession, Role, User, UserProfile, UserRole
    from accounts.services import credentials
    from core.context import SYSTEM
    from documents.models import Document

    user, _ = User.objects.get_or_create(email=BENCH_EMAIL, defaults={"verified": True})
    UserProfile.objects.get_or_create(user=user, defaults={"display_name": "Bench User"})
    UserRole.objects.get_or_create(user=user, role=Role.objects.get(name="member"))
    loaded = Document.all_objects.count()
    if 0 < loaded < documents:
        raise SystemExit(
            f"atrium_bench_docs holds {loaded:,} documents, fewer than {documents:,}: an earlier"
            " load was interrupted or smaller. Drop the database and run again."
        )
    if not loaded:
        manage(
            "seed_documents_scale",
            "--documents",
            str(documents),
            "--versions",
            str(versions),
            "--for-user",
            BENCH_EMAIL,
        )
    ApiSession.objects.filter(user=user).delete()
    _, token = credentials.session_create(user=user, context=SYSTEM)
    connection.close()
    return token


def owned_documents() -> list[tuple[str, int]]:
    """The bench user's documents and their current versions, read afresh."""
    from django.db import connection

    from documents.models import Document

    rows = list(
        Document.objects.filter(owner__email=BENCH_EMAIL)
        .order_by("id")
        .values_list("id", "version")
    )
    connection.close()
    return [(str(doc_id), version) for doc_id, version in rows]


def _prefix(contender: Contender) -> str:
    return STOCK_PATH if contender.name.startswith("stock") else ATRIUM_PATH


def write_read_script(directory: Path, documents: list[tuple[str, int]], contender) -> Path:
    path = directory / f"read-{contender.name.split()[0]}.lua"
    ids = ",".join(f'"{doc_id}"' for doc_id, _ in documents)
    path.write_text(READ_SCRIPT % {"ids": ids, "prefix": _prefix(contender)})
    return path


def write_update_script(directory: Path, contender: Contender) -> Path:
    """A fresh script holding the versions as they are now (the last run moved them on)."""
    # wrk stops without waiting for its last requests; the workers still commit those, and a
    # version read before they do would be stale.
    time.sleep(UPDATE_SETTLE_SECONDS)
    path = directory / "update.lua"
    docs = ",".join(f'{{"{doc_id}",{version}}}' for doc_id, version in owned_documents())
    path.write_text(
        UPDATE_SCRIPT
        % {
            "docs": docs,
            "threads": WRK_THREADS,
            "text": EDIT_TEXT.strip(),
            "prefix": _prefix(contender),
        }
    )
    return path


# --- Checks ---------------------------------------------------------------------------------


def _same_body(atrium: bytes, floor: bytes) -> bool:
    # Page links name the server that wrote them.
    def normal(body: bytes):
        return json.loads(re.sub(rb"127\.0\.0\.1:\d+", b"HOST", body))

    return normal(atrium) == normal(floor)


def patch_once(base: str, token: str, doc_id: str, version: int, text: str) -> dict:
    request = urllib.request.Request(
        f"{base}/api/v1/documents/{doc_id}",
        data=json.dumps({"content": text}).encode(),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "If-Match": f'"{version}"',
        },
        method="PATCH",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


# --- Driver ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", type=int, default=8, help="seconds of load per contender")
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--versions", type=int, default=20)
    parser.add_argument("--database", default=DATABASE, help="the bench's own database")
    parser.add_argument(
        "--port", type=int, default=8120, help="Atrium's port; the floor and stock take the next"
    )
    args = parser.parse_args()

    # Every child (manage.py, the gunicorns) inherits these; the bench never touches another
    # database, whatever the shell says.
    os.environ["DATABASE_URL"] = DATABASE_SERVER + args.database
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    os.environ["REDIS_URL"] = REDIS_URL
    import django

    django.setup()
    announce("bench_documents", args.rounds, args.duration)
    atrium_url, floor_url, stock_url = (
        f"http://127.0.0.1:{args.port + offset}" for offset in range(3)
    )

    with bench_lock(), tempfile.TemporaryDirectory(prefix="atrium-bench-docs-") as temp:
        directory = Path(temp)
        token = prepare(args.documents, args.versions)
        bearer = f"Bearer {token}"
        documents = owned_documents()
        first = documents[0][0]
        search = "search?q=" + SEARCH_QUERY.replace(" ", "%20")
        paths = {
            "read": f"/{first}",
            "list": "",
            "search": f"/{search}",
            "update": "",
        }

        def endpoint(name: str, label: str, script=None) -> Endpoint:
            return Endpoint(
                label,
                Contender(f"atrium {name}", f"{atrium_url}{ATRIUM_PATH}{paths[name]}", bearer),
                Contender(f"floor {name}", f"{floor_url}{ATRIUM_PATH}{paths[name]}", bearer),
                Contender(f"stock {name}", f"{stock_url}{STOCK_PATH}{paths[name]}", bearer),
                script,
            )

        endpoints = [
            endpoint("read", "document read", lambda c: write_read_script(directory, documents, c)),
            endpoint("list", "documents list"),
            endpoint("search", "documents search"),
            endpoint("update", "document update", lambda c: write_update_script(directory, c)),
        ]
        # Before the servers start: booting them is work of our own.
        busy = warn_if_busy()
        with (
            atrium_floor_stock("bench.floor_documents:application", args.port, directory) as (
                atrium,
                floor,
                stock,
            ),
        ):
            servers = {atrium_url: atrium, floor_url: floor, stock_url: stock}
            print("Servers:")
            for check in endpoints[:3]:
                bodies = [
                    wait_for_answer(servers[base_of(c.url)], c)
                    for c in (check.atrium, check.floor, check.stock)
                ]
                if not _same_body(*bodies[:2]):
                    raise SystemExit(
                        f"{check.name}: the floor's body differs from Atrium's:\n{bodies[:2]}"
                    )
            # One edit through each, so each is seen to write a version and answer alike.
            doc_id, version = owned_documents()[0]
            edited = patch_once(atrium_url, token, doc_id, version, "checked by atrium")
            again = patch_once(floor_url, token, doc_id, edited["version"], "checked by floor")
            if again["version"] != version + 2 or set(again) != set(edited):
                raise SystemExit(f"update: answers differ:\n{edited}\n{again}")
            for check in endpoints:
                for _, contender in check.contenders():
                    script = check.script(contender) if check.script else None
                    wrk(contender, WARM_UP_SECONDS, script=script)
            results = sweep(endpoints, servers, rounds=args.rounds, duration=args.duration)
            report("documents", endpoints, results, busy=busy or warn_if_busy())


if __name__ == "__main__":
    main()

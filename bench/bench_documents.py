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
    LoadResult,
    announce,
    bench_lock,
    gunicorn,
    manage,
    print_round,
    print_summary,
    wait_for_answer,
    wrk,
)

DATABASE_URL = "postgres://postgres@127.0.0.1:5432/atrium_bench_docs"
REDIS_URL = "redis://127.0.0.1:6379/13"
SETTINGS_MODULE = "config.settings.bench"
ATRIUM = "http://127.0.0.1:8120"
FLOOR = "http://127.0.0.1:8121"
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
  return wrk.format("GET", "/api/v1/documents/" .. ids[math.random(#ids)])
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
  return wrk.format("PATCH", "/api/v1/documents/" .. id, headers, body)
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


def write_read_script(directory: Path, documents: list[tuple[str, int]]) -> Path:
    path = directory / "read.lua"
    ids = ",".join(f'"{doc_id}"' for doc_id, _ in documents)
    path.write_text(READ_SCRIPT % {"ids": ids})
    return path


def write_update_script(directory: Path) -> Path:
    """A fresh script holding the versions as they are now (the last run moved them on)."""
    # wrk stops without waiting for its last requests; the workers still commit those, and a
    # version read before they do would be stale.
    time.sleep(UPDATE_SETTLE_SECONDS)
    path = directory / "update.lua"
    docs = ",".join(f'{{"{doc_id}",{version}}}' for doc_id, version in owned_documents())
    path.write_text(
        UPDATE_SCRIPT % {"docs": docs, "threads": WRK_THREADS, "text": EDIT_TEXT.strip()}
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


# --- Report ---------------------------------------------------------------------------------


# --- Driver ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", type=int, default=8, help="seconds of load per contender")
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--versions", type=int, default=20)
    args = parser.parse_args()

    # Every child (manage.py, both gunicorns) inherits these; the bench never touches another
    # database, whatever the shell says.
    os.environ["DATABASE_URL"] = DATABASE_URL
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    os.environ["REDIS_URL"] = REDIS_URL
    import django

    django.setup()
    announce("bench_documents", args.rounds, args.duration)

    with bench_lock(), tempfile.TemporaryDirectory(prefix="atrium-bench-docs-") as temp:
        directory = Path(temp)
        token = prepare(args.documents, args.versions)
        bearer = f"Bearer {token}"
        documents = owned_documents()
        read_script = write_read_script(directory, documents)
        first = documents[0][0]
        paths = {
            "read": f"/api/v1/documents/{first}",
            "list": "/api/v1/documents",
            "search": "/api/v1/documents/search?q=" + SEARCH_QUERY.replace(" ", "%20"),
            "update": "/api/v1/documents",
        }
        with (
            gunicorn("config.wsgi:application", 8120, directory) as atrium,
            gunicorn("bench.floor_documents:application", 8121, directory) as floor,
        ):
            print("Servers:")
            for endpoint in ("read", "list", "search"):
                bodies = [
                    wait_for_answer(process, Contender(name, base + paths[endpoint], bearer))
                    for name, base, process in (
                        ("atrium " + endpoint, ATRIUM, atrium),
                        ("floor " + endpoint, FLOOR, floor),
                    )
                ]
                if not _same_body(*bodies):
                    raise SystemExit(
                        f"{endpoint}: the floor's body differs from Atrium's:\n{bodies}"
                    )
            # One edit through each, so both are seen to write a version and answer alike.
            doc_id, version = owned_documents()[0]
            edited = patch_once(ATRIUM, token, doc_id, version, "checked by atrium")
            again = patch_once(FLOOR, token, doc_id, edited["version"], "checked by floor")
            if again["version"] != version + 2 or set(again) != set(edited):
                raise SystemExit(f"update: answers differ:\n{edited}\n{again}")

            def contenders(endpoint: str) -> dict[str, Contender]:
                return {
                    name: Contender(f"{name} {endpoint}", base + paths[endpoint], bearer)
                    for name, base in (("atrium", ATRIUM), ("floor", FLOOR))
                }

            def load(endpoint: str, contender: Contender, seconds: int) -> LoadResult:
                if endpoint == "update":
                    return wrk(contender, seconds, script=write_update_script(directory))
                if endpoint == "read":
                    return wrk(contender, seconds, script=read_script)
                return wrk(contender, seconds)

            for endpoint in paths:
                for contender in contenders(endpoint).values():
                    load(endpoint, contender, WARM_UP_SECONDS)

            pairs = [(f"{endpoint} atrium", f"{endpoint} floor") for endpoint in paths]
            rounds: list[dict[str, LoadResult]] = []
            for number in range(1, args.rounds + 1):
                results = {
                    f"{endpoint} {name}": load(endpoint, contender, args.duration)
                    for endpoint in paths
                    for name, contender in contenders(endpoint).items()
                }
                rounds.append(results)
                print_round(number, results, pairs)
            print_summary(rounds, pairs)


if __name__ == "__main__":
    main()

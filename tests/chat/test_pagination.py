"""Keyset pagination of the chat lists: every message exactly once while new ones arrive, and
a fixed number of queries per page whatever its size."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat.models import Message
from tests.chat.conftest import post
from tests.chat.test_api_matrix import MATRIX

pytestmark = pytest.mark.django_db


def walk(client, url: str, params: dict) -> list[str]:
    """Follows ``next`` from the first page to the last; the message ids in order."""
    ids, response = [], client.get(url, params)
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        ids += [m["id"] for m in body["results"]]
        if body["next"] is None:
            return ids
        response = client.get(body["next"])


def ids_newest_first(room) -> list[str]:
    return [
        str(pk)
        for pk in Message.objects.filter(conversation_id=room.id)
        .order_by("-sent_at", "-id")
        .values_list("pk", flat=True)
    ]


def test_walking_back_serves_every_message_once_while_new_ones_arrive(room, as_):
    for n in range(30):
        post(as_("member"), room, f"before {n}")
    existing = ids_newest_first(room)
    reader, writer = as_("owner"), as_("admin")

    seen, response = [], reader.get(room.url("/messages"), {"page_size": 7})
    while True:
        body = response.json()
        seen += [m["id"] for m in body["results"]]
        # Two new messages land between every two pages.
        post(writer, room, "meanwhile")
        post(writer, room, "meanwhile")
        if body["next"] is None:
            break
        response = reader.get(body["next"])

    assert seen == existing


def test_walking_forward_reaches_the_new_messages_once_each(room, as_):
    first = post(as_("member"), room, "start")
    for n in range(12):
        post(as_("member"), room, f"old {n}")
    reader, writer = as_("owner"), as_("admin")

    seen, response = [], reader.get(room.url("/messages"), {"after": first["id"], "page_size": 5})
    arrivals = 0
    while True:
        body = response.json()
        seen += [m["id"] for m in body["results"]]
        if body["next"] is None:
            break
        # New messages land while pages remain to be read.
        if arrivals < 3:
            post(writer, room, f"new {arrivals}")
            arrivals += 1
        response = reader.get(body["next"])

    after_first = list(reversed(ids_newest_first(room)))
    after_first = after_first[after_first.index(first["id"]) + 1 :]
    assert seen == after_first


def test_a_page_size_larger_than_the_list_is_one_page(room, as_):
    post(as_("member"), room)

    assert walk(as_("owner"), room.url("/messages"), {"page_size": 200}) == ids_newest_first(room)


def test_page_size_is_bounded(room, as_):
    assert as_("owner").get(room.url("/messages"), {"page_size": 201}).status_code == 400
    assert as_("owner").get(room.url("/messages"), {"page_size": 0}).status_code == 400


# --- query counts ---------------------------------------------------------------------------


@pytest.fixture
def busy_room(room, as_):
    """Enough of everything that each list has several pages at the smallest size."""
    for title in ("Design", "Support", "Lunch"):
        as_("owner").post("/api/v1/conversations", {"title": title}, format="json")
    for n in range(12):
        message = post(as_("member"), room, f"launch note {n}", parent_id=None)
        as_("owner").post(
            room.url(f"/messages/{message['id']}/reactions"), {"emoji": "👍"}, format="json"
        )
    parent = post(as_("owner"), room, "launch thread")
    for n in range(6):
        post(as_("member"), room, f"launch reply {n}", parent_id=parent["id"])
    for n in range(5):
        as_("owner").patch(
            room.url(f"/messages/{parent['id']}"), {"content": f"launch v{n}"}, format="json"
        )
    room.parent = parent
    # The oldest message, so "after" it has several pages.
    oldest = Message.objects.filter(conversation_id=room.id).order_by("sent_at", "id").first()
    room.oldest = {"id": str(oldest.pk)}
    return room


# name -> (the room -> (url, parameters), the endpoint of tests/chat/test_api_matrix.py whose
# pinned query count the list keeps at every page size)
LISTS = {
    "conversations": (lambda r: ("/api/v1/conversations", {}), "list conversations"),
    "messages": (lambda r: (r.url("/messages"), {}), "list messages"),
    "messages since": (
        lambda r: (r.url("/messages"), {"since": "2000-01-01T00:00:00Z"}),
        "messages since",
    ),
    "messages before": (
        lambda r: (r.url("/messages"), {"before": r.parent["id"]}),
        "messages before",
    ),
    "messages after": (lambda r: (r.url("/messages"), {"after": r.oldest["id"]}), "messages after"),
    "thread": (lambda r: (r.url(f"/messages/{r.parent['id']}/thread"), {}), "thread"),
    "search": (lambda r: ("/api/v1/messages/search", {"q": "launch"}), "search"),
    "participants": (lambda r: (r.url("/participants"), {}), "list participants"),
    "edit history": (lambda r: (r.url(f"/messages/{r.parent['id']}/edits"), {}), "edit history"),
}


def _queries(name: str) -> int:
    return MATRIX[LISTS[name][1]].queries


@pytest.mark.parametrize("name", sorted(LISTS))
@pytest.mark.parametrize("page_size", [2, 50])
def test_a_list_runs_a_fixed_number_of_queries_whatever_the_page_size(
    busy_room, as_, django_assert_num_queries, name, page_size
):
    url, params = LISTS[name][0](busy_room)
    client = as_("member")
    client.get("/api/v1/conversations")  # the session's first use records its time

    with django_assert_num_queries(_queries(name)):
        response = client.get(url, {**params, "page_size": page_size})

    assert response.status_code == 200


@pytest.mark.parametrize("name", ["messages", "conversations", "search"])
def test_the_next_page_costs_what_the_first_did(busy_room, as_, django_assert_num_queries, name):
    url, params = LISTS[name][0](busy_room)
    client = as_("owner")
    first = client.get(url, {**params, "page_size": 2}).json()

    with django_assert_num_queries(_queries(name)):
        client.get(first["next"])


def test_no_chat_list_counts_or_skips_rows(busy_room, as_):
    client = as_("owner")
    with CaptureQueriesContext(connection) as captured:
        for where, _ in LISTS.values():
            url, params = where(busy_room)
            first = client.get(url, {**params, "page_size": 2}).json()
            if isinstance(first, dict) and first.get("next"):
                client.get(first["next"])

    sql = " ".join(q["sql"].upper() for q in captured.captured_queries)
    assert "OFFSET" not in sql
    assert "COUNT(*) FROM MESSAGES" not in sql.replace('"', "")


def test_search_s_condition_can_use_the_gin_index(db):
    """The query names the generated column's text search configuration; with another one
    PostgreSQL could not use messages_search_idx at all."""
    from chat import sql
    from chat.models import SEARCH_CONFIG

    condition = f"m.search_vector @@ websearch_to_tsquery('{SEARCH_CONFIG}', %(query)s)"
    assert condition in sql.search_page(user_id=None, query="launch", page_size=1).sql
    with connection.cursor() as cursor:
        # A test table is tiny; forbid the sequential scan to see whether the index can serve.
        cursor.execute("SET LOCAL enable_seqscan = off")
        explain = "EXPLAIN SELECT m.id FROM messages m WHERE " + condition  # noqa: S608
        cursor.execute(explain, {"query": "launch"})
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "messages_search_idx" in plan

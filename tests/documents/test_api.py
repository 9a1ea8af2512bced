"""The documents API as a client sees it: versions, optimistic concurrency, diffs, trash,
shares and search."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.context import SYSTEM
from core.models import AuditAction, AuditEvent
from documents import services
from documents.models import Document, DocumentShare, DocumentVersion

from .conftest import client_for, doc_url, if_match, member, share

pytestmark = pytest.mark.django_db


def _history(document) -> list[int]:
    return list(
        DocumentVersion.objects.filter(document=document)
        .order_by("version")
        .values_list("version", flat=True)
    )


# --- create, read, update -------------------------------------------------------------------


def test_creating_a_document_writes_version_one_and_its_version_row(owner):
    response = client_for(owner).post(
        "/api/v1/documents", {"title": "Plan", "content": "Hello"}, format="json"
    )

    assert response.status_code == 201
    assert response["ETag"] == '"1"'
    body = response.json()
    assert (body["version"], body["access"], body["content"]) == (1, "owner", "Hello")
    version = DocumentVersion.objects.get(document_id=body["id"])
    assert (version.version, version.title, version.content) == (1, "Plan", "Hello")
    assert version.created_by == owner


def test_a_blank_title_is_refused_naming_the_field(owner):
    response = client_for(owner).post(
        "/api/v1/documents", {"title": "", "content": "x"}, format="json"
    )

    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["title"]
    assert not Document.objects.exists()


def test_reading_gives_the_version_as_etag(owner, document):
    response = client_for(owner).get(doc_url(document))

    assert response.status_code == 200
    assert response["ETag"] == '"1"'
    assert response.json()["content"] == "Line one\nLine two\n"


def test_each_change_writes_the_next_version(owner, document):
    api = client_for(owner)

    first = api.patch(doc_url(document), {"content": "v2"}, format="json", **if_match(1))
    second = api.put(
        doc_url(document), {"title": "New", "content": "v3"}, format="json", **if_match(2)
    )

    assert (first.status_code, second.status_code) == (200, 200)
    assert second["ETag"] == '"3"'
    assert second.json()["title"] == "New"
    assert _history(document) == [1, 2, 3]
    newest = DocumentVersion.objects.get(document=document, version=3)
    assert (newest.title, newest.content) == ("New", "v3")


def test_a_change_that_changes_nothing_writes_nothing(owner, document):
    response = client_for(owner).put(
        doc_url(document),
        {"title": document.title, "content": document.content},
        format="json",
        **if_match(1),
    )

    assert response.status_code == 200
    assert response["ETag"] == '"1"'
    assert _history(document) == [1]


def test_put_needs_both_fields(owner, document):
    response = client_for(owner).put(
        doc_url(document), {"content": "x"}, format="json", **if_match(1)
    )

    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["title"]


@pytest.mark.parametrize("method", ["patch", "put", "delete"])
def test_a_write_without_if_match_is_428(owner, document, method):
    response = getattr(client_for(owner), method)(
        doc_url(document), {"title": "x", "content": "y"}, format="json"
    )

    assert response.status_code == 428
    assert _history(document) == [1]


@pytest.mark.parametrize("tag", ['"7"', 'W/"1"', "1", '"one"'])
def test_a_stale_or_foreign_if_match_is_412_naming_the_current_version(owner, document, tag):
    response = client_for(owner).patch(
        doc_url(document), {"content": "lost?"}, format="json", HTTP_IF_MATCH=tag
    )

    assert response.status_code == 412
    assert response.json()["current_version"] == 1
    assert response["ETag"] == '"1"'
    assert Document.objects.get(pk=document.pk).content == "Line one\nLine two\n"


def test_a_stale_delete_is_412_and_deletes_nothing(owner, document):
    api = client_for(owner)
    api.patch(doc_url(document), {"content": "v2"}, format="json", **if_match(1))

    response = api.delete(doc_url(document), **if_match(1))

    assert response.status_code == 412
    assert Document.objects.filter(pk=document.pk).exists()


# --- list ------------------------------------------------------------------------------------


def test_the_list_holds_mine_and_live_shares_only(owner, stranger):
    mine = services.document_create(actor=owner, title="Mine", content="", context=SYSTEM)
    theirs = services.document_create(actor=stranger, title="Shared", content="", context=SYSTEM)
    expired = services.document_create(actor=stranger, title="Expired", content="", context=SYSTEM)
    services.document_create(actor=stranger, title="Private", content="", context=SYSTEM)
    share(theirs, owner, "viewer")
    share(expired, owner, "editor", expired=True)
    api = client_for(owner)

    everything = api.get("/api/v1/documents").json()["results"]
    only_mine = api.get("/api/v1/documents?scope=mine").json()["results"]
    only_shared = api.get("/api/v1/documents?scope=shared").json()["results"]

    assert {d["title"]: d["access"] for d in everything} == {"Mine": "owner", "Shared": "viewer"}
    assert [d["id"] for d in only_mine] == [str(mine.pk)]
    assert [d["id"] for d in only_shared] == [str(theirs.pk)]


def test_the_list_filters_by_title_and_orders_as_asked(owner):
    for title in ("Beta notes", "Alpha notes", "Gamma"):
        services.document_create(actor=owner, title=title, content="", context=SYSTEM)
    api = client_for(owner)

    response = api.get("/api/v1/documents?title=notes&ordering=title")

    assert [d["title"] for d in response.json()["results"]] == ["Alpha notes", "Beta notes"]


@pytest.mark.parametrize(
    ("value", "status"),
    [("2026-01-01T00:00:00+22:41", 200), ("0001-01-01T00:00:00+23:00", 400)],
)
def test_the_list_takes_any_iso_offset_and_refuses_times_out_of_range(owner, value, status):
    response = client_for(owner).get("/api/v1/documents", {"updated_after": value})

    assert response.status_code == status


def test_the_list_refuses_an_unknown_scope(owner):
    response = client_for(owner).get("/api/v1/documents?scope=everyone")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "scope"


# --- delete, trash, restore --------------------------------------------------------------------


def test_deleting_moves_to_the_trash_and_restoring_brings_it_back(owner, document):
    api = client_for(owner)

    deleted = api.delete(doc_url(document), **if_match(1))
    gone = api.get(doc_url(document))
    trash = api.get("/api/v1/documents/trash").json()["results"]
    restored = api.post(doc_url(document, "/restore"))

    assert deleted.status_code == 204
    assert gone.status_code == 404
    assert [d["id"] for d in trash] == [str(document.pk)]
    assert restored.status_code == 200
    assert restored.json()["version"] == 1
    assert api.get(doc_url(document)).status_code == 200
    assert api.get("/api/v1/documents/trash").json()["results"] == []


def test_restoring_a_live_document_is_404(owner, document):
    assert client_for(owner).post(doc_url(document, "/restore")).status_code == 404


# --- versions ---------------------------------------------------------------------------------


def _edit_many(owner, document, count: int) -> None:
    for number in range(2, count + 1):
        services.document_update(
            actor=owner,
            document_id=document.pk,
            expected_version=number - 1,
            content=f"Line one\nedit {number}\n",
            context=SYSTEM,
        )


def test_the_version_list_pages_newest_first_with_author_and_size(owner, document):
    _edit_many(owner, document, 50)
    api = client_for(owner)

    first = api.get(doc_url(document, "/versions?page_size=20")).json()
    second = api.get(first["next"]).json()

    assert [v["number"] for v in first["results"]] == list(range(50, 30, -1))
    assert [v["number"] for v in second["results"]] == list(range(30, 10, -1))
    newest = first["results"][0]
    assert newest["author"]["display_name"] == "Olivia"
    assert newest["size"] == len(b"Line one\nedit 50\n")
    assert "content" not in newest


def test_any_version_can_be_read(owner, document):
    _edit_many(owner, document, 3)

    response = client_for(owner).get(doc_url(document, "/versions/2"))

    assert response.json()["content"] == "Line one\nedit 2\n"
    assert client_for(owner).get(doc_url(document, "/versions/9")).status_code == 404


def test_the_diff_between_two_versions_across_fifty_is_unified(owner, document):
    _edit_many(owner, document, 50)

    response = client_for(owner).get(doc_url(document, "/versions/diff?from=1&to=50"))

    assert response.status_code == 200
    assert response.json()["diff"] == (
        "--- version 1\n+++ version 50\n@@ -1,2 +1,2 @@\n Line one\n-Line two\n+edit 50\n"
    )


def test_a_diff_with_a_missing_version_names_it(owner, document):
    response = client_for(owner).get(doc_url(document, "/versions/diff?from=1&to=4"))

    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["to"]


def test_restoring_an_old_version_across_fifty_writes_a_new_version_with_a_note(owner, document):
    _edit_many(owner, document, 50)

    response = client_for(owner).post(
        doc_url(document, "/versions/3/restore"),
        {"note": "the later edits were wrong"},
        format="json",
        **if_match(50),
    )

    assert response.status_code == 200
    assert response["ETag"] == '"51"'
    assert response.json()["content"] == "Line one\nedit 3\n"
    assert _history(document) == list(range(1, 52))
    newest = DocumentVersion.objects.get(document=document, version=51)
    assert newest.note == "Restored from version 3: the later edits were wrong"


def test_restoring_a_version_needs_the_current_version(owner, document):
    _edit_many(owner, document, 3)
    api = client_for(owner)

    assert api.post(doc_url(document, "/versions/1/restore")).status_code == 428
    stale = api.post(doc_url(document, "/versions/1/restore"), **if_match(2))
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 3
    assert _history(document) == [1, 2, 3]


# --- shares -----------------------------------------------------------------------------------


def test_granting_by_email_lets_the_user_edit_and_is_audited(owner, document, stranger):
    response = client_for(owner).post(
        doc_url(document, "/shares"),
        {"email": "SAM@example.com", "permission_level": "editor"},
        format="json",
    )
    edit = client_for(stranger).patch(
        doc_url(document), {"content": "by sam"}, format="json", **if_match(1)
    )

    assert response.status_code == 201
    assert response.json()["user"]["id"] == str(stranger.pk)
    assert edit.status_code == 200
    assert DocumentVersion.objects.get(document=document, version=2).created_by == stranger
    event = AuditEvent.objects.get(action=AuditAction.SHARE_GRANTED)
    assert (event.actor, event.target_id, event.before) == (owner, str(document.pk), None)
    assert event.after["permission_level"] == "editor"


def test_granting_again_replaces_the_share(owner, document, stranger):
    api = client_for(owner)
    url = doc_url(document, "/shares")
    api.post(url, {"user_id": str(stranger.pk), "permission_level": "viewer"}, format="json")

    again = api.post(
        url, {"user_id": str(stranger.pk), "permission_level": "editor"}, format="json"
    )

    assert again.status_code == 200
    assert DocumentShare.objects.get(document=document).permission_level == "editor"


def test_changing_and_revoking_a_share_are_audited(owner, document, stranger):
    share(document, stranger, "viewer")
    api = client_for(owner)
    url = doc_url(document, f"/shares/{stranger.pk}")

    changed = api.patch(url, {"permission_level": "commenter"}, format="json")
    revoked = api.delete(url)

    assert changed.json()["permission_level"] == "commenter"
    assert revoked.status_code == 204
    assert client_for(stranger).get(doc_url(document)).status_code == 404
    actions = list(
        AuditEvent.objects.filter(action__startswith="share.")
        .order_by("occurred_at", "action")
        .values_list("action", "before")
    )
    assert [action for action, _ in actions] == [AuditAction.SHARE_GRANTED, "share.revoked"]
    assert actions[1][1]["permission_level"] == "commenter"


def test_a_share_change_can_make_it_permanent_and_a_no_op_is_not_audited(owner, document, stranger):
    share(document, stranger, "viewer", expired=True)
    api = client_for(owner)
    url = doc_url(document, f"/shares/{stranger.pk}")

    revived = api.patch(url, {"expires_at": None}, format="json")
    unchanged = api.patch(url, {"permission_level": "viewer"}, format="json")

    assert revived.json()["live"] is True
    assert unchanged.status_code == 200
    assert client_for(stranger).get(doc_url(document)).status_code == 200
    assert AuditEvent.objects.filter(action=AuditAction.SHARE_GRANTED).count() == 1


@pytest.mark.parametrize(
    ("delta", "message"),
    [
        (timedelta(seconds=-1), "Must be in the future."),
        (timedelta(days=366), "Must be at most a year from now."),
    ],
)
def test_an_expiry_in_the_past_or_beyond_a_year_is_refused(
    owner, document, stranger, delta, message
):
    response = client_for(owner).post(
        doc_url(document, "/shares"),
        {
            "user_id": str(stranger.pk),
            "permission_level": "viewer",
            "expires_at": (timezone.now() + delta).isoformat(),
        },
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "expires_at", "message": message, "code": "invalid"}
    ]
    assert not DocumentShare.objects.exists()


def test_a_share_with_an_expiry_grants_until_then(owner, document, stranger):
    response = client_for(owner).post(
        doc_url(document, "/shares"),
        {
            "user_id": str(stranger.pk),
            "permission_level": "viewer",
            "expires_at": (timezone.now() + timedelta(days=30)).isoformat(),
        },
        format="json",
    )

    assert response.json()["live"] is True
    assert client_for(stranger).get(doc_url(document)).status_code == 200


def test_an_expired_share_grants_nothing_from_the_second_it_expires(owner, document, stranger):
    granted = share(document, stranger, "editor")
    api = client_for(stranger)
    assert api.get(doc_url(document)).status_code == 200

    DocumentShare.objects.filter(pk=granted.pk).update(expires_at=timezone.now())

    assert api.get(doc_url(document)).status_code == 404
    assert api.get("/api/v1/documents").json()["results"] == []


def test_sharing_needs_a_user_named_once_and_not_the_owner(owner, document):
    api = client_for(owner)
    url = doc_url(document, "/shares")

    neither = api.post(url, {"permission_level": "viewer"}, format="json")
    self_share = api.post(
        url, {"user_id": str(owner.pk), "permission_level": "viewer"}, format="json"
    )
    bad_level = api.post(url, {"email": "x@example.com", "permission_level": "boss"}, format="json")

    assert [e["field"] for e in neither.json()["errors"]] == ["user_id"]
    assert self_share.json()["errors"][0]["message"] == "This user owns the document."
    assert [e["field"] for e in bad_level.json()["errors"]] == ["permission_level"]


def test_an_owner_level_sharee_can_share_and_delete(owner, document, stranger):
    third = member("tess")
    share(document, stranger, "owner")
    api = client_for(stranger)

    granted = api.post(
        doc_url(document, "/shares"),
        {"user_id": str(third.pk), "permission_level": "viewer"},
        format="json",
    )
    deleted = api.delete(doc_url(document), **if_match(1))

    assert (granted.status_code, deleted.status_code) == (201, 204)


# --- search -----------------------------------------------------------------------------------


def test_search_ranks_a_title_match_above_a_body_match(owner):
    body = services.document_create(
        actor=owner, title="Notes", content="We discussed the budget at length.", context=SYSTEM
    )
    title = services.document_create(
        actor=owner, title="Budget 2027", content="Numbers.", context=SYSTEM
    )
    services.document_create(
        actor=owner, title="Other", content="Nothing relevant.", context=SYSTEM
    )

    results = client_for(owner).get("/api/v1/documents/search?q=budget").json()["results"]

    assert [r["id"] for r in results] == [str(title.pk), str(body.pk)]
    assert results[0]["rank"] > results[1]["rank"]


def test_search_sees_only_what_i_may_read_and_follows_edits(owner, stranger):
    services.document_create(actor=stranger, title="Secret budget", content="", context=SYSTEM)
    shared = services.document_create(
        actor=stranger, title="Shared budget", content="", context=SYSTEM
    )
    expired = services.document_create(
        actor=stranger, title="Old budget", content="", context=SYSTEM
    )
    share(shared, owner, "viewer")
    share(expired, owner, "viewer", expired=True)
    mine = services.document_create(actor=owner, title="Plan", content="", context=SYSTEM)
    services.document_update(
        actor=owner,
        document_id=mine.pk,
        expected_version=1,
        content="the budget, finally",
        context=SYSTEM,
    )

    results = client_for(owner).get("/api/v1/documents/search?q=budget").json()["results"]

    assert {r["id"] for r in results} == {str(shared.pk), str(mine.pk)}


def test_search_pages_through_ranked_results(owner):
    for number in range(5):
        services.document_create(
            actor=owner, title=f"Report {number}", content="report " * number, context=SYSTEM
        )
    api = client_for(owner)

    first = api.get("/api/v1/documents/search?q=report&page_size=3").json()
    second = api.get(first["next"]).json()

    ids = [r["id"] for r in first["results"] + second["results"]]
    assert len(ids) == len(set(ids)) == 5
    ranks = [r["rank"] for r in first["results"] + second["results"]]
    assert ranks == sorted(ranks, reverse=True)


def test_search_needs_a_query(owner):
    response = client_for(owner).get("/api/v1/documents/search")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "q"

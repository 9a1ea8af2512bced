"""Who may do what with documents, endpoint by endpoint, and what every documents list costs.

The callers: the owner, a sharee at each level, a sharee whose share has expired, a stranger,
staff (who may view and change documents by role but hold no share), a user without any
role, and the owner's key limited to reading. Documents a caller may not read are 404;
documents they may read but not change are 403; an action their role or key does not grant
is 403 before any document is looked at."""

import pytest
from django.utils import timezone

from accounts.models import User
from documents.models import Document
from tests.api_matrix import Endpoint, Matrix, Scene, api_key, bearer
from tests.factories import (
    DocumentFactory,
    DocumentShareFactory,
    DocumentVersionFactory,
    UserFactory,
)

from .conftest import client_for, if_match, member, share

pytestmark = pytest.mark.django_db

SHAREES = {"owner_share": "owner", "editor": "editor", "commenter": "commenter", "viewer": "viewer"}
READERS = {"owner", *SHAREES}
EDITORS = {"owner", "owner_share", "editor"}
MANAGERS = {"owner", "owner_share"}
# What the callers who reach documents by role alone hold, by the permission's action.
HELD_BY_ROLE = {"staff": {"view", "change"}, "read_key": {"view"}}


def doc(
    name,
    method,
    path,
    body=None,
    *,
    allowed,
    perm,
    status=200,
    conditional=False,
    target="document",
    queries=None,
):
    """An endpoint of one document (``target``, the live one or the trashed one): ``allowed``
    callers succeed; other readers are refused (403); whoever cannot read it gets 404, unless
    their role or key lacks ``documents.<perm>_document`` (403)."""
    by_role = {caller for caller, held in HELD_BY_ROLE.items() if perm not in held}
    ok = set(allowed)
    if perm == "view" and "owner" in ok:
        ok.add("read_key")  # the owner's own key
    return Endpoint(
        name,
        method,
        f"/api/v1/documents/{{{target}}}{path}",
        body,
        ok=ok,
        status=status,
        forbidden=(READERS - ok) | {"no_role"} | by_role,
        headers=if_match(2) if conditional else {},
        queries=queries,
    )


def collection(name, method, path, body=None, *, perm="view", status=200, queries=None):
    """An endpoint over the caller's own documents: every role holding the permission."""
    held = {caller for caller, actions in HELD_BY_ROLE.items() if perm in actions}
    signed_up = {*READERS, "expired", "stranger"}
    return Endpoint(
        name, method, path, body, ok=signed_up | held, status=status, others=403, queries=queries
    )


# Every list: the credential lookup (which brings the caller's permissions), then the page;
# the lists under a document first find the document and the caller's access to it.
MATRIX = Matrix(
    callers=(
        "anonymous",
        "owner",
        "owner_share",
        "editor",
        "commenter",
        "viewer",
        "expired",
        "stranger",
        "staff",
        "no_role",
        "read_key",
    ),
    reader="owner",
    endpoints=[
        collection("list", "get", "/api/v1/documents", queries=2),
        collection(
            "shared list", "get", "/api/v1/documents?scope=shared&ordering=title", queries=2
        ),
        collection("search", "get", "/api/v1/documents/search?q=plan", queries=2),
        collection("trash", "get", "/api/v1/documents/trash", queries=2),
        collection(
            "create",
            "post",
            "/api/v1/documents",
            {"title": "T", "content": ""},
            perm="add",
            status=201,
        ),
        doc("retrieve", "get", "", allowed=READERS, perm="view"),
        doc(
            "patch",
            "patch",
            "",
            {"content": "changed"},
            allowed=EDITORS,
            perm="change",
            conditional=True,
        ),
        doc(
            "put",
            "put",
            "",
            {"title": "T", "content": "changed"},
            allowed=EDITORS,
            perm="change",
            conditional=True,
        ),
        doc("delete", "delete", "", allowed=MANAGERS, perm="delete", status=204, conditional=True),
        doc("version list", "get", "/versions", allowed=READERS, perm="view", queries=3),
        doc("version read", "get", "/versions/{first_version}", allowed=READERS, perm="view"),
        doc("diff", "get", "/versions/diff?from=1&to=2", allowed=READERS, perm="view"),
        doc(
            "version restore",
            "post",
            "/versions/{first_version}/restore",
            {},
            allowed=EDITORS,
            perm="change",
            conditional=True,
        ),
        doc("share list", "get", "/shares", allowed=MANAGERS, perm="share", queries=3),
        doc(
            "share grant",
            "post",
            "/shares",
            {"email": "third@example.com", "permission_level": "editor"},
            allowed=MANAGERS,
            perm="share",
        ),
        doc(
            "share change",
            "patch",
            "/shares/{third}",
            {"permission_level": "editor"},
            allowed=MANAGERS,
            perm="share",
        ),
        doc(
            "share revoke", "delete", "/shares/{third}", allowed=MANAGERS, perm="share", status=204
        ),
        doc(
            "restore from the trash",
            "post",
            "/restore",
            allowed=MANAGERS,
            perm="delete",
            target="trashed",
        ),
    ],
)


def _create(api, title: str) -> str:
    response = api.post(
        "/api/v1/documents", {"title": title, "content": "Line one\nLine two\n"}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


@pytest.fixture
def scene(synced_roles) -> Scene:
    """ "Quarterly plan" at version 2 and "Old plan" in the trash, each shared with one
    person per level, one expired share, and a third party's share to manage."""
    people = {"owner": member("olivia"), "stranger": member("sam"), "expired": member("expired")}
    people.update({caller: member(caller.replace("_", "")) for caller in SHAREES})
    third, elsewhere = member("third"), member("elsewhere")
    api = client_for(people["owner"])
    document, trashed = _create(api, "Quarterly plan"), _create(api, "Old plan")
    for pk in (document, trashed):
        pk = Document.objects.get(pk=pk)
        for caller, level in SHAREES.items():
            share(pk, people[caller], level)
        share(pk, people["expired"], "editor", expired=True)
        share(pk, third, "viewer")
    assert (
        api.patch(
            f"/api/v1/documents/{document}", {"content": "second"}, format="json", **if_match(1)
        ).status_code
        == 200
    )
    assert api.delete(f"/api/v1/documents/{trashed}", **if_match(1)).status_code == 204
    return Scene(
        ids={
            "document": document,
            "trashed": trashed,
            "third": str(third.pk),
            "owner_id": str(people["owner"].pk),
            "first_version": "1",
        },
        credentials={
            "anonymous": None,
            **{caller: bearer(user) for caller, user in people.items()},
            "staff": bearer(UserFactory(is_staff=True, roles=["staff"])),
            "no_role": bearer(UserFactory()),
            "read_key": api_key(people["owner"], ["documents.view_document"]),
        },
        # Someone with an account and no share of the document.
        foreign={"third": str(elsewhere.pk)},
    )


@pytest.mark.parametrize(("endpoint", "caller"), MATRIX.cases())
def test_permission_matrix(scene, endpoint, caller):
    MATRIX.check(scene, endpoint, caller)


@pytest.mark.parametrize("endpoint", MATRIX.lists())
def test_list_query_count_is_pinned_and_does_not_grow_with_rows(
    scene, endpoint, django_assert_num_queries
):
    MATRIX.check_queries(scene, endpoint, lambda: _more_rows(scene), django_assert_num_queries)


def _more_rows(scene: Scene) -> None:
    """Two more rows in every list the owner reads: documents owned, shared and trashed,
    versions and shares of the document."""
    owner = User.objects.get(pk=scene.ids["owner_id"])
    document = Document.objects.get(pk=scene.ids["document"])
    for _ in range(2):
        DocumentFactory(owner=owner, title="Plan of mine")
        DocumentFactory(owner=owner, title="Plan thrown away", deleted_at=timezone.now())
        DocumentShareFactory(
            document=DocumentFactory(title="Their plan"), user=owner, permission_level="editor"
        )
        DocumentVersionFactory(document=document, version=document.versions.count() + 1)
        DocumentShareFactory(document=document, user=UserFactory())


LISTERS = [caller for caller in MATRIX.callers if MATRIX["list"].expected(caller) == 200]


@pytest.mark.parametrize("caller", LISTERS)
def test_lists_show_the_document_to_those_who_may_read_it(scene, caller):
    api = scene.client(caller)

    listed = api.get("/api/v1/documents").json()["results"]
    found = api.get("/api/v1/documents/search?q=quarterly").json()["results"]

    # The owner's key lists what the owner does.
    expected = [scene.ids["document"]] if caller in READERS | {"read_key"} else []
    assert [d["id"] for d in listed] == expected
    assert [d["id"] for d in found] == expected


@pytest.mark.parametrize("caller", LISTERS)
def test_the_trash_shows_the_document_to_its_owners(scene, caller):
    trash = scene.client(caller).get("/api/v1/documents/trash").json()["results"]

    expected = [scene.ids["trashed"]] if caller in MANAGERS | {"read_key"} else []
    assert [d["id"] for d in trash] == expected


def test_an_unknown_document_is_404_like_a_hidden_one(scene):
    response = scene.client("owner").get("/api/v1/documents/00000000-0000-4000-8000-000000000000")

    assert response.status_code == 404


@pytest.mark.parametrize(("endpoint", "name", "kind"), MATRIX.probes())
def test_every_object_a_path_names_must_be_the_callers(scene, endpoint, name, kind):
    MATRIX.check_probe(scene, endpoint, name, kind)

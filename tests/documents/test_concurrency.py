"""Two clients editing the same version at the same moment, from two threads with their own
database connections: exactly one wins, the other is told, and the history stays whole."""

import threading

import pytest
from django.db import connection

from core.context import SYSTEM
from documents import services
from documents.models import Document, DocumentVersion

from .conftest import client_for, doc_url, if_match, member, share

ROUNDS = 5


def _patch_together(clients, url: str, version: int) -> list[int]:
    """Both clients PATCH the same version, released at the same instant; their statuses."""
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []

    def edit(client, text: str) -> None:
        try:
            barrier.wait()
            response = client.patch(url, {"content": text}, format="json", **if_match(version))
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=edit, args=(client, f"{name} at {version}"))
        for name, client in zip("ab", clients, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(statuses)


@pytest.mark.django_db(transaction=True)
def test_two_editors_of_one_version_one_wins_the_other_gets_412(synced_roles):
    owner, editor = member("olivia"), member("eddie")
    document = services.document_create(actor=owner, title="Race", content="start", context=SYSTEM)
    share(document, editor, "editor")
    clients = [client_for(owner), client_for(editor)]

    outcomes = [
        _patch_together(clients, doc_url(document), version) for version in range(1, ROUNDS + 1)
    ]

    assert outcomes == [[200, 412]] * ROUNDS
    versions = list(
        DocumentVersion.objects.filter(document=document)
        .order_by("version")
        .values_list("version", "content")
    )
    assert [number for number, _ in versions] == list(range(1, ROUNDS + 2))
    current = Document.objects.get(pk=document.pk)
    assert current.version == ROUNDS + 1
    # The document holds exactly what its newest version row says: no edit was half-kept.
    assert current.content == versions[-1][1]

"""``manage.py seed_documents_scale``: a small run of the loader the benchmark uses at 100,000
documents."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from documents.models import Document, DocumentShare, DocumentVersion
from tests.factories import DocumentFactory, UserFactory


@pytest.mark.django_db(transaction=True)
def test_the_loader_writes_whole_histories_and_the_bench_users_share():
    bench = UserFactory(email="bench@example.com")

    call_command(
        "seed_documents_scale",
        "--documents=40",
        "--versions=3",
        "--owners=5",
        "--for-user=bench@example.com",
        "--owned=10",
        "--shared=4",
        stdout=StringIO(),
    )

    assert Document.objects.count() == 40
    assert Document.objects.filter(owner=bench).count() == 10
    with connection.cursor() as cursor:
        # Every document's versions run 1..version, and the newest holds its title and text.
        cursor.execute(
            """
            SELECT count(*) FROM documents d
            WHERE (SELECT array_agg(version ORDER BY version) FROM document_versions v
                   WHERE v.document_id = d.id)
                  <> (SELECT array_agg(g) FROM generate_series(1, d.version) g)
               OR NOT EXISTS (SELECT 1 FROM document_versions v WHERE v.document_id = d.id
                              AND v.version = d.version AND v.content = d.content
                              AND v.title = d.title)
            """
        )
        assert cursor.fetchone()[0] == 0
    assert DocumentVersion.objects.count() > 40
    assert DocumentShare.objects.filter(user=bench).count() == 6


@pytest.mark.django_db
def test_a_dry_run_loads_nothing_and_a_second_load_is_refused():
    out = StringIO()
    call_command("seed_documents_scale", "--documents=10", "--dry-run", stdout=out)

    assert "Dry run" in out.getvalue()
    assert not Document.objects.exists()

    DocumentFactory()
    with pytest.raises(CommandError, match="not empty"):
        call_command("seed_documents_scale", "--documents=10", "--owners=2", stdout=StringIO())

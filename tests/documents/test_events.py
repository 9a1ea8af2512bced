"""What the documents services announce (core.events): each change to whoever may read the
document once it commits, a share change to the grantee too, and nothing when a change is
refused or rolled back."""

import pytest

from core import events
from core.context import SYSTEM, ActionContext
from core.exceptions import PreconditionFailed, ValidationFailed
from core.models import AuditEvent
from documents import services
from documents.models import DocumentShare

pytestmark = pytest.mark.django_db

CONTEXT = ActionContext(ip_address="10.0.0.7", request_id="req-docs")


@pytest.fixture
def heard():
    announcements: list[events.Announcement] = []
    events.receiver(announcements.append)
    yield announcements
    events.disconnect(announcements.append)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Runs what the services leave for the commit when the block ends, as a commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def _seen(heard) -> list[tuple[str, events.Audience]]:
    return [(a.type, a.audience) for a in heard]


def test_a_document_s_life_is_announced_to_its_readers_on_commit(owner, heard, committed):
    with committed():
        document = services.document_create(
            actor=owner, title="Plan", content="one", context=CONTEXT
        )
        services.document_update(
            actor=owner, document_id=document.pk, expected_version=1, content="two", context=CONTEXT
        )
        services.version_restore(
            actor=owner, document_id=document.pk, number=1, expected_version=2, context=CONTEXT
        )
        services.document_delete(
            actor=owner, document_id=document.pk, expected_version=3, context=CONTEXT
        )
        services.document_restore(actor=owner, document_id=document.pk, context=CONTEXT)

    readers = events.Audience.document(document.pk)
    assert _seen(heard) == [
        ("document.created", readers),
        ("document.updated", readers),
        ("document.updated", readers),
        ("document.deleted", readers),
        ("document.restored", readers),
    ]
    # The document as GET answers it to the owner; the deletion names it only.
    assert {name: heard[0].payload[name] for name in ("id", "title", "owner_id", "access")} == {
        "id": str(document.pk),
        "title": "Plan",
        "owner_id": str(owner.pk),
        "access": "owner",
    }
    assert [a.payload.get("version") for a in heard] == [1, 2, 3, None, 3]
    assert [a.payload.get("content") for a in heard] == ["one", "two", "one", None, "one"]
    assert heard[3].payload == {"id": str(document.pk)}
    assert {(a.actor_id, a.context) for a in heard} == {(str(owner.pk), CONTEXT)}


def test_an_edit_that_changes_nothing_or_is_stale_announces_nothing(
    owner, document, heard, committed
):
    with committed():
        services.document_update(
            actor=owner,
            document_id=document.pk,
            expected_version=1,
            title=document.title,
            context=SYSTEM,
        )
        with pytest.raises(PreconditionFailed):
            services.document_update(
                actor=owner,
                document_id=document.pk,
                expected_version=7,
                content="x",
                context=SYSTEM,
            )

    assert heard == []


def test_share_changes_reach_the_document_s_readers_and_the_grantee(
    owner, document, stranger, heard, committed
):
    with committed():
        services.share_grant(
            actor=owner,
            document_id=document.pk,
            user_id=stranger.pk,
            permission_level="viewer",
            context=CONTEXT,
        )
        services.share_change(
            actor=owner,
            document_id=document.pk,
            user_id=stranger.pk,
            permission_level="editor",
            context=CONTEXT,
        )
        services.share_revoke(
            actor=owner, document_id=document.pk, user_id=stranger.pk, context=CONTEXT
        )

    readers, grantee = events.Audience.document(document.pk), events.Audience.user(stranger.pk)
    assert _seen(heard) == [
        ("share.granted", readers),
        ("share.granted", grantee),
        ("share.changed", readers),
        ("share.changed", grantee),
        ("share.revoked", readers),
        ("share.revoked", grantee),
    ]
    # The share as the shares endpoint lists it; the revocation names document and user.
    assert heard[2].payload["user"]["id"] == str(stranger.pk)
    assert (heard[2].payload["permission_level"], heard[2].payload["expires_at"]) == (
        "editor",
        None,
    )
    assert heard[4].payload == {"document_id": str(document.pk), "user_id": str(stranger.pk)}
    assert AuditEvent.objects.filter(ip_address="10.0.0.7").count() == 3


def test_a_refused_share_announces_nothing(owner, document, heard, committed):
    with committed(), pytest.raises(ValidationFailed):
        services.share_grant(
            actor=owner,
            document_id=document.pk,
            user_id=owner.pk,
            permission_level="viewer",
            context=SYSTEM,
        )

    assert heard == []


def test_a_share_rolled_back_after_its_announcement_is_never_heard(
    owner, document, stranger, heard, committed, monkeypatch
):
    def audit_fails(**kwargs):
        raise RuntimeError("audit trail unavailable")

    monkeypatch.setattr(services.audit, "record", audit_fails)

    with (
        committed() as callbacks,
        pytest.raises(RuntimeError, match="audit trail unavailable"),
    ):
        services.share_grant(
            actor=owner,
            document_id=document.pk,
            user_id=stranger.pk,
            permission_level="viewer",
            context=SYSTEM,
        )

    assert callbacks == []
    assert heard == []
    assert not DocumentShare.objects.exists()

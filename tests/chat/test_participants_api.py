"""Participants through the API: who may add, remove and promote whom, leaving, the last
owner, and the system messages that record each change."""

import pytest

from chat.models import Message, MessageType, Participant, ParticipantRole

pytestmark = pytest.mark.django_db


def roles(room) -> dict[str, str]:
    return dict(
        Participant.objects.filter(conversation_id=room.id).values_list(
            "user__profile__display_name", "role"
        )
    )


def last_system_message(room) -> Message:
    return (
        Message.objects.filter(conversation_id=room.id, message_type=MessageType.SYSTEM)
        .order_by("-sent_at")
        .first()
    )


def test_participants_are_listed_with_their_profiles(room, as_):
    response = as_("member").get(room.url("/participants"))

    assert response.status_code == 200
    listed = {p["display_name"]: p["role"] for p in response.json()["results"]}
    assert listed == {"Ana": "owner", "Ben": "admin", "Chloé": "member"}


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_owners_and_admins_add_members(room, as_, people, who):
    fay = people("Fay")

    response = as_(who).post(room.url("/participants"), {"user_id": str(fay.pk)}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["role"] == "member"
    assert roles(room)["Fay"] == ParticipantRole.MEMBER
    message = last_system_message(room)
    assert message.content.endswith("added Fay")
    assert message.metadata == {
        "event_type": "participant.added",
        "payload": {"user_id": str(fay.pk), "role": "member"},
    }


def test_a_member_cannot_add(room, as_, people):
    fay = people("Fay")

    response = as_("member").post(
        room.url("/participants"), {"user_id": str(fay.pk)}, format="json"
    )

    assert response.status_code == 403
    assert "Fay" not in roles(room)


def test_an_admin_cannot_add_an_admin_but_an_owner_can(room, as_, people):
    fay, gus = people("Fay"), people("Gus")
    url = room.url("/participants")

    by_admin = as_("admin").post(url, {"user_id": str(fay.pk), "role": "admin"}, format="json")
    by_owner = as_("owner").post(url, {"user_id": str(gus.pk), "role": "admin"}, format="json")

    assert by_admin.status_code == 403
    assert by_owner.status_code == 201


def test_adding_someone_twice_is_a_conflict(room, as_):
    response = as_("owner").post(
        room.url("/participants"), {"user_id": str(room.member.pk)}, format="json"
    )

    assert response.status_code == 409


def test_a_former_participant_can_be_added_back(room, as_):
    response = as_("owner").post(
        room.url("/participants"), {"user_id": str(room.former.pk)}, format="json"
    )

    assert response.status_code == 201
    assert as_("former").get(room.url("/messages")).status_code == 200


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_owners_and_admins_remove_members(room, as_, who):
    response = as_(who).delete(room.url(f"/participants/{room.member.pk}"))

    assert response.status_code == 204
    assert "Chloé" not in roles(room)
    assert last_system_message(room).content.endswith("removed Chloé")
    assert as_("member").get(room.url("/messages")).status_code == 404


def test_an_admin_cannot_remove_an_owner_or_admin(room, as_, people):
    assert as_("admin").delete(room.url(f"/participants/{room.owner.pk}")).status_code == 403
    as_("owner").post(
        room.url("/participants"),
        {"user_id": str(people("Fay").pk), "role": "admin"},
        format="json",
    )
    fay = Participant.objects.get(
        conversation_id=room.id, role="admin", user__email="fay@example.com"
    )

    assert as_("admin").delete(room.url(f"/participants/{fay.user_id}")).status_code == 403


def test_a_member_cannot_remove_anyone(room, as_):
    assert as_("member").delete(room.url(f"/participants/{room.admin.pk}")).status_code == 403


def test_removing_someone_who_is_not_in_it_is_a_404(room, as_):
    assert as_("owner").delete(room.url(f"/participants/{room.stranger.pk}")).status_code == 404


def test_an_owner_changes_roles(room, as_):
    response = as_("owner").patch(
        room.url(f"/participants/{room.member.pk}"), {"role": "admin"}, format="json"
    )

    assert response.status_code == 200
    assert roles(room)["Chloé"] == ParticipantRole.ADMIN
    assert last_system_message(room).metadata["payload"] == {
        "user_id": str(room.member.pk),
        "role": "admin",
        "previous_role": "member",
    }


@pytest.mark.parametrize("who", ["admin", "member"])
def test_only_owners_change_roles(room, as_, who):
    response = as_(who).patch(
        room.url(f"/participants/{room.member.pk}"), {"role": "owner"}, format="json"
    )

    assert response.status_code == 403


def test_the_last_owner_cannot_step_down(room, as_):
    response = as_("owner").patch(
        room.url(f"/participants/{room.owner.pk}"), {"role": "member"}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "last_owner"


@pytest.mark.parametrize("who", ["admin", "member"])
def test_anyone_leaves(room, as_, who):
    response = as_(who).post(room.url("/leave"))

    assert response.status_code == 204
    name = {"admin": "Ben", "member": "Chloé"}[who]
    assert name not in roles(room)
    assert last_system_message(room).content == f"{name} left"


def test_removing_oneself_is_leaving(room, as_):
    response = as_("member").delete(room.url(f"/participants/{room.member.pk}"))

    assert response.status_code == 204
    assert last_system_message(room).content == "Chloé left"


def test_the_last_owner_cannot_leave(room, as_):
    response = as_("owner").post(room.url("/leave"))

    assert response.status_code == 409
    assert roles(room)["Ana"] == ParticipantRole.OWNER


def test_the_last_owner_leaves_after_handing_ownership_over(room, as_):
    as_("owner").patch(room.url(f"/participants/{room.admin.pk}"), {"role": "owner"}, format="json")

    response = as_("owner").post(room.url("/leave"))

    assert response.status_code == 204
    assert roles(room) == {"Ben": "owner", "Chloé": "member"}

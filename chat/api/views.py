"""Chat API. Views parse input, call one service or selector, and shape the answer.

The lists and single objects whose JSON PostgreSQL builds (chat/selectors.py) are passed
through as the response body; their shapes are the output serializers named in
``extend_schema``.
"""

import json
import uuid
from typing import TYPE_CHECKING

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from chat import selectors
from chat.cursors import Cursor, Direction
from chat.models import Participant
from chat.services import conversations, messages, participants, reactions, reads
from core.api.context import action_context
from core.api.idempotency import IDEMPOTENCY_PARAMETER, respond_once
from core.api.pagination import CursorPagination
from core.api.permissions import HasActionPermission
from core.api.routing import ReplicaReadsMixin
from core.api.schema import AutoSchema, problem_responses
from core.api.validation import validated, validated_query
from core.services.idempotency import Answer

from . import serializers as s

if TYPE_CHECKING:
    from accounts.authentication import AuthenticatedRequest

VIEW_CONVERSATION = "chat.view_conversation"
ADD_CONVERSATION = "chat.add_conversation"
# Every write needs a write permission, so a credential scoped to reading cannot rename,
# delete, leave or manage people; the participant rules narrow these further.
CHANGE_CONVERSATION = "chat.change_conversation"
DELETE_CONVERSATION = "chat.delete_conversation"
VIEW_MESSAGE = "chat.view_message"
ADD_MESSAGE = "chat.add_message"

CONVERSATION = OpenApiParameter("conversation_pk", OpenApiTypes.UUID, OpenApiParameter.PATH)
# Path ids are UUIDs or the URL does not match (a 404 before any query).
UUID_PATTERN = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


class PageSchema(AutoSchema):
    """The SQL-built lists answer one page object, which their response serializer describes
    whole; drf-spectacular would otherwise document a ``list`` action as an array of it."""

    def _is_list_view(self, serializer=None) -> bool:
        if (
            getattr(self.view, "action", None) == "list"
            and isinstance(self.view, GenericAPIView)
            and self.view.pagination_class is None
        ):
            return False
        return super()._is_list_view(serializer)

    def get_operation_id(self) -> str:
        operation_id = super().get_operation_id()
        if getattr(self.view, "action", None) == "list":
            return operation_id.removesuffix("_retrieve") + "_list"
        return operation_id


class ChatViewSet(viewsets.GenericViewSet):
    """Object-level rules live in the services and selectors (participants only; 404 for
    everyone else); the role-based permission of each action is checked first."""

    permission_classes = [HasActionPermission]
    request: "AuthenticatedRequest"
    schema = PageSchema()
    lookup_value_regex = UUID_PATTERN
    filter_backends = []

    def initial(self, request, *args, **kwargs):
        # The URL patterns only match UUIDs; the services compare them as UUIDs.
        for name in ("pk", "conversation_pk", "user_id"):
            if name in self.kwargs:
                self.kwargs[name] = uuid.UUID(self.kwargs[name])
        super().initial(request, *args, **kwargs)


def _cursor(query: dict, *directions: Direction) -> Cursor | None:
    token = query.get("cursor")
    return None if token is None else Cursor.decode(token, allowed=frozenset(directions))


def json_response(body: str, *, status_code: int = 200) -> HttpResponse:
    """JSON text built by PostgreSQL, passed through untouched."""
    return HttpResponse(body, status=status_code, content_type="application/json")


def page_response(request: Request, page: selectors.Page, *, head: str = "") -> HttpResponse:
    """``{"next": ..., "results": [...]}``; ``next`` is this URL with the next cursor in place
    of the parameters that chose the first page."""
    next_url = None
    if page.next is not None:
        next_url = request.build_absolute_uri()
        for name in ("before", "after", "since"):
            next_url = remove_query_param(next_url, name)
        next_url = replace_query_param(next_url, "cursor", page.next.encode())
    return json_response(f'{{{head}"next":{json.dumps(next_url)},"results":{page.results}}}')


class ParticipantPagination(CursorPagination):
    """Participants in the order they joined. The key is spelled out: the composite primary
    key is no single column the platform's pagination could append."""

    def get_ordering(self, request, queryset, view):
        return ("joined_at", "user_id")


class EditPagination(CursorPagination):
    """A message's edits, oldest first."""

    def get_ordering(self, request, queryset, view):
        return ("edited_at", "id")


class ConversationViewSet(ReplicaReadsMixin, ChatViewSet):
    """Conversations I take part in."""

    action_permissions = {
        "list": VIEW_CONVERSATION,
        "retrieve": VIEW_CONVERSATION,
        "create": ADD_CONVERSATION,
        "partial_update": CHANGE_CONVERSATION,
        "destroy": DELETE_CONVERSATION,
        # A read mark records what this reader has seen: part of reading.
        "read": VIEW_CONVERSATION,
        "leave": CHANGE_CONVERSATION,
    }
    serializer_class = s.ConversationOutput
    pagination_class = None

    @extend_schema(parameters=[s.PageQuery], responses={200: s.ConversationPageOutput})
    def list(self, request):
        """My conversations, latest activity first, with my unread count in each."""
        query = validated_query(s.PageQuery, request.query_params)
        page = selectors.conversation_page(
            user_id=request.user.pk,
            page_size=query["page_size"],
            cursor=_cursor(query, Direction.OLDER),
        )
        return page_response(request, page)

    @extend_schema(
        request=s.ConversationInput,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: s.ConversationOutput},
    )
    def create(self, request):
        """Starts a conversation; the caller becomes its owner. Initial participants are
        announced by system messages."""
        data = validated(s.ConversationInput, request.data)
        context = action_context(request)

        def write() -> Answer:
            conversation = conversations.conversation_create(
                creator=request.user,
                title=data["title"],
                participants=[(p["user_id"], p["role"]) for p in data.get("participants", [])],
                context=context,
            )
            body = selectors.conversation_json(
                conversation_id=conversation.pk, user_id=request.user.pk
            )
            return Answer(status=status.HTTP_201_CREATED, body=body)

        return respond_once(request, write)

    def retrieve(self, request, pk=None):
        return self._conversation(request, pk)

    @extend_schema(request=s.ConversationRenameInput, responses={200: s.ConversationOutput})
    def partial_update(self, request, pk=None):
        """Renames the conversation (owners and admins)."""
        data = validated(s.ConversationRenameInput, request.data)
        conversations.conversation_rename(
            conversation_id=pk,
            actor=request.user,
            title=data["title"],
            context=action_context(request),
        )
        return self._conversation(request, pk)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        """Deletes the conversation for everyone (an owner only)."""
        conversations.conversation_delete(
            conversation_id=pk, actor=request.user, context=action_context(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=s.MarkReadInput, responses={200: s.ConversationOutput})
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        """Marks everything up to a message read; an older message than the current mark
        changes nothing."""
        data = validated(s.MarkReadInput, request.data)
        reads.conversation_mark_read(
            conversation_id=pk,
            actor=request.user,
            message_id=data["message_id"],
            context=action_context(request),
        )
        return self._conversation(request, pk)

    @extend_schema(request=None, responses={204: None, **problem_responses(409)})
    @action(detail=True, methods=["post"])
    def leave(self, request, pk=None):
        """Leaves the conversation. The last owner makes someone else owner first."""
        participants.participant_leave(
            conversation_id=pk, actor=request.user, context=action_context(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _conversation(self, request, pk, status_code: int = 200) -> HttpResponse:
        body = selectors.conversation_json(conversation_id=pk, user_id=request.user.pk)
        return json_response(body, status_code=status_code)


@extend_schema(parameters=[CONVERSATION])
class ParticipantViewSet(ChatViewSet):
    """The people in a conversation. Owners and admins add and remove members; owners
    manage admins and owners and change roles; anyone leaves by removing themselves."""

    action_permissions = {
        "list": VIEW_CONVERSATION,
        **dict.fromkeys(("create", "partial_update", "destroy"), CHANGE_CONVERSATION),
    }
    serializer_class = s.ParticipantOutput
    lookup_field = "user_id"
    pagination_class = ParticipantPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Participant.objects.none()
        return selectors.participant_list(
            conversation_id=self.kwargs["conversation_pk"], user_id=self.request.user.pk
        )

    def list(self, request, conversation_pk=None):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        request=s.ParticipantAddInput,
        responses={201: s.ParticipantOutput, **problem_responses(409)},
    )
    def create(self, request, conversation_pk=None):
        data = validated(s.ParticipantAddInput, request.data)
        participant = participants.participant_add(
            conversation_id=conversation_pk,
            actor=request.user,
            user=data["user_id"],
            role=data["role"],
            context=action_context(request),
        )
        return Response(s.participant_representation(participant), status=status.HTTP_201_CREATED)

    @extend_schema(
        request=s.ParticipantRoleInput,
        responses={200: s.ParticipantOutput, **problem_responses(409)},
    )
    def partial_update(self, request, conversation_pk=None, user_id=None):
        """Changes a participant's role (owners); a conversation keeps at least one owner."""
        data = validated(s.ParticipantRoleInput, request.data)
        participant = participants.participant_set_role(
            conversation_id=conversation_pk,
            actor=request.user,
            user_id=user_id,
            role=data["role"],
            context=action_context(request),
        )
        return Response(s.participant_representation(participant))

    @extend_schema(responses={204: None, **problem_responses(409)})
    def destroy(self, request, conversation_pk=None, user_id=None):
        """Removes a participant, or, for one's own id, leaves."""
        participants.participant_remove(
            conversation_id=conversation_pk,
            actor=request.user,
            user_id=user_id,
            context=action_context(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(parameters=[CONVERSATION])
class MessageViewSet(ReplicaReadsMixin, ChatViewSet):
    """A conversation's messages, for its participants."""

    action_permissions = {
        "list": VIEW_MESSAGE,
        "retrieve": VIEW_MESSAGE,
        "thread": VIEW_MESSAGE,
        "edits": VIEW_MESSAGE,
        "create": ADD_MESSAGE,
        "partial_update": ADD_MESSAGE,
        "destroy": ADD_MESSAGE,
        "react": ADD_MESSAGE,
        "unreact": ADD_MESSAGE,
    }
    serializer_class = s.MessageOutput
    pagination_class = None

    @extend_schema(parameters=[s.MessageListQuery], responses={200: s.MessagePageOutput})
    def list(self, request, conversation_pk=None):
        """Newest first, by cursor; or before/after a message; or what changed since a
        time (for clients that sync)."""
        query = validated_query(s.MessageListQuery, request.query_params)
        page = selectors.message_page(
            conversation_id=conversation_pk,
            user_id=request.user.pk,
            page_size=query["page_size"],
            cursor=_cursor(query, *Direction),
            before=query.get("before"),
            after=query.get("after"),
            since=query.get("since"),
        )
        return page_response(request, page)

    @extend_schema(
        request=s.MessageInput,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: s.MessageOutput},
    )
    def create(self, request, conversation_pk=None):
        """Posts a text or file message, optionally as a reply. The sender has read the
        conversation up to it: their read mark moves there. A client that may retry (a
        timeout) sends `Idempotency-Key`, so the retry gets the first answer, not a second
        message."""
        data = validated(s.MessageInput, request.data)
        context = action_context(request)

        def write() -> Answer:
            message = messages.message_post(
                conversation_id=conversation_pk, sender=request.user, context=context, **data
            )
            body = selectors.message_json(
                conversation_id=conversation_pk, message_id=message.pk, user_id=request.user.pk
            )
            return Answer(status=status.HTTP_201_CREATED, body=body)

        return respond_once(request, write)

    def retrieve(self, request, conversation_pk=None, pk=None):
        return self._message(request, conversation_pk, pk)

    @extend_schema(request=s.MessageEditInput, responses={200: s.MessageOutput})
    def partial_update(self, request, conversation_pk=None, pk=None):
        """Edits my message; the previous content goes to its edit history."""
        data = validated(s.MessageEditInput, request.data)
        messages.message_edit(
            conversation_id=conversation_pk,
            message_id=pk,
            actor=request.user,
            context=action_context(request),
            **data,
        )
        return self._message(request, conversation_pk, pk)

    @extend_schema(responses={204: None})
    def destroy(self, request, conversation_pk=None, pk=None):
        """Deletes a message: its author, or an owner or admin of the conversation."""
        messages.message_delete(
            conversation_id=conversation_pk,
            message_id=pk,
            actor=request.user,
            context=action_context(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(parameters=[s.PageQuery], responses={200: s.ThreadOutput})
    @action(detail=True, methods=["get"])
    def thread(self, request, conversation_pk=None, pk=None):
        """A message and its replies, oldest first."""
        query = validated_query(s.PageQuery, request.query_params)
        parent, page = selectors.thread_page(
            conversation_id=conversation_pk,
            parent_id=pk,
            user_id=request.user.pk,
            page_size=query["page_size"],
            cursor=_cursor(query, Direction.NEWER),
        )
        return page_response(request, page, head=f'"parent":{parent},')

    @extend_schema(responses={200: s.MessageEditOutput(many=True)})
    @action(detail=True, methods=["get"], pagination_class=EditPagination)
    def edits(self, request, conversation_pk=None, pk=None):
        """The message's earlier versions, oldest first."""
        edits = selectors.message_edit_list(
            conversation_id=conversation_pk, message_id=pk, user_id=request.user.pk
        )
        page = self.paginate_queryset(edits)
        return self.get_paginated_response(s.MessageEditOutput(page, many=True).data)

    @extend_schema(
        request=s.ReactionInput, responses={200: s.ReactionOutput, 201: s.ReactionOutput}
    )
    @action(detail=True, methods=["post"], url_path="reactions")
    def react(self, request, conversation_pk=None, pk=None):
        """Adds my emoji to the message: 201 the first time, 200 when it was already there."""
        data = validated(s.ReactionInput, request.data)
        reaction, created = reactions.reaction_add(
            conversation_id=conversation_pk,
            message_id=pk,
            actor=request.user,
            context=action_context(request),
            **data,
        )
        return Response(
            s.ReactionOutput(reaction).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(responses={204: None})
    @action(detail=True, methods=["delete"], url_path=r"reactions/(?P<emoji>[^/]+)")
    def unreact(self, request, conversation_pk=None, pk=None, emoji=None):
        """Takes my emoji off the message."""
        reactions.reaction_remove(
            conversation_id=conversation_pk,
            message_id=pk,
            actor=request.user,
            emoji=emoji,
            context=action_context(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _message(self, request, conversation_pk, pk, status_code: int = 200) -> HttpResponse:
        body = selectors.message_json(
            conversation_id=conversation_pk, message_id=pk, user_id=request.user.pk
        )
        return json_response(body, status_code=status_code)


class MessageSearchViewSet(ReplicaReadsMixin, ChatViewSet):
    """Full-text search over the messages of the conversations I am in, newest first."""

    action_permissions = {"list": VIEW_MESSAGE}
    serializer_class = s.MessageOutput
    pagination_class = None

    @extend_schema(parameters=[s.SearchQuery], responses={200: s.MessagePageOutput})
    def list(self, request):
        query = validated_query(s.SearchQuery, request.query_params)
        page = selectors.search_page(
            user_id=request.user.pk,
            query=query["q"],
            conversation_id=query.get("conversation"),
            page_size=query["page_size"],
            cursor=_cursor(query, Direction.OLDER),
        )
        return page_response(request, page)

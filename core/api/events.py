"""``GET /api/v1/events``: the event log, read after a cursor.

A client keeps the last id it has seen and asks for what came after it (``?after=<id>``);
ids become visible in increasing order (migration core/0004), so walking forward from a cursor
yields every event once, in order, including the ones committed while it walked. Only events
the caller may see at the moment of reading are served (core.events.events_after): leaving a
conversation hides its events, old ones too.
"""

import functools

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from core import events, partitions
from core.models import Event

from .permissions import HasActionPermission, request_has_perm
from .validation import validated_query

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_TYPES = 20


class EventQuery(serializers.Serializer):
    after = serializers.IntegerField(
        required=False,
        default=0,
        min_value=0,
        max_value=2**63 - 1,  # the column is a bigint: a larger number is bad input, not a 500
        help_text="Events with a larger id than this.",
    )
    type = serializers.ListField(
        child=serializers.CharField(max_length=100),
        required=False,
        default=list,
        max_length=MAX_TYPES,
        help_text="Only these types: `?type=a&type=b` or `?type=a,b`.",
    )
    page_size = serializers.IntegerField(
        required=False, default=PAGE_SIZE, min_value=1, max_value=MAX_PAGE_SIZE
    )

    def validate_type(self, value: list[str]) -> list[str]:
        types = [name.strip() for item in value for name in item.split(",") if name.strip()]
        if len(types) > MAX_TYPES:
            raise serializers.ValidationError(f"At most {MAX_TYPES} types.")
        return types


class AudienceOutput(serializers.Serializer):
    kind = serializers.CharField(source="audience_kind")
    key = serializers.CharField(source="audience_key")


class EventOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text="The cursor: pass the last one seen as `after`.")
    type = serializers.CharField(help_text="`<object>.<what happened>`, e.g. `message.created`.")
    occurred_at = serializers.DateTimeField()
    object_type = serializers.CharField(help_text="e.g. `chat.message`.")
    object_id = serializers.CharField()
    actor_id = serializers.UUIDField(allow_null=True)
    audience = AudienceOutput(source="*", help_text="Why the caller sees it.")
    payload = serializers.DictField(
        help_text=(
            "The object as the API returns it at that moment: exactly the JSON `GET` of that"
            " object answers (a message as the messages endpoint, a document as"
            " `GET /documents/{id}`, a participant or share as its list shows it, ...), with"
            " the fields that depend on the caller as the actor sees them. A deletion carries"
            " ids only. docs/events.md lists the object of every type."
        )
    )


# One page object, not a list of them (drf-spectacular's guess for a ``list`` action).
@extend_schema_serializer(many=False)
class EventPageOutput(serializers.Serializer):
    next = serializers.URLField(
        allow_null=True, help_text="The following page; null when none follows yet."
    )
    after = serializers.IntegerField(
        help_text="The cursor to ask with next time: the last id of this page, or the `after` "
        "asked with when the page is empty."
    )
    results = EventOutput(many=True)


class RetentionOutput(serializers.Serializer):
    live_since = serializers.DateTimeField(
        allow_null=True,
        help_text="When the oldest event still kept occurred (null: none is kept). Older ones "
        "were archived or purged.",
    )
    oldest_id = serializers.IntegerField(
        allow_null=True,
        help_text="The oldest id still kept: a client whose cursor is below it minus one has "
        "missed events, and should reload what it shows rather than replay.",
    )


class EventViewSet(viewsets.GenericViewSet):
    """Events I may see, oldest first, after a cursor."""

    permission_classes = [HasActionPermission]
    # Any signed-in caller: what each one sees is narrowed per audience, and an API key's
    # scopes narrow it further (core.events.events_after's ``may``).
    action_permissions = {"list": None, "retention": None}
    serializer_class = EventOutput
    queryset = Event.objects.none()  # names the model for the schema; list() reads its own
    pagination_class = None

    @extend_schema(parameters=[EventQuery], responses={200: EventPageOutput})
    def list(self, request):
        query = validated_query(EventQuery, request.query_params)
        page_size = query["page_size"]
        rows = events.events_after(
            user=request.user,
            may=functools.partial(request_has_perm, request),
            after=query["after"],
            types=query["type"],
            limit=page_size + 1,  # one more tells whether another page follows
        )
        page = rows[:page_size]
        after = page[-1].pk if page else query["after"]
        more = len(rows) > page_size
        next_url = (
            replace_query_param(request.build_absolute_uri(), "after", after) if more else None
        )
        return Response(
            {"next": next_url, "after": after, "results": EventOutput(page, many=True).data}
        )

    @extend_schema(responses={200: RetentionOutput})
    @action(detail=False, methods=["get"])
    def retention(self, request):
        """How far back the event log goes: months before are archived (manage.py archive),
        and events older than the retention purged (manage.py purge_events)."""
        oldest = Event.objects.order_by("id").values_list("id", flat=True).first()
        return Response(
            RetentionOutput(
                {"live_since": partitions.live_since(Event._meta.db_table), "oldest_id": oldest}
            ).data
        )

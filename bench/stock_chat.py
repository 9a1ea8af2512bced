"""The "stock" contender of bench/bench_chat.py: the chat endpoints as most Django projects
ship them. ``ModelViewSet`` + ``ModelSerializer`` (reactions nested, prefetched) +
``PageNumberPagination`` (a COUNT and an OFFSET per page), the same tables, the same
authentication, middleware and throttles as Atrium (bench/stock_settings.py). Not part of the
product: only bench_chat.py serves it.

  GET/POST /stock/conversations/<id>/messages[?page=N]
  GET      /stock/conversations
"""

from django.db.models import Count, F, Q
from django.shortcuts import get_object_or_404
from django.urls import path
from rest_framework import serializers, viewsets
from rest_framework.pagination import PageNumberPagination

from chat.models import Conversation, Message, MessageReaction, Participant


class StockPagination(PageNumberPagination):
    page_size = 50


class ReactionSerializer(serializers.ModelSerializer):
    class Meta:
        model = MessageReaction
        fields = ["id", "user", "emoji", "created_at"]


class MessageSerializer(serializers.ModelSerializer):
    reactions = ReactionSerializer(many=True, read_only=True)

    class Meta:
        model = Message
        fields = [
            "id",
            "conversation",
            "sender",
            "parent",
            "message_type",
            "content",
            "metadata",
            "sent_at",
            "edited_at",
            "deleted_at",
            "changed_at",
            "reactions",
        ]
        read_only_fields = ["conversation", "sender", "message_type", "parent"]


class MessageViewSet(viewsets.ModelViewSet):
    serializer_class = MessageSerializer
    pagination_class = StockPagination

    def get_queryset(self):
        return (
            Message.objects.filter(
                conversation_id=self.kwargs["conversation_pk"],
                conversation__participant__user=self.request.user,
            )
            .prefetch_related("reactions")
            .order_by("-sent_at", "-id")
        )

    def perform_create(self, serializer):
        get_object_or_404(
            Participant, conversation_id=self.kwargs["conversation_pk"], user=self.request.user
        )
        serializer.save(
            conversation_id=self.kwargs["conversation_pk"],
            sender=self.request.user,
            message_type="text",
        )


class ConversationSerializer(serializers.ModelSerializer):
    unread_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Conversation
        fields = ["id", "title", "created_at", "last_activity_at", "unread_count"]


class ConversationViewSet(viewsets.ModelViewSet):
    serializer_class = ConversationSerializer
    pagination_class = StockPagination

    def get_queryset(self):
        user = self.request.user
        return (
            Conversation.objects.filter(participant__user=user)
            .annotate(
                unread_count=Count(
                    "messages",
                    filter=Q(
                        messages__sent_at__gt=F("participant__last_read_at"),
                        messages__deleted_at__isnull=True,
                    )
                    & ~Q(messages__sender=user),
                )
            )
            .order_by("-last_activity_at", "-id")
        )


urlpatterns = [
    path(
        "stock/conversations/<uuid:conversation_pk>/messages",
        MessageViewSet.as_view({"get": "list", "post": "create"}),
    ),
    path("stock/conversations", ConversationViewSet.as_view({"get": "list"})),
]

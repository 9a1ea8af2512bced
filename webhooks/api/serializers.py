from typing import Any

from rest_framework import serializers

from webhooks.event_types import EVENT_TYPES
from webhooks.models import EVENT_TYPE_MAX_LENGTH, WebhookDelivery, WebhookEndpoint

_EVENTS_HELP = "The event types to receive (docs/webhooks.md lists them)."


class EndpointOutput(serializers.ModelSerializer):
    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "events",
            "description",
            "enabled",
            "ordered",
            "consecutive_failures",
            "disabled_reason",
            "previous_secret_expires_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


def endpoint_representation(endpoint: WebhookEndpoint, viewer: Any = None) -> Any:
    """An endpoint as GET answers it, never its secret: the payload of the
    webhook_endpoint events (registered in WebhooksConfig.ready()). Read again, in the
    writing transaction: the table's trigger moved updated_at."""
    return EndpointOutput(WebhookEndpoint.objects.get(pk=endpoint.pk)).data


class EndpointCreatedOutput(EndpointOutput):
    secret = serializers.CharField(
        help_text="The signing secret, shown this once: keep it to verify Atrium-Signature."
    )

    class Meta(EndpointOutput.Meta):
        fields = [*EndpointOutput.Meta.fields, "secret"]
        read_only_fields = fields


class EndpointInput(serializers.Serializer):
    url = serializers.URLField(max_length=2000)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(EVENT_TYPES)),
        min_length=1,
        max_length=len(EVENT_TYPES),
        help_text=_EVENTS_HELP,
    )
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    enabled = serializers.BooleanField(required=False, default=True)
    ordered = serializers.BooleanField(
        required=False,
        default=True,
        help_text="Deliver in event order (a failing event holds back the later ones).",
    )


class EndpointChangeInput(serializers.Serializer):
    url = serializers.URLField(max_length=2000, required=False)
    events = serializers.ListField(
        child=serializers.CharField(max_length=EVENT_TYPE_MAX_LENGTH),
        min_length=1,
        required=False,
        help_text=_EVENTS_HELP,
    )
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    enabled = serializers.BooleanField(required=False)
    ordered = serializers.BooleanField(required=False)


class RotateInput(serializers.Serializer):
    overlap_hours = serializers.IntegerField(
        min_value=0,
        max_value=168,
        required=False,
        default=24,
        help_text="How long the old secret keeps signing beside the new one.",
    )


class DeliveryOutput(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event_id",
            "event_type",
            "status",
            "attempts",
            "created_at",
            "next_attempt_at",
            "delivered_at",
            "last_status_code",
            "last_latency_ms",
            "last_response_excerpt",
            "last_error",
        ]
        read_only_fields = fields

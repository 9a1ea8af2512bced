"""``GET /api/v1/audit-events``: the audit trail, newest first, for staff who may read it.

The same reader rule as the console's audit list (core.audit.visible_target_types): the
audit's own view permission shows every event; other staff see the events of the rows they
may view (billing managers, billing's). Keyset pages, no counts: the table grows without end.
"""

import functools

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.exceptions import PermissionDenied

from core import audit
from core.models import AuditEvent

from .permissions import HasActionPermission, request_has_perm
from .validation import validated_query


class AuditEventQuery(serializers.Serializer):
    actor = serializers.UUIDField(required=False, help_text="Events done by this user.")
    action = serializers.CharField(
        required=False, max_length=100, help_text="e.g. `invoice.finalized`."
    )
    target_type = serializers.CharField(
        required=False, max_length=100, help_text="e.g. `billing.invoice`."
    )
    target_id = serializers.CharField(required=False, max_length=100)
    since = serializers.DateTimeField(required=False, help_text="At or after this time.")
    until = serializers.DateTimeField(required=False, help_text="Before this time.")

    def validate(self, attrs):
        if "since" in attrs and "until" in attrs and attrs["since"] >= attrs["until"]:
            raise serializers.ValidationError({"until": ["Must be after since."]})
        return attrs


class AuditEventOutput(serializers.ModelSerializer):
    actor_email = serializers.EmailField(source="actor.email", allow_null=True, default=None)

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "occurred_at",
            "actor",
            "actor_email",
            "action",
            "target_type",
            "target_id",
            "before",
            "after",
            "ip_address",
            "user_agent",
        ]


# Query parameter → the column it narrows.
_FILTERS = {
    "actor": "actor_id",
    "action": "action",
    "target_type": "target_type",
    "target_id": "target_id",
    "since": "occurred_at__gte",
    "until": "occurred_at__lt",
}


class AuditEventViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Audit events I may read, newest first."""

    serializer_class = AuditEventOutput
    permission_classes = [HasActionPermission]
    # Any signed-in caller; who reads what is the rule above, a 403 for whoever reads nothing.
    action_permissions = {"list": None}
    ordering = ("-occurred_at", "-id")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return AuditEvent.objects.none()
        visible = audit.visible_target_types(
            is_staff=self.request.user.is_staff,
            may=functools.partial(request_has_perm, self.request),
        )
        if visible == set():
            raise PermissionDenied("Reading the audit trail needs a permission you lack.")
        events = AuditEvent.objects.select_related("actor")
        if visible is not None:
            events = events.filter(target_type__in=sorted(visible))
        query = validated_query(AuditEventQuery, self.request.query_params)
        return events.filter(**{_FILTERS[name]: value for name, value in query.items()})

    @extend_schema(parameters=[AuditEventQuery])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

"""Outgoing webhooks API: endpoints, their secrets and delivery logs. Views parse input, call
one service or selector, and shape the answer."""

from datetime import timedelta
from typing import TYPE_CHECKING

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from core.api.context import action_context
from core.api.pagination import CursorPagination
from core.api.permissions import HasActionPermission
from core.api.schema import problem_responses
from core.api.validation import validated
from webhooks import selectors, services
from webhooks.models import WebhookEndpoint

from . import serializers as s

if TYPE_CHECKING:
    from accounts.authentication import AuthenticatedRequest

MANAGE = services.MANAGE_PERMISSION


class DeliveryPagination(CursorPagination):
    """The delivery log, newest first (the endpoint list's order is the view's)."""

    def get_ordering(self, request, queryset, view):
        return ("-id",)


class EndpointViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Where Atrium POSTs its events, signed. The secret is shown once, when the endpoint is
    created or its secret rotated."""

    serializer_class = s.EndpointOutput
    permission_classes = [HasActionPermission]
    action_permissions = dict.fromkeys(
        (
            "list",
            "retrieve",
            "create",
            "partial_update",
            "destroy",
            "rotate_secret",
            "deliveries",
            "resend",
        ),
        MANAGE,
    )
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    request: "AuthenticatedRequest"
    ordering = ("created_at", "id")

    def get_queryset(self):
        return selectors.endpoint_list()

    @extend_schema(request=s.EndpointInput, responses={201: s.EndpointCreatedOutput})
    def create(self, request):
        endpoint, secret = services.endpoint_create(
            actor=request.user,
            context=action_context(request),
            **validated(s.EndpointInput, request.data),
        )
        endpoint.secret = secret
        return Response(s.EndpointCreatedOutput(endpoint).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.EndpointChangeInput, responses={200: s.EndpointOutput})
    def partial_update(self, request, pk=None):
        endpoint = services.endpoint_update(
            endpoint=self.get_object(),
            actor=request.user,
            context=action_context(request),
            **validated(s.EndpointChangeInput, request.data),
        )
        return Response(s.EndpointOutput(endpoint).data)

    def perform_destroy(self, instance):
        services.endpoint_delete(
            endpoint=instance, actor=self.request.user, context=action_context(self.request)
        )

    @extend_schema(request=s.RotateInput, responses={200: s.EndpointCreatedOutput})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        """A new secret, shown once; the old one keeps signing beside it for `overlap_hours`."""
        query = validated(s.RotateInput, request.data)
        endpoint, secret = services.endpoint_rotate_secret(
            endpoint=self.get_object(),
            overlap=timedelta(hours=query["overlap_hours"]),
            actor=request.user,
            context=action_context(request),
        )
        endpoint.secret = secret
        return Response(s.EndpointCreatedOutput(endpoint).data)

    @extend_schema(responses={200: s.DeliveryOutput(many=True)})
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        """The endpoint's delivery log, newest first."""
        paginator = DeliveryPagination()
        page = paginator.paginate_queryset(
            selectors.delivery_list(endpoint=self.get_object()), request, view=self
        )
        return paginator.get_paginated_response(s.DeliveryOutput(page, many=True).data)

    @extend_schema(request=None, responses={202: s.DeliveryOutput, **problem_responses(404)})
    @action(detail=True, methods=["post"], url_path=r"deliveries/(?P<delivery_id>\d+)/resend")
    def resend(self, request, pk=None, delivery_id=None):
        """Sends the delivery's event to the endpoint again, now."""
        endpoint: WebhookEndpoint = self.get_object()
        delivery = get_object_or_404(selectors.delivery_list(endpoint=endpoint), pk=delivery_id)
        delivery = services.delivery_resend(
            delivery=delivery, actor=request.user, context=action_context(request)
        )
        return Response(s.DeliveryOutput(delivery).data, status=status.HTTP_202_ACCEPTED)

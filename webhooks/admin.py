"""Outgoing webhooks in the admin: endpoints (created and changed through the API, which
shows the secret once; here they are read, enabled, disabled and deleted) and their delivery
log, with "resend"."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from core.admin import LargeTableAdminMixin, ReadOnlyAdminMixin, ServiceWritesAdminMixin
from core.api.context import action_context

from . import services
from .models import WebhookDelivery, WebhookEndpoint


def _may_manage(request: HttpRequest) -> bool:
    return request.user.has_perm(services.MANAGE_PERMISSION)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ServiceWritesAdminMixin, admin.ModelAdmin):
    list_display = ("url", "description", "enabled", "ordered", "consecutive_failures", "owner")
    list_filter = ("enabled",)
    search_fields = ("url", "description")
    fields = (
        "url",
        "events",
        "description",
        "enabled",
        "ordered",
        "consecutive_failures",
        "disabled_reason",
        "previous_secret_expires_at",
        "owner",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields
    actions = ["enable", "disable"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the secret is shown once, by the API's answer to the creation

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _may_manage(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _may_manage(request)

    def delete_model(self, request, obj: WebhookEndpoint) -> None:
        services.endpoint_delete(endpoint=obj, actor=request.user, context=action_context(request))

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for endpoint in queryset:
            self.delete_model(request, endpoint)

    def _set_enabled(self, request, queryset: Any, enabled: bool) -> None:
        for endpoint in queryset:
            services.endpoint_update(
                endpoint=endpoint,
                enabled=enabled,
                actor=request.user,
                context=action_context(request),
            )
        self.message_user(request, f"{queryset.count()} endpoint(s) updated.")

    @admin.action(description="Enable (pending deliveries go out again)", permissions=["change"])
    def enable(self, request: HttpRequest, queryset: Any) -> None:
        self._set_enabled(request, queryset, True)

    @admin.action(description="Disable", permissions=["change"])
    def disable(self, request: HttpRequest, queryset: Any) -> None:
        self._set_enabled(request, queryset, False)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdminMixin, LargeTableAdminMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "endpoint",
        "event_type",
        "event_id",
        "status",
        "attempts",
        "last_status_code",
        "last_latency_ms",
        "next_attempt_at",
    )
    list_filter = ("status",)
    raw_id_fields = ("endpoint",)
    search_fields = ("=event_id",)
    actions = ["resend"]

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return _may_manage(request)

    @admin.action(description="Resend now", permissions=["resend"])
    def resend(self, request, queryset: Any) -> None:
        for delivery in queryset:
            services.delivery_resend(
                delivery=delivery, actor=request.user, context=action_context(request)
            )
        self.message_user(request, f"{queryset.count()} delivery(ies) queued to resend.")

from django.apps import AppConfig


def _record_cookie_login(sender, request, user, **kwargs) -> None:
    """Django's login view (the admin's) is the only place that knows a cookie sign-in
    finished, after the password and any 2FA code; the API records its own in session_open."""
    from core import audit
    from core.api.context import action_context
    from core.models import AuditAction

    audit.record(
        action=AuditAction.LOGIN_SUCCEEDED,
        actor=user,
        target=user,
        context=action_context(request),
    )


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        user_logged_in.connect(_record_cookie_login, dispatch_uid="accounts.cookie_login")

        from core import events

        from .event_audience import permissions_of

        events.register_audience("permission", permissions_of)

        from .api.serializers import api_key_representation, session_representation

        # What the API lists is what the events about the object carry.
        events.register_representation("accounts.apisession", session_representation)
        events.register_representation("accounts.apikey", api_key_representation)

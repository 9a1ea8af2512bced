from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class CoreConfig(AppConfig):
    # This module also holds the admin's config; "core" in INSTALLED_APPS means this one.
    default = True
    name = "core"
    verbose_name = "Core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core import checks  # noqa: F401 (registers the system checks)


class AtriumAdminConfig(admin_apps.AdminConfig):
    """Django's admin with Atrium's site (the 2FA gate) as ``admin.site``; listed in
    INSTALLED_APPS in place of ``django.contrib.admin``."""

    default = False
    default_site = "core.admin_site.AtriumAdminSite"

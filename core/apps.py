from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db import connections
from django.db.models.signals import post_migrate


def ensure_log_partitions(sender, using: str, **kwargs) -> None:
    """After every ``migrate`` (the one step of a deployment): the coming months of the logs
    get their partitions, so a deployment at least monthly needs no cron for them."""
    from core.partitions import LOGS, is_partitioned
    from core.services.partitions import partitions_ensure

    if using != "default" or connections[using].in_atomic_block:
        return
    # Migrated backwards past the partitioning, or not yet so far: nothing to keep.
    if all(is_partitioned(table) for table in LOGS):
        partitions_ensure()


class CoreConfig(AppConfig):
    # This module also holds the admin's config; "core" in INSTALLED_APPS means this one.
    default = True
    name = "core"
    verbose_name = "Core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core import checks  # noqa: F401 (registers the system checks)

        post_migrate.connect(ensure_log_partitions, sender=self)


class AtriumAdminConfig(admin_apps.AdminConfig):
    """Django's admin with Atrium's site (the 2FA gate) as ``admin.site``; listed in
    INSTALLED_APPS in place of ``django.contrib.admin``."""

    default = False
    default_site = "core.admin_site.AtriumAdminSite"

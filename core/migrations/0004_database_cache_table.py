from django.db import migrations

from core.migration_operations import CreateDatabaseCacheTable


class Migration(migrations.Migration):
    dependencies = [("core", "0003_audit_action_without_choices")]
    operations = [CreateDatabaseCacheTable()]

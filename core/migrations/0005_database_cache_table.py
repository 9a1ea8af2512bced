from django.db import migrations

from core.migration_operations import CreateDatabaseCacheTable


class Migration(migrations.Migration):
    dependencies = [("core", "0004_events")]
    operations = [CreateDatabaseCacheTable()]

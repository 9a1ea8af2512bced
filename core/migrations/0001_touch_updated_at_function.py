from django.db import migrations

from core.migration_operations import CreateTouchUpdatedAtFunction


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [CreateTouchUpdatedAtFunction()]

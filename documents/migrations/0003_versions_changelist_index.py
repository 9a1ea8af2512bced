from django.conf import settings
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # Built concurrently: on a table of millions of rows a plain CREATE INDEX would hold off
    # every write for the minutes the build takes.
    atomic = False

    dependencies = [
        ('documents', '0002_search_versions_and_sharing'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        AddIndexConcurrently(
            model_name='documentversion',
            index=models.Index(fields=['-created_at', '-id'], name='document_versions_newest_idx'),
        ),
    ]

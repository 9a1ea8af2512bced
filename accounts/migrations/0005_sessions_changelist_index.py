from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # Built concurrently: on a table of millions of rows a plain CREATE INDEX would hold off
    # every write for the minutes the build takes.
    atomic = False

    dependencies = [
        ('accounts', '0004_sign_in_devices'),
    ]

    operations = [
        AddIndexConcurrently(
            model_name='apisession',
            index=models.Index(fields=['-created_at', '-id'], name='sessions_newest_idx'),
        ),
    ]

from django.conf import settings
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # Built concurrently: on a table of millions of rows a plain CREATE INDEX would hold off
    # every write for the minutes the build takes.
    atomic = False

    dependencies = [
        ('chat', '0003_search_by_conversation'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        AddIndexConcurrently(
            model_name='message',
            index=models.Index(fields=['-sent_at', '-id'], name='messages_newest_idx'),
        ),
        AddIndexConcurrently(
            model_name='message',
            index=models.Index(fields=['message_type', '-sent_at', '-id'], name='messages_type_newest_idx'),
        ),
        AddIndexConcurrently(
            model_name='message',
            index=models.Index(condition=models.Q(('deleted_at__isnull', False)), fields=['-sent_at', '-id'], name='messages_deleted_newest_idx'),
        ),
    ]

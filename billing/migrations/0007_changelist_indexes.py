from django.conf import settings
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # Built concurrently: on a table of millions of rows a plain CREATE INDEX would hold off
    # every write for the minutes the build takes.
    atomic = False

    dependencies = [
        ('billing', '0006_customer_email_unique'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        AddIndexConcurrently(
            model_name='invoice',
            index=models.Index(fields=['-created_at', '-id'], name='invoices_newest_idx'),
        ),
        AddIndexConcurrently(
            model_name='invoice',
            index=models.Index(fields=['status', '-created_at', '-id'], name='invoices_status_newest_idx'),
        ),
        AddIndexConcurrently(
            model_name='payment',
            index=models.Index(fields=['-created_at', '-id'], name='payments_newest_idx'),
        ),
        AddIndexConcurrently(
            model_name='payment',
            index=models.Index(fields=['status', '-created_at', '-id'], name='payments_status_newest_idx'),
        ),
        AddIndexConcurrently(
            model_name='payment',
            index=models.Index(fields=['provider', '-created_at', '-id'], name='payments_provider_newest_idx'),
        ),
    ]

"""Idempotency keys are core's now (core 0007 takes the table as it is): billing lets go of
the model in Django's state only."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0004_payments_settled_index'),
        ('core', '0007_idempotency_key_from_billing'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="IdempotencyKey")],
            database_operations=[],
        ),
    ]

"""The Idempotency-Key table becomes core's: every create a client may retry takes a key now,
not only billing's money writes. The table stays where it is; only Django's state moves (billing
0005 lets go of it) and the constraints take core's names."""

import core.db
import django.contrib.postgres.functions
import django.db.models.deletion
import uuid
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0006_event_audience_kind_known'),
        ('billing', '0004_payments_settled_index'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
        migrations.CreateModel(
            name='IdempotencyKey',
            fields=[
                ('id', models.UUIDField(db_default=django.contrib.postgres.functions.RandomUUID(), default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('key', models.CharField(max_length=255)),
                ('fingerprint', models.CharField(max_length=64)),
                ('response_status', models.PositiveSmallIntegerField(null=True)),
                ('response_body', models.JSONField(null=True)),
                ('created_at', models.DateTimeField(db_default=core.db.CurrentTimestamp(), editable=False, null=True)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'db_table': 'idempotency_keys',
                'indexes': [models.Index(fields=['created_at'], name='idempotency_keys_created_idx')],
                'constraints': [models.UniqueConstraint(fields=('user', 'key'), name='core_idempotencykey_unique_per_user', violation_error_message='This idempotency key was already used.'), models.CheckConstraint(condition=models.Q(('key', ''), _negated=True), name='core_idempotencykey_key_not_empty', violation_error_message='An idempotency key cannot be empty.')],
            },
        ),
            ],
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE idempotency_keys RENAME CONSTRAINT"
                    " billing_idempotencykey_unique_per_user TO core_idempotencykey_unique_per_user;"
                    " ALTER TABLE idempotency_keys RENAME CONSTRAINT"
                    " billing_idempotencykey_key_not_empty TO core_idempotencykey_key_not_empty",
                    reverse_sql="ALTER TABLE idempotency_keys RENAME CONSTRAINT"
                    " core_idempotencykey_unique_per_user TO billing_idempotencykey_unique_per_user;"
                    " ALTER TABLE idempotency_keys RENAME CONSTRAINT"
                    " core_idempotencykey_key_not_empty TO billing_idempotencykey_key_not_empty",
                ),
            ],
        ),
    ]

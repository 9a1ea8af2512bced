"""Database building blocks shared by every app: key and timestamp fields whose defaults live in
PostgreSQL (so plain-SQL writers get them too), and the soft-delete manager."""

import uuid
from collections.abc import Mapping, Sequence
from functools import cache
from typing import TypeVar

from django.contrib.postgres.functions import RandomUUID
from django.db import connections, models
from django.db.models.functions import Now


class CurrentTimestamp(models.Func):
    """SQL's ``CURRENT_TIMESTAMP``: the exact default the schema contract names.

    Django's ``Now()`` renders ``STATEMENT_TIMESTAMP()`` on PostgreSQL, which would make the
    migrated columns differ from ``schema.sql``.
    """

    template = "CURRENT_TIMESTAMP"
    output_field = models.DateTimeField()


class JSONBTypeof(models.Func):
    """``jsonb_typeof(...)``: lets a check constraint hold the shape of a JSON column."""

    function = "jsonb_typeof"
    output_field = models.CharField()


M = TypeVar("M", bound=models.Model)


@cache
def _fields_with_converters(model: type[models.Model]) -> tuple[tuple[int, models.Field], ...]:
    return tuple(
        (index, field)
        for index, field in enumerate(model._meta.concrete_fields)
        if hasattr(field, "from_db_value")
    )


def instance_from_row(model: type[M], values: Sequence, *, using: str = "default") -> M:
    """The instance a queryset would build from ``values``, one per concrete field of
    ``model`` in order, converted as the ORM converts them (JSON decoded, for one): for the
    few hot statements written as SQL."""
    if len(values) != len(model._meta.concrete_fields):
        raise ValueError(f"{model.__name__} takes {len(model._meta.concrete_fields)} values.")
    connection = connections[using]
    converted = list(values)
    for index, field in _fields_with_converters(model):
        for convert in field.get_db_converters(connection):
            converted[index] = convert(converted[index], field.cached_col, connection)
    # With every concrete field present the names are never read; building them per row would
    # cost the hot path for nothing (the stubs want a collection).
    return model.from_db(using, None, converted)  # type: ignore[arg-type]


def uuid_primary_key() -> models.UUIDField:
    # Python's uuid4 lets the ORM know the key before the INSERT (bulk loads, factories);
    # gen_random_uuid() serves every writer that goes around Django.
    return models.UUIDField(
        primary_key=True, default=uuid.uuid4, db_default=RandomUUID(), editable=False
    )


def timestamp_field(**kwargs) -> models.DateTimeField:
    """A ``timestamptz`` set by the database when the row is written.

    Nullable because the schema contract declares these columns without NOT NULL; Django
    never writes NULL into them.
    """
    return models.DateTimeField(null=True, db_default=CurrentTimestamp(), editable=False, **kwargs)


class UUIDModel(models.Model):
    """Abstract base: a database-generated UUID key."""

    id = uuid_primary_key()

    class Meta:
        abstract = True


class TimestampedModel(UUIDModel):
    """Abstract base: UUID key plus ``created_at`` and ``updated_at``.

    ``updated_at`` is moved by a database trigger (core.migration_operations.TouchUpdatedAt),
    so it also moves for ``QuerySet.update()`` and plain SQL.
    """

    created_at = timestamp_field()
    updated_at = timestamp_field()

    class Meta:
        abstract = True


def save_changes(instance: M, changes: Mapping[str, object]) -> M:
    """Sets ``changes`` on ``instance`` and saves those columns only (a concurrent change to
    another column is not overwritten), then reads back ``updated_at``, which the database
    trigger moved. Nothing is written when there is nothing to change."""
    if not changes:
        return instance
    for name, value in changes.items():
        setattr(instance, name, value)
    instance.save(update_fields=list(changes))
    if any(field.name == "updated_at" for field in instance._meta.concrete_fields):
        instance.refresh_from_db(fields=["updated_at"])
    return instance


class SoftDeleteQuerySet(models.QuerySet):
    def alive(self) -> "SoftDeleteQuerySet":
        return self.filter(deleted_at__isnull=True)

    def deleted(self) -> "SoftDeleteQuerySet":
        return self.filter(deleted_at__isnull=False)

    def soft_delete(self) -> int:
        """Marks the live rows of this queryset deleted; returns how many changed."""
        return self.alive().update(deleted_at=Now())

    def restore(self) -> int:
        """Brings the deleted rows of this queryset back; returns how many changed."""
        return self.deleted().update(deleted_at=None)


AllRowsManager = models.Manager.from_queryset(SoftDeleteQuerySet)


class LiveManager(AllRowsManager):
    """The default manager of soft-deletable models: deleted rows are invisible."""

    def get_queryset(self) -> SoftDeleteQuerySet:
        return super().get_queryset().alive()  # type: ignore[attr-defined]


class SoftDeleteModel(models.Model):
    """Abstract mixin: ``deleted_at`` plus managers that hide (``objects``) or show
    (``all_objects``) deleted rows. Related-object access uses ``all_objects`` so an invoice
    still reaches its soft-deleted customer."""

    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = LiveManager()
    all_objects = AllRowsManager()

    class Meta:
        abstract = True
        base_manager_name = "all_objects"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

"""Removing what was soft-deleted long enough ago: the retention of docs/product.md §1.

Generic over every model with ``deleted_at`` (core.db.SoftDeleteModel), found in the app
registry, so core needs to know no app. Rows go in batches, each batch its own transaction,
so a long purge never holds locks for long and an interrupted one keeps what it finished.
Django's deletion collector removes each row's children with it (a conversation's messages,
a document's versions and shares) and refuses a row that money records still point at (a
customer with invoices, a product on an invoice line): those are kept and counted, because
money records are never purged.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import models, transaction
from django.db.models.deletion import ProtectedError, RestrictedError
from django.utils import timezone

from core import audit
from core.context import ActionContext
from core.db import SoftDeleteModel
from core.models import AuditAction

DEFAULT_BATCH_SIZE = 500


@dataclass
class PurgeCount:
    label: str  # "chat.message"
    cutoff: datetime
    due: int = 0  # soft-deleted before the cutoff
    purged: int = 0  # rows of this model removed (children of other models not included)
    kept: int = 0  # refused: still referenced by records that are never purged


@dataclass
class PurgeReport:
    dry_run: bool
    counts: list[PurgeCount] = field(default_factory=list)


Progress = Callable[[PurgeCount], None]


def soft_deletable_models() -> list[type[models.Model]]:
    """Every concrete soft-deletable model, children before the parents they point at, so a
    batch of parents never counts rows a child's own pass would have removed."""
    found = [
        model
        for model in apps.get_models()
        if issubclass(model, SoftDeleteModel) and not model._meta.abstract
    ]

    def parents(model: type[models.Model]) -> set[type[models.Model]]:
        return {
            f.related_model
            for f in model._meta.concrete_fields
            if f.is_relation and f.related_model in found and f.related_model is not model
        }

    ordered: list[type[models.Model]] = []
    remaining = sorted(found, key=lambda m: m._meta.label_lower)
    while remaining:
        # A model goes once no other remaining model points at it.
        ready = [m for m in remaining if not any(m in parents(o) for o in remaining if o is not m)]
        ordered.extend(ready or remaining)
        remaining = [m for m in remaining if m not in ordered]
    return ordered


def retention_days(label: str, *, older_than: timedelta | None) -> timedelta:
    if older_than is not None:
        return older_than
    per_model: dict[str, int] = settings.SOFT_DELETE_RETENTION_DAYS
    return timedelta(days=per_model.get(label, per_model["default"]))


def purge_deleted(
    *,
    actor: Any,
    context: ActionContext,
    older_than: timedelta | None = None,
    dry_run: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
) -> PurgeReport:
    """Removes every row soft-deleted longer ago than its retention (``older_than`` for all,
    or the per-model ``SOFT_DELETE_RETENTION_DAYS``); with ``dry_run`` counts what is due and
    removes nothing. One audit event records the counts of a real run."""
    now = timezone.now()
    report = PurgeReport(dry_run=dry_run)
    for model in soft_deletable_models():
        label = model._meta.label_lower
        count = PurgeCount(label=label, cutoff=now - retention_days(label, older_than=older_than))
        due = model.all_objects.filter(deleted_at__lt=count.cutoff)  # type: ignore[attr-defined]
        count.due = due.count()
        report.counts.append(count)
        if not dry_run:
            _purge_model(due=due, count=count, batch_size=batch_size, progress=progress)
        if progress is not None:
            progress(count)
    if not dry_run:
        _record(report=report, actor=actor, context=context)
    return report


def _purge_model(
    *,
    due: "models.QuerySet[Any]",
    count: PurgeCount,
    batch_size: int,
    progress: Progress | None,
) -> None:
    last_pk: Any = None
    while True:
        # Keyset over the primary key: kept rows stay behind the cursor, never re-read.
        batch = due.order_by("pk")
        if last_pk is not None:
            batch = batch.filter(pk__gt=last_pk)
        pks = list(batch.values_list("pk", flat=True)[:batch_size])
        if not pks:
            return
        last_pk = pks[-1]
        purged, kept = _purge_batch(due=due, pks=pks)
        count.purged += purged
        count.kept += kept
        if progress is not None:
            progress(count)


def _purge_batch(*, due: "models.QuerySet[Any]", pks: list[Any]) -> tuple[int, int]:
    try:
        return _delete(due.filter(pk__in=pks)), 0
    except (ProtectedError, RestrictedError):
        pass
    # Some rows of the batch are still referenced: take the others one by one.
    purged = kept = 0
    for pk in pks:
        try:
            purged += _delete(due.filter(pk=pk))
        except (ProtectedError, RestrictedError):
            kept += 1
    return purged, kept


@transaction.atomic(durable=True)
def _delete(rows: "models.QuerySet[Any]") -> int:
    # Locked through the due filter: a row restored since the batch was read no longer
    # matches it and stays; one being restored right now waits for us or we for it.
    locked = list(rows.select_for_update().values_list("pk", flat=True))
    if not locked:
        return 0
    _, per_model = rows.model._base_manager.filter(pk__in=locked).delete()
    return per_model.get(rows.model._meta.label, 0)


@transaction.atomic(durable=True)
def _record(*, report: PurgeReport, actor: Any, context: ActionContext) -> None:
    audit.record(
        action=AuditAction.DELETED_ROWS_PURGED,
        actor=actor,
        after={
            count.label: {
                "purged": count.purged,
                "kept": count.kept,
                "cutoff": count.cutoff.isoformat(),
            }
            for count in report.counts
        },
        context=context,
    )

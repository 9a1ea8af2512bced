"""The monthly partitions of the audit trail and the event log: what exists and how far back the
live rows go (reads only; creating and archiving are core/services/partitions.py).

Both logs are partitioned by RANGE of ``occurred_at`` (migration core/0008), one partition per
calendar month in UTC named ``<table>_YYYY_MM``, plus ``<table>_default`` for a row of a month
nobody created (it should stay empty: db_health says when it is not).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection

from . import sql

LOGS = ("audit_events", "events")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def of(cls, moment: datetime) -> Month:
        moment = moment.astimezone(UTC)
        return cls(moment.year, moment.month)

    @classmethod
    def parse(cls, text: str) -> Month:
        """``YYYY-MM``; ValueError otherwise."""
        match = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
        if match is None or not 1 <= int(match[2]) <= 12:
            raise ValueError(f"expected a month as YYYY-MM, not {text!r}")
        return cls(int(match[1]), int(match[2]))

    def following(self, months: int = 1) -> Month:
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return self.following().start

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def partition_of(self, table: str) -> str:
        return f"{table}_{self.year:04d}_{self.month:02d}"


def default_partition(table: str) -> str:
    return f"{table}_default"


def is_partitioned(table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(sql.IS_PARTITIONED, [table])
        return bool(cursor.fetchone()[0])


def months_of(table: str) -> list[Month]:
    """The months that have a partition, oldest first."""
    pattern = re.compile(rf"{re.escape(table)}_(\d{{4}})_(\d{{2}})")
    with connection.cursor() as cursor:
        cursor.execute(sql.PARTITIONS, [table])
        names = [row[0] for row in cursor.fetchall()]
    return sorted(
        Month(int(match[1]), int(match[2])) for name in names if (match := pattern.fullmatch(name))
    )


@dataclass(frozen=True)
class DefaultRows:
    rows: int
    oldest: datetime | None
    newest: datetime | None


def default_rows(table: str) -> DefaultRows:
    """What the DEFAULT partition holds (rows of months without a partition of their own)."""
    with connection.cursor() as cursor:
        cursor.execute(sql.DEFAULT_ROWS.format(partition=_quoted(default_partition(table))))
        return DefaultRows(*cursor.fetchone())


def live_since(table: str) -> datetime | None:
    """When the oldest row still in the log occurred: older ones were archived (or, for events,
    purged). None when the log is empty."""
    with connection.cursor() as cursor:
        cursor.execute(sql.OLDEST_ROW.format(table=_quoted(table)))
        return cursor.fetchone()[0]


def _quoted(name: str) -> str:
    return connection.ops.quote_name(name)

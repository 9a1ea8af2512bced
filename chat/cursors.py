"""Keyset cursors of the chat lists: an opaque token holding the direction of the walk and the
sort key of the last row served.

Every chat list is ordered by a (timestamp, uuid) pair that is unique, so "the rows after this
key" is one range scan on an index that ends in the same two columns: no OFFSET, and no row is
served twice or skipped when rows are added at the other end of the list.
"""

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from core.exceptions import ValidationFailed

# The text form PostgreSQL writes (to_char ... 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') and Python
# reads: microseconds always present, UTC, so a key survives the round trip exactly.
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class Direction(StrEnum):
    OLDER = "o"  # newest first, continuing towards older rows
    NEWER = "n"  # oldest first, continuing towards newer rows
    CHANGES = "c"  # by change time, oldest change first (``since`` sync)


@dataclass(frozen=True)
class Key:
    """A row's position: its sort timestamp and its id (the tie-breaker)."""

    at: datetime
    id: uuid.UUID

    @classmethod
    def parse(cls, text: str) -> "Key":
        """From the ``"<timestamp> <uuid>"`` text the page SQL returns."""
        at, _, row_id = text.partition(" ")
        return cls(datetime.strptime(at, TIMESTAMP_FORMAT).replace(tzinfo=UTC), uuid.UUID(row_id))


@dataclass(frozen=True)
class Cursor:
    direction: Direction
    key: Key

    def encode(self) -> str:
        raw = f"{self.direction}|{self.key.at.strftime(TIMESTAMP_FORMAT)}|{self.key.id}"
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, *, allowed: frozenset[Direction]) -> "Cursor":
        """The cursor a client sent back; a token we did not issue for this list is a 400."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            direction, at, row_id = raw.split("|")
            cursor = cls(
                Direction(direction),
                Key(
                    datetime.strptime(at, TIMESTAMP_FORMAT).replace(tzinfo=UTC),
                    uuid.UUID(row_id),
                ),
            )
        except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
            raise invalid_cursor() from exc
        if cursor.direction not in allowed:
            raise invalid_cursor()
        return cursor


def invalid_cursor() -> ValidationFailed:
    return ValidationFailed(fields={"cursor": ["Invalid cursor."]}, code="invalid_cursor")

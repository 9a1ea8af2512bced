"""The sealing of encrypted backups (core.backup.seal/unseal) over several chunks: whatever is
cut, moved or altered is refused."""

import io
import os

import pytest
from django.core.management import CommandError

from core.backup import _CHUNK, _LENGTH, _MAGIC, _NONCE_PREFIX_BYTES, seal, unseal

KEY = bytes(range(32))
PLAIN = os.urandom(2 * _CHUNK + 12345)


def sealed_chunks(data: bytes) -> tuple[bytes, list[bytes]]:
    """The header and each length-prefixed chunk of a sealed stream."""
    header_size = len(_MAGIC) + _NONCE_PREFIX_BYTES
    header, rest, chunks = data[:header_size], data[header_size:], []
    while rest:
        size = _LENGTH.size + _LENGTH.unpack(rest[: _LENGTH.size])[0]
        chunks.append(rest[:size])
        rest = rest[size:]
    return header, chunks


def sealed(plain: bytes) -> bytes:
    out = io.BytesIO()
    seal(io.BytesIO(plain), out, KEY)
    return out.getvalue()


def opened(data: bytes, key: bytes = KEY) -> bytes:
    out = io.BytesIO()
    unseal(io.BytesIO(data), out, key)
    return out.getvalue()


@pytest.mark.parametrize("size", [0, 1, _CHUNK, len(PLAIN)], ids=["empty", "byte", "chunk", "3"])
def test_what_is_sealed_opens_as_it_was(size):
    assert opened(sealed(PLAIN[:size])) == PLAIN[:size]


def test_a_sealed_stream_is_not_its_plain_text_and_differs_each_time():
    assert PLAIN[:64] not in sealed(PLAIN)
    assert sealed(PLAIN) != sealed(PLAIN)


def test_dropping_the_last_chunk_is_refused_as_cut_short():
    header, chunks = sealed_chunks(sealed(PLAIN))

    with pytest.raises(CommandError, match="cut short"):
        opened(header + b"".join(chunks[:-1]))


@pytest.mark.parametrize(
    "tamper",
    [
        lambda chunks: [chunks[1], chunks[0], *chunks[2:]],
        lambda chunks: [chunks[0], chunks[2]],
        lambda chunks: [*chunks[:-1], chunks[-1][:-1] + bytes([chunks[-1][-1] ^ 1])],
    ],
    ids=["swapped", "middle-dropped", "bit-flipped"],
)
def test_moved_dropped_or_altered_chunks_are_refused(tamper):
    header, chunks = sealed_chunks(sealed(PLAIN))

    with pytest.raises(CommandError, match="does not open"):
        opened(header + b"".join(tamper(chunks)))


def test_another_key_does_not_open_it():
    with pytest.raises(CommandError, match="does not open"):
        opened(sealed(PLAIN), key=bytes(32))


def test_data_after_the_end_is_refused():
    with pytest.raises(CommandError, match="after its end"):
        opened(sealed(PLAIN) + b"x")

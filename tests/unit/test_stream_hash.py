"""The streaming BLAKE2b-256 the server checks chunk uploads with (docs/PROTOCOL.md §8.2)."""

from __future__ import annotations

import random

import pytest

from isecom.crypto import attachments
from isecom.crypto.hashing import H256Stream, h256


def _streamed(data: bytes, pieces: list[int]) -> bytes:
    hasher = H256Stream()
    offset = 0
    for size in pieces:
        hasher.update(data[offset : offset + size])
        offset += size
    hasher.update(data[offset:])
    return hasher.digest()


def test_streamed_hash_equals_the_chunk_hash_of_whole_blobs() -> None:
    rng = random.Random(6)
    encrypted = attachments.encrypt_file(
        rng.randbytes(300_000), name="x.bin", mime="application/octet-stream", chunk_size=attachments.MIN_CHUNK
    )
    for blob, expected in zip(encrypted.blobs, encrypted.hashes, strict=True):
        pieces = [rng.randint(0, 70_000) for _ in range(rng.randint(0, 5))]
        assert _streamed(blob, pieces) == expected == attachments.chunk_hash(blob)


@pytest.mark.parametrize("data", [b"", b"a", bytes(range(256)) * 1000])
def test_streamed_hash_equals_h256_for_any_split(data: bytes) -> None:
    assert _streamed(data, []) == h256(data)
    assert _streamed(data, [1] * min(len(data), 300)) == h256(data)
    assert _streamed(data, [0, 0, 7]) == h256(data)


def test_a_final_hash_cannot_be_extended() -> None:
    hasher = H256Stream()
    hasher.update(b"abc")
    hasher.digest()
    with pytest.raises(ValueError, match="final"):
        hasher.update(b"d")
    with pytest.raises(ValueError, match="final"):
        hasher.digest()

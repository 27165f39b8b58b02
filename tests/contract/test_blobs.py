"""The blob-store contract (filesystem today; the object store of the deployment issue must pass it too)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from isecom.errors import InvalidInput, NotFound, TooLarge
from storage.blobs import FileBlobStore


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


@pytest.fixture
def blobs(tmp_path: Path) -> FileBlobStore:
    return FileBlobStore(tmp_path / "blobs")


async def read(blobs: FileBlobStore, blob_id: str) -> bytes:
    return b"".join([part async for part in blobs.get(blob_id)])


async def test_put_get_size_delete(blobs: FileBlobStore) -> None:
    assert await blobs.put("abc123", chunks(b"hello ", b"world"), max_bytes=100) == 11
    assert await read(blobs, "abc123") == b"hello world"
    assert await blobs.size("abc123") == 11
    assert await blobs.exists("abc123")
    assert await blobs.delete("abc123")
    assert not await blobs.exists("abc123")
    assert not await blobs.delete("abc123")
    with pytest.raises(NotFound):
        await read(blobs, "abc123")
    with pytest.raises(NotFound):
        await blobs.size("abc123")


async def test_large_blob_streams_in_chunks(blobs: FileBlobStore) -> None:
    part = os.urandom(1024 * 1024)
    assert await blobs.put("big", chunks(*[part] * 5), max_bytes=10 * 1024 * 1024) == 5 * len(part)
    pieces = [p async for p in blobs.get("big")]
    assert len(pieces) == 5 and b"".join(pieces) == part * 5


async def test_overwrite_replaces_atomically(blobs: FileBlobStore) -> None:
    await blobs.put("same", chunks(b"first"), max_bytes=100)
    await blobs.put("same", chunks(b"second"), max_bytes=100)
    assert await read(blobs, "same") == b"second"


async def test_too_large_or_failed_write_leaves_nothing(blobs: FileBlobStore) -> None:
    with pytest.raises(TooLarge):
        await blobs.put("toolarge", chunks(b"x" * 60, b"y" * 60), max_bytes=100)
    assert not await blobs.exists("toolarge")

    async def broken() -> AsyncIterator[bytes]:
        yield b"partial"
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await blobs.put("broken", broken(), max_bytes=100)
    assert not await blobs.exists("broken")
    assert list((blobs.root / ".tmp").iterdir()) == []


@pytest.mark.parametrize(
    "bad", ["../escape", "a/b", "", ".hidden", "-x", "UPPER", "a" * 129, "x\x00y", "..", "/etc/passwd"]
)
async def test_ids_cannot_escape_the_folder(blobs: FileBlobStore, bad: str) -> None:
    with pytest.raises(InvalidInput):
        await blobs.put(bad, chunks(b"x"), max_bytes=10)
    with pytest.raises(InvalidInput):
        await blobs.exists(bad)


async def test_writable_check(blobs: FileBlobStore, tmp_path: Path) -> None:
    await blobs.check_writable()
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("x")
    from isecom.errors import Unavailable

    with pytest.raises(Unavailable):
        await FileBlobStore(blocked / "blobs").check_writable()

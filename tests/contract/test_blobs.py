"""The blob-store contract: the filesystem store and the S3 store (on moto's server, loopback) alike."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from isecom.errors import InvalidInput, NotFound, TooLarge, Unavailable
from isecom.services.ports import BlobStore
from storage.blobs import FileBlobStore
from storage.s3blobs import S3BlobStore
from tests.s3server import make_bucket, open_multipart_uploads, s3_endpoint  # noqa: F401 - a fixture


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


@pytest.fixture(params=["files", "s3"])
async def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    if request.param == "files":
        yield FileBlobStore(tmp_path / "blobs")
        return
    endpoint = request.getfixturevalue("s3_endpoint")
    async with S3BlobStore(await make_bucket(endpoint), part_size=5 * 1024 * 1024) as store:
        yield store


async def leftovers(blobs: BlobStore) -> list[str]:
    """What a failed write left behind: temp files, or unfinished multipart uploads."""
    if isinstance(blobs, FileBlobStore):
        return [p.name for p in (blobs.root / ".tmp").iterdir()]
    assert isinstance(blobs, S3BlobStore)
    return await open_multipart_uploads(blobs)


async def read(blobs: BlobStore, blob_id: str) -> bytes:
    return b"".join([part async for part in blobs.get(blob_id)])


async def test_put_get_size_delete(blobs: BlobStore) -> None:
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


async def test_large_blob_streams_in_chunks(blobs: BlobStore) -> None:
    part = os.urandom(1024 * 1024)
    assert await blobs.put("big", chunks(*[part] * 5), max_bytes=10 * 1024 * 1024) == 5 * len(part)
    pieces = [p async for p in blobs.get("big")]
    assert len(pieces) == 5 and b"".join(pieces) == part * 5


async def test_overwrite_replaces_atomically(blobs: BlobStore) -> None:
    await blobs.put("same", chunks(b"first"), max_bytes=100)
    await blobs.put("same", chunks(b"second"), max_bytes=100)
    assert await read(blobs, "same") == b"second"


async def test_too_large_or_failed_write_leaves_nothing(blobs: BlobStore) -> None:
    with pytest.raises(TooLarge):
        await blobs.put("toolarge", chunks(b"x" * 60, b"y" * 60), max_bytes=100)
    assert not await blobs.exists("toolarge")

    async def broken() -> AsyncIterator[bytes]:
        yield b"partial"
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await blobs.put("broken", broken(), max_bytes=100)
    assert not await blobs.exists("broken")
    assert await leftovers(blobs) == []


async def test_many_uneven_pieces_keep_their_order_and_a_failure_after_whole_batches_leaves_nothing(
    blobs: BlobStore,
) -> None:
    """The filesystem store gathers pieces into batches written while later pieces arrive
    (``WRITE_BATCH``, ``os.writev`` of up to ``IOV_MAX`` pieces): thousands of pieces of uneven
    sizes, empty ones among them, come back byte for byte; a failure after several batches were
    written leaves no blob and no temp file."""
    sizes = [(i * 7919) % 601 for i in range(12_000)]  # 0 … 600 bytes, 3.6 MB: batches of > IOV_MAX pieces
    data = os.urandom(sum(sizes))
    pieces, at = [], 0
    for size in sizes:
        pieces.append(data[at : at + size])
        at += size
    assert await blobs.put("uneven", chunks(*pieces), max_bytes=len(data)) == len(data)
    assert await read(blobs, "uneven") == data

    async def broken() -> AsyncIterator[bytes]:
        for piece in pieces:
            yield piece
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await blobs.put("uneven-broken", broken(), max_bytes=2 * len(data))
    assert not await blobs.exists("uneven-broken")
    assert await leftovers(blobs) == []


async def test_multipart_sized_blob_and_failure_midway(blobs: BlobStore) -> None:
    """Past one S3 part (5 MiB here) the S3 store uploads in parts; a failure after some parts
    were sent aborts them, and the earlier blob under that id stays whole."""
    part = os.urandom(1024 * 1024)
    assert await blobs.put("multi", chunks(*[part] * 11), max_bytes=12 * 1024 * 1024) == 11 * len(part)
    assert await blobs.size("multi") == 11 * len(part)
    assert await read(blobs, "multi") == part * 11

    async def dies_late() -> AsyncIterator[bytes]:
        for _ in range(7):
            yield part
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await blobs.put("multi", dies_late(), max_bytes=12 * 1024 * 1024)
    with pytest.raises(TooLarge):
        await blobs.put("multi", chunks(*[part] * 13), max_bytes=12 * 1024 * 1024)
    assert await read(blobs, "multi") == part * 11
    assert await leftovers(blobs) == []


@pytest.mark.parametrize(
    "bad", ["../escape", "a/b", "", ".hidden", "-x", "UPPER", "a" * 129, "x\x00y", "..", "/etc/passwd", "ok\n"]
)
async def test_ids_cannot_escape_the_folder(blobs: BlobStore, bad: str) -> None:
    with pytest.raises(InvalidInput):
        await blobs.put(bad, chunks(b"x"), max_bytes=10)
    with pytest.raises(InvalidInput):
        await blobs.exists(bad)


async def test_writable_check(blobs: BlobStore, tmp_path: Path) -> None:
    await blobs.check_writable()
    broken: BlobStore
    if isinstance(blobs, FileBlobStore):
        blocked = tmp_path / "file-not-dir"
        blocked.write_text("x")
        broken = FileBlobStore(blocked / "blobs")
        with pytest.raises(Unavailable):
            await broken.check_writable()
        return
    assert isinstance(blobs, S3BlobStore)
    missing = replace(blobs.settings, bucket=blobs.settings.bucket + "-missing")
    async with S3BlobStore(missing) as broken:
        with pytest.raises(Unavailable):
            await broken.check_writable()


async def test_ids_lists_every_blob(blobs: BlobStore) -> None:
    assert isinstance(blobs, FileBlobStore | S3BlobStore)
    for name in ("ab", "zz-c1", "0123456789abcdef-c0"):
        await blobs.put(name, chunks(b"x"), max_bytes=10)
    await blobs.check_writable()  # its probe is not a blob
    assert sorted([i async for i in blobs.ids()]) == ["0123456789abcdef-c0", "ab", "zz-c1"]


async def test_listing_by_age(blobs: BlobStore) -> None:
    for name in ("old-c0", "old-c1"):
        await blobs.put(name, chunks(b"x"), max_bytes=10)
    assert sorted([i async for i in blobs.listing(older_than=-60)]) == ["old-c0", "old-c1"]
    assert [i async for i in blobs.listing(older_than=3600)] == []


async def test_s3_sweep_aborts_multipart_uploads_left_by_a_crash(s3_endpoint: str) -> None:  # noqa: F811
    """A process killed mid-upload cannot abort its parts; the next sweep (``listing``) does."""
    async with S3BlobStore(await make_bucket(s3_endpoint)) as store:
        key = f"{store.settings.prefix}crashed-c0"
        await store._client.create_multipart_upload(Bucket=store.settings.bucket, Key=key)
        assert await open_multipart_uploads(store) == [key]
        # (moto dates every upload 2010-11-10, so "too recent to abort" cannot be shown here)
        assert [i async for i in store.listing(older_than=3600)] == []
        assert await open_multipart_uploads(store) == []

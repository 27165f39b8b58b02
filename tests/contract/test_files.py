"""The file repository (evidence attachments), on SQLite and on PostgreSQL."""

from __future__ import annotations

import secrets
from dataclasses import replace

import pytest

from isecom.errors import Conflict
from isecom.services.ports import FileRecord, StoredChunk
from isecom.types import MemberId
from storage.store import SqlStore
from tests.conftest import FakeClock
from tests.contract.test_repositories import a_member


async def _members(store: SqlStore, clock: FakeClock, n: int) -> list[MemberId]:
    found = [a_member(clock, email=f"m{i}@isecom.example") for i in range(n)]
    async with store.transaction() as tx:
        for member in found:
            await tx.members.add(member)
    return [m.id for m in found]


def _record(owner: MemberId, clock: FakeClock, n_chunks: int = 3) -> FileRecord:
    return FileRecord(
        id=secrets.token_hex(16),
        owner_id=owner,
        n_chunks=n_chunks,
        chunk_size=65536,
        plain_size=65536 * (n_chunks - 1) + 10,
        status="uploading",
        created_at=clock.now(),
    )


async def test_files_round_trip_scoped_by_owner(store: SqlStore, clock: FakeClock) -> None:
    owner, other = await _members(store, clock, 2)
    record = _record(owner, clock)
    manifest = b"".join(bytes([i]) * 32 for i in range(3))
    async with store.transaction() as tx:
        await tx.files.add(record, manifest)
    async with store.read() as tx:
        assert await tx.files.get(record.id) == record
        assert await tx.files.owned(owner, record.id) == record
        assert await tx.files.owned(other, record.id) is None
        assert await tx.files.readable(owner, record.id) == record
        assert await tx.files.readable(other, record.id) is None
        assert await tx.files.get(secrets.token_hex(16)) is None
        assert await tx.files.manifest(record.id) == manifest
        assert [await tx.files.chunk_hash(record.id, i) for i in range(3)] == [bytes([i]) * 32 for i in range(3)]
        assert await tx.files.chunks(record.id) == {}
        assert await tx.files.usage(owner) == record.plain_size + 40 * 3
        assert await tx.files.usage(other) == 0


async def test_a_taken_id_is_a_conflict(store: SqlStore, clock: FakeClock) -> None:
    owner, other = await _members(store, clock, 2)
    record = _record(owner, clock)
    async with store.transaction() as tx:
        await tx.files.add(record, bytes(96))
    with pytest.raises(Conflict):
        async with store.transaction() as tx:
            await tx.files.add(replace(record, owner_id=other), bytes(96))
    async with store.read() as tx:
        assert await tx.files.get(record.id) == record


async def test_chunks_are_recorded_once(store: SqlStore, clock: FakeClock) -> None:
    (owner,) = await _members(store, clock, 1)
    record = _record(owner, clock)
    async with store.transaction() as tx:
        await tx.files.add(record, bytes(96))
        assert await tx.files.add_chunk(record.id, 2, 50)
        assert await tx.files.add_chunk(record.id, 0, 65576)
        assert not await tx.files.add_chunk(record.id, 2, 50)
        assert await tx.files.get(record.id) == record  # the transaction is still usable
    async with store.read() as tx:
        assert await tx.files.chunks(record.id) == {0: 65576, 2: 50}


async def test_chunks_keep_their_hash_and_nonce_and_the_manifest_is_set_at_commit(
    store: SqlStore, clock: FakeClock
) -> None:
    """A one-pass upload (§8.2): declared with an empty manifest, filled from the chunks."""
    (owner,) = await _members(store, clock, 1)
    record = _record(owner, clock, n_chunks=2)
    digests, nonces = [bytes([7 + i]) * 32 for i in range(2)], [bytes([9 + i]) * 24 for i in range(2)]
    async with store.transaction() as tx:
        await tx.files.add(record, b"")
        assert await tx.files.add_chunk(record.id, 1, 50, digests[1], nonces[1])
        assert not await tx.files.add_chunk(record.id, 1, 50, digests[0], nonces[0])  # the first stays
        assert await tx.files.add_chunk(record.id, 0, 65576)  # a chunk stored before revision 0014
    async with store.read() as tx:
        assert await tx.files.manifest(record.id) == b""
        assert await tx.files.chunk_hash(record.id, 1) == b""
        assert await tx.files.stored_chunk(record.id, 1) == StoredChunk(50, digests[1], nonces[1])
        assert await tx.files.stored_chunk(record.id, 0) == StoredChunk(65576, None, None)
        assert await tx.files.stored_chunk(secrets.token_hex(16), 0) is None
        assert await tx.files.stored_chunks(record.id) == {
            0: StoredChunk(65576, None, None),
            1: StoredChunk(50, digests[1], nonces[1]),
        }
    async with store.transaction() as tx:
        await tx.files.set_manifest(record.id, b"".join(digests))
    async with store.read() as tx:
        assert await tx.files.manifest(record.id) == b"".join(digests)
        assert await tx.files.chunk_hash(record.id, 1) == digests[1]


async def test_commit_grant_and_readable(store: SqlStore, clock: FakeClock) -> None:
    owner, reader, stranger = await _members(store, clock, 3)
    record = _record(owner, clock)
    async with store.transaction() as tx:
        await tx.files.add(record, bytes(96))
        await tx.files.grant(record.id, [reader])
    async with store.read() as tx:
        assert await tx.files.readable(reader, record.id) is None  # granted, but not committed yet
    clock.advance(minutes=1)
    async with store.transaction() as tx:
        await tx.files.commit(record.id, clock.now())
        await tx.files.grant(record.id, [reader, stranger])
        await tx.files.grant(record.id, [reader])
        await tx.files.grant(record.id, [])
    committed = replace(record, status="committed", committed_at=clock.now())
    async with store.read() as tx:
        assert await tx.files.readable(reader, record.id) == committed
        assert await tx.files.readable(stranger, record.id) == committed
        assert await tx.files.owned(reader, record.id) is None
        assert await tx.files.usage(reader) == 0


async def test_delete_removes_chunks_and_grants(store: SqlStore, clock: FakeClock) -> None:
    owner, reader = await _members(store, clock, 2)
    kept, gone = _record(owner, clock), _record(owner, clock, n_chunks=1)
    async with store.transaction() as tx:
        for record in (kept, gone):
            await tx.files.add(record, bytes(32 * record.n_chunks))
            await tx.files.add_chunk(record.id, 0, 40)
            await tx.files.grant(record.id, [reader])
        await tx.files.delete(gone.id)
    async with store.read() as tx:
        assert await tx.files.get(gone.id) is None
        assert await tx.files.chunks(gone.id) == {}
        assert await tx.files.chunks(kept.id) == {0: 40}
        assert await tx.files.usage(owner) == kept.plain_size + 40 * kept.n_chunks

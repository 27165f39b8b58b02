"""The ``FileRepository`` port: evidence files, their stored chunks, and who may download them."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, exists, func, insert, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from isecom.errors import Conflict
from isecom.services.ports import FileRecord, StoredChunk
from isecom.types import MemberId
from storage import tables as t

HASH_BYTES = 32
COMMITTED = "committed"
_RECORD = (
    t.files.c.id,
    t.files.c.owner_id,
    t.files.c.n_chunks,
    t.files.c.chunk_size,
    t.files.c.plain_size,
    t.files.c.status,
    t.files.c.created_at,
    t.files.c.committed_at,
)


class Files:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, record: FileRecord, manifest: bytes) -> None:
        try:
            await self._conn.execute(
                insert(t.files).values(
                    id=record.id,
                    owner_id=record.owner_id.value,
                    n_chunks=record.n_chunks,
                    chunk_size=record.chunk_size,
                    plain_size=record.plain_size,
                    manifest=manifest,
                    status=record.status,
                    created_at=record.created_at,
                    committed_at=record.committed_at,
                )
            )
        except IntegrityError:
            raise Conflict("This file id is already in use; choose a new random id.") from None

    async def get(self, file_id: str) -> FileRecord | None:
        return await self._one(t.files.c.id == file_id)

    async def owned(self, owner_id: MemberId, file_id: str) -> FileRecord | None:
        return await self._one(and_(t.files.c.id == file_id, t.files.c.owner_id == owner_id.value))

    async def readable(self, member_id: MemberId, file_id: str) -> FileRecord | None:
        granted = exists().where(t.file_access.c.file_id == file_id, t.file_access.c.member_id == member_id.value)
        return await self._one(
            and_(
                t.files.c.id == file_id,
                or_(t.files.c.owner_id == member_id.value, and_(t.files.c.status == COMMITTED, granted)),
            )
        )

    async def manifest(self, file_id: str) -> bytes:
        found = await self._conn.execute(select(t.files.c.manifest).where(t.files.c.id == file_id))
        return bytes(found.scalar_one_or_none() or b"")

    async def chunk_hash(self, file_id: str, index: int) -> bytes:
        # substr on SQLite blobs and PostgreSQL bytea alike: 1-based, so one 32-byte slice is read.
        piece = func.substr(t.files.c.manifest, literal(index * HASH_BYTES + 1), literal(HASH_BYTES))
        found = await self._conn.execute(select(piece).where(t.files.c.id == file_id))
        return bytes(found.scalar_one_or_none() or b"")

    async def chunks(self, file_id: str) -> dict[int, int]:
        rows = await self._conn.execute(
            select(t.file_chunks.c.idx, t.file_chunks.c.size).where(t.file_chunks.c.file_id == file_id)
        )
        return {int(row.idx): int(row.size) for row in rows}

    async def stored_chunk(self, file_id: str, index: int) -> StoredChunk | None:
        c = t.file_chunks.c
        found = await self._conn.execute(select(c.size, c.hash, c.nonce).where(c.file_id == file_id, c.idx == index))
        row = found.first()
        return None if row is None else _stored(row)

    async def stored_chunks(self, file_id: str) -> dict[int, StoredChunk]:
        c = t.file_chunks.c
        rows = await self._conn.execute(select(c.idx, c.size, c.hash, c.nonce).where(c.file_id == file_id))
        return {int(row.idx): _stored(row) for row in rows}

    async def add_chunk(
        self, file_id: str, index: int, size: int, digest: bytes | None = None, nonce: bytes | None = None
    ) -> bool:
        known = await self._conn.execute(
            select(t.file_chunks.c.size).where(t.file_chunks.c.file_id == file_id, t.file_chunks.c.idx == index)
        )
        if known.first() is not None:
            return False
        row = {"file_id": file_id, "idx": index, "size": size, "hash": digest, "nonce": nonce}
        # Two uploads of the same chunk may race to here; the second insert must not abort the
        # transaction on PostgreSQL, so it runs in a savepoint.
        try:
            async with self._conn.begin_nested():
                await self._conn.execute(insert(t.file_chunks).values(**row))
        except IntegrityError:
            return False
        return True

    async def set_manifest(self, file_id: str, manifest: bytes) -> None:
        await self._conn.execute(update(t.files).where(t.files.c.id == file_id).values(manifest=manifest))

    async def commit(self, file_id: str, when: datetime) -> None:
        await self._conn.execute(
            update(t.files).where(t.files.c.id == file_id).values(status=COMMITTED, committed_at=when)
        )

    async def delete(self, file_id: str) -> None:
        await self._conn.execute(delete(t.file_access).where(t.file_access.c.file_id == file_id))
        await self._conn.execute(delete(t.file_chunks).where(t.file_chunks.c.file_id == file_id))
        await self._conn.execute(delete(t.files).where(t.files.c.id == file_id))

    async def usage(self, owner_id: MemberId) -> int:
        declared = func.coalesce(func.sum(t.files.c.plain_size + 40 * t.files.c.n_chunks), 0)
        found = await self._conn.execute(select(declared).where(t.files.c.owner_id == owner_id.value))
        return int(found.scalar_one())

    async def grant(self, file_id: str, member_ids: Collection[MemberId]) -> None:
        wanted = {m.value for m in member_ids}
        if not wanted:
            return
        have = await self._conn.execute(
            select(t.file_access.c.member_id).where(
                t.file_access.c.file_id == file_id, t.file_access.c.member_id.in_(wanted)
            )
        )
        new = sorted(wanted - set(have.scalars()))
        if new:
            await self._conn.execute(insert(t.file_access), [{"file_id": file_id, "member_id": m} for m in new])

    async def _one(self, condition: object) -> FileRecord | None:
        row = (await self._conn.execute(select(*_RECORD).where(condition))).first()  # type: ignore[arg-type]
        return None if row is None else _record(row)


def _record(row: Any) -> FileRecord:
    return FileRecord(
        id=str(row.id),
        owner_id=MemberId(str(row.owner_id)),
        n_chunks=int(row.n_chunks),
        chunk_size=int(row.chunk_size),
        plain_size=int(row.plain_size),
        status=str(row.status),
        created_at=row.created_at,
        committed_at=row.committed_at,
    )


def _stored(row: Any) -> StoredChunk:
    return StoredChunk(
        int(row.size), None if row.hash is None else bytes(row.hash), None if row.nonce is None else bytes(row.nonce)
    )

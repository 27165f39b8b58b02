"""The ``FileLinkRepository`` port: which messages reference which files, reclaiming files no
message references any more, abandoned uploads, and the sealed resume records of uploads."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from isecom.services.files_ports import Unfinished
from isecom.types import MemberId
from storage import tables as t

UPLOADING = "uploading"


class FileLinks:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def link(self, msg_id: str, file_ids: Collection[str]) -> None:
        wanted = sorted(set(file_ids))
        if wanted:
            await self._conn.execute(insert(t.message_files), [{"msg_id": msg_id, "file_id": f} for f in wanted])

    async def release(self, msg_ids: Collection[str]) -> list[tuple[str, list[int]]]:
        """Of ``msg_ids``, the messages no mailbox holds any more lose their links; a file no other
        message references is deleted (rows only). Returns (file id, stored chunk indices) deleted."""
        if not msg_ids:
            return []
        held = select(t.mailbox.c.msg_id).where(t.mailbox.c.msg_id.in_(list(msg_ids)))
        held_ids = set((await self._conn.execute(held)).scalars())
        dropped = sorted(set(msg_ids) - held_ids)
        if not dropped:
            return []
        rows = await self._conn.execute(
            select(t.message_files.c.file_id).where(t.message_files.c.msg_id.in_(dropped)).distinct()
        )
        candidates = sorted(set(rows.scalars()))
        await self._conn.execute(delete(t.message_files).where(t.message_files.c.msg_id.in_(dropped)))
        if not candidates:
            return []
        still = await self._conn.execute(
            select(t.message_files.c.file_id).where(t.message_files.c.file_id.in_(candidates)).distinct()
        )
        gone = sorted(set(candidates) - set(still.scalars()))
        return await self._delete_files(gone)

    async def abandoned(self, before: datetime, limit: int) -> list[str]:
        rows = await self._conn.execute(
            select(t.files.c.id)
            .where(t.files.c.status == UPLOADING, t.files.c.created_at < before)
            .order_by(t.files.c.created_at)
            .limit(limit)
        )
        return [str(r) for r in rows.scalars()]

    async def delete_uploads(self, file_ids: Collection[str], before: datetime) -> list[tuple[str, list[int]]]:
        """Delete the given files that are still uploads declared before ``before`` (rows only)."""
        if not file_ids:
            return []
        rows = await self._conn.execute(
            select(t.files.c.id).where(
                t.files.c.id.in_(list(file_ids)), t.files.c.status == UPLOADING, t.files.c.created_at < before
            )
        )
        return await self._delete_files(sorted(str(r) for r in rows.scalars()))

    async def known(self, file_ids: Collection[str]) -> set[str]:
        if not file_ids:
            return set()
        rows = await self._conn.execute(select(t.files.c.id).where(t.files.c.id.in_(list(file_ids))))
        return {str(r) for r in rows.scalars()}

    async def put_resume(self, file_id: str, sealed: bytes) -> None:
        changed = await self._conn.execute(
            update(t.file_resume).where(t.file_resume.c.file_id == file_id).values(sealed=sealed)
        )
        if changed.rowcount == 0:
            await self._conn.execute(insert(t.file_resume).values(file_id=file_id, sealed=sealed))

    async def unfinished(self, owner_id: MemberId) -> list[Unfinished]:
        rows = await self._conn.execute(
            select(t.files.c.id, t.files.c.n_chunks, t.files.c.manifest, t.files.c.created_at, t.file_resume.c.sealed)
            .join(t.file_resume, t.file_resume.c.file_id == t.files.c.id)
            .where(t.files.c.owner_id == owner_id.value, t.files.c.status == UPLOADING)
            .order_by(t.files.c.created_at)
        )
        return [Unfinished(str(r.id), bytes(r.sealed), bytes(r.manifest), int(r.n_chunks)) for r in rows]

    async def _delete_files(self, file_ids: list[str]) -> list[tuple[str, list[int]]]:
        if not file_ids:
            return []
        rows = await self._conn.execute(
            select(t.file_chunks.c.file_id, t.file_chunks.c.idx).where(t.file_chunks.c.file_id.in_(file_ids))
        )
        stored: dict[str, list[int]] = {f: [] for f in file_ids}
        for row in rows:
            stored[str(row.file_id)].append(int(row.idx))
        for table in (t.message_files, t.file_resume, t.file_access, t.file_chunks):
            await self._conn.execute(delete(table).where(table.c.file_id.in_(file_ids)))
        await self._conn.execute(delete(t.files).where(t.files.c.id.in_(file_ids)))
        return [(f, sorted(stored[f])) for f in file_ids]

"""The key-transparency log in SQL (``KeyLogRepository``): leaves, subtree hashes, checkpoints."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from isecom.services.ports import DirectoryEntry, PendingItem
from isecom.types import MemberId
from storage import tables as t

# SQLite limits bound parameters; a proof needs about 2·log2(n) nodes.
_NODE_BATCH = 200


class KeyLog:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def lock_size(self) -> int:
        query = select(t.kt_head.c.size).where(t.kt_head.c.id == 1)
        if self._conn.dialect.name == "postgresql":
            query = query.with_for_update()
        size = (await self._conn.execute(query)).scalar()
        if size is None:
            await self._conn.execute(insert(t.kt_head).values(id=1, size=0))
            return 0
        return int(size)

    async def size(self) -> int:
        size = (await self._conn.execute(select(t.kt_head.c.size).where(t.kt_head.c.id == 1))).scalar()
        return int(size or 0)

    async def nodes(self, wanted: Collection[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        by_level: dict[int, list[int]] = {}
        for level, idx in wanted:
            by_level.setdefault(level, []).append(idx)
        out: dict[tuple[int, int], bytes] = {}
        for level, indices in by_level.items():  # one indexed search per level, on every backend
            for i in range(0, len(indices), _NODE_BATCH):
                rows = await self._conn.execute(
                    select(t.kt_nodes.c.idx, t.kt_nodes.c.hash).where(
                        t.kt_nodes.c.level == level, t.kt_nodes.c.idx.in_(indices[i : i + _NODE_BATCH])
                    )
                )
                for row in rows:
                    out[(level, int(row.idx))] = bytes(row.hash)
        return out

    async def append(self, index: int, kind: int, uid: str, data: bytes, nodes: dict[tuple[int, int], bytes]) -> None:
        await self._conn.execute(insert(t.kt_leaves).values(idx=index, kind=kind, uid=uid, data=data))
        await self._conn.execute(
            insert(t.kt_nodes), [{"level": lv, "idx": ix, "hash": h} for (lv, ix), h in nodes.items()]
        )
        await self._conn.execute(update(t.kt_head).where(t.kt_head.c.id == 1).values(size=index + 1))

    async def leaves(self, start: int, end: int) -> list[bytes]:
        rows = await self._conn.execute(
            select(t.kt_leaves.c.data)
            .where(t.kt_leaves.c.idx >= start, t.kt_leaves.c.idx < end)
            .order_by(t.kt_leaves.c.idx)
        )
        return [bytes(r.data) for r in rows]

    async def leaves_of(self, uid: str) -> list[tuple[int, bytes]]:
        rows = await self._conn.execute(
            select(t.kt_leaves.c.idx, t.kt_leaves.c.data).where(t.kt_leaves.c.uid == uid).order_by(t.kt_leaves.c.idx)
        )
        return [(int(r.idx), bytes(r.data)) for r in rows]

    async def latest_checkpoint(self) -> tuple[int, bytes] | None:
        row = (
            await self._conn.execute(select(t.kt_checkpoints).order_by(t.kt_checkpoints.c.size.desc()).limit(1))
        ).first()
        return (int(row.size), bytes(row.data)) if row else None

    async def checkpoint(self, size: int) -> bytes | None:
        row = (await self._conn.execute(select(t.kt_checkpoints.c.data).where(t.kt_checkpoints.c.size == size))).first()
        return bytes(row.data) if row else None

    async def checkpoints(self) -> list[tuple[int, bytes]]:
        rows = await self._conn.execute(select(t.kt_checkpoints).order_by(t.kt_checkpoints.c.size))
        return [(int(r.size), bytes(r.data)) for r in rows]

    async def add_checkpoint(self, size: int, data: bytes) -> None:
        await self._conn.execute(insert(t.kt_checkpoints).values(size=size, data=data))

    async def entry(self, member_id: MemberId) -> DirectoryEntry | None:
        found = await self.entries([member_id])
        return found[0] if found else None

    async def set_entry(self, entry: DirectoryEntry) -> None:
        values = {
            "keys_idx": entry.keys_idx,
            "approval_idx": entry.approval_idx,
            "cert_idx": entry.cert_idx,
            "revoke_idx": entry.revoke_idx,
        }
        changed = await self._conn.execute(
            update(t.key_directory).where(t.key_directory.c.member_id == entry.member_id.value).values(**values)
        )
        if changed.rowcount == 0:
            await self._conn.execute(insert(t.key_directory).values(member_id=entry.member_id.value, **values))

    async def entries(self, member_ids: Collection[MemberId]) -> list[DirectoryEntry]:
        if not member_ids:
            return []
        rows = await self._conn.execute(
            select(t.key_directory).where(t.key_directory.c.member_id.in_([m.value for m in member_ids]))
        )
        return [
            DirectoryEntry(MemberId(r.member_id), r.keys_idx, r.approval_idx, r.cert_idx, r.revoke_idx) for r in rows
        ]

    # --- entries waiting for the offline root ---

    async def add_pending(self, group: str, items: list[PendingItem]) -> None:
        await self._conn.execute(
            insert(t.kt_pending),
            [
                {
                    "grp": group,
                    "kind": i.kind,
                    "uid": i.uid,
                    "body": i.body,
                    "needs_root": int(i.needs_root),
                    "signed": None,
                }
                for i in items
            ],
        )

    async def pending(self) -> list[PendingItem]:
        rows = await self._conn.execute(select(t.kt_pending).order_by(t.kt_pending.c.id))
        return [
            PendingItem(
                int(r.kind),
                r.uid,
                bytes(r.body),
                bool(r.needs_root),
                id=int(r.id),
                group=r.grp,
                signed=bytes(r.signed) if r.signed is not None else None,
            )
            for r in rows
        ]

    async def set_signed(self, item_id: int, obj: bytes) -> None:
        await self._conn.execute(update(t.kt_pending).where(t.kt_pending.c.id == item_id).values(signed=obj))

    async def drop_group(self, group: str) -> None:
        await self._conn.execute(delete(t.kt_pending).where(t.kt_pending.c.grp == group))

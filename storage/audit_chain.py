"""Append to and read the hash-chained audit log (the chain itself: ``isecom.crypto.chain``)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Collection
from datetime import UTC, datetime

from sqlalchemy import insert, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from isecom.crypto.chain import GENESIS, entry_hash
from isecom.services.ports import AuditEntry, ChainedEntry
from isecom.types import MemberId
from storage import tables as t

# An arbitrary constant naming the advisory lock that orders the first audit entries.
_FIRST_ENTRY_LOCK = 0x15EC0A0D17


class Audit:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def record(self, entry: AuditEntry) -> None:
        head_query = select(t.audit_head.c.seq, t.audit_head.c.hash).where(t.audit_head.c.id == 1)
        if self._conn.dialect.name == "postgresql":
            head_query = head_query.with_for_update()
        head = (await self._conn.execute(head_query)).first()
        if head is None and self._conn.dialect.name == "postgresql":
            # No head row to lock yet: serialize the very first entries with a transaction-level
            # advisory lock, then read again (READ COMMITTED sees a head committed meanwhile).
            await self._conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _FIRST_ENTRY_LOCK})
            head = (await self._conn.execute(head_query)).first()
        seq, prev = (head.seq + 1, head.hash) if head else (1, GENESIS)
        detail = json.dumps(entry.detail, sort_keys=True, ensure_ascii=False)
        actor = entry.actor.value if entry.actor else None
        at = entry.at.astimezone(UTC)
        digest = entry_hash(
            prev, seq=seq, at=at, actor=actor, action=entry.action, subject=entry.subject, detail=detail
        )
        await self._conn.execute(
            insert(t.audit_log).values(
                at=at,
                actor=actor,
                action=entry.action,
                subject=entry.subject,
                detail=detail,
                seq=seq,
                prev_hash=prev,
                hash=digest,
            )
        )
        if head:
            await self._conn.execute(update(t.audit_head).where(t.audit_head.c.id == 1).values(seq=seq, hash=digest))
        else:
            await self._conn.execute(insert(t.audit_head).values(id=1, seq=seq, hash=digest))

    async def recent(
        self,
        limit: int,
        *,
        subject: str | None = None,
        actions: Collection[str] | None = None,
        action_prefix: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[AuditEntry]:
        log = t.audit_log.c
        query = select(t.audit_log).order_by(log.seq.desc()).limit(limit)
        if subject is not None:
            query = query.where(log.subject == subject)
        if actions is not None:
            query = query.where(log.action.in_(list(actions)))
        if action_prefix:
            query = query.where(log.action.startswith(action_prefix, autoescape=True))
        if since is not None:
            query = query.where(log.at >= since)
        if until is not None:
            query = query.where(log.at < until)
        return [_entry(row._mapping) for row in await self._conn.execute(query)]

    async def chain(self) -> AsyncIterator[ChainedEntry]:
        query = select(t.audit_log).order_by(t.audit_log.c.seq)
        result = await self._conn.stream(query)
        async for row in result:
            m = row._mapping
            yield ChainedEntry(
                seq=m["seq"], entry=_entry(m), detail_text=m["detail"], prev_hash=m["prev_hash"], hash=m["hash"]
            )

    async def head(self) -> tuple[int, bytes] | None:
        row = (await self._conn.execute(select(t.audit_head.c.seq, t.audit_head.c.hash))).first()
        return (row.seq, row.hash) if row else None


def _entry(m: object) -> AuditEntry:
    row = dict(m)  # type: ignore[call-overload]
    return AuditEntry(
        at=row["at"],
        actor=MemberId(row["actor"]) if row["actor"] else None,
        action=row["action"],
        subject=row["subject"],
        detail=json.loads(row["detail"]),
    )


def rechain_existing(conn: Connection) -> None:
    """Migration helper: chain entries written before the chain existed, in id order."""
    log = t.audit_log
    prev, seq = GENESIS, 0
    for row in conn.execute(select(log).order_by(log.c.id)).mappings():
        seq += 1
        at = row["at"]
        digest = entry_hash(
            prev,
            seq=seq,
            at=at,
            actor=row["actor"],
            action=row["action"],
            subject=row["subject"],
            detail=row["detail"],
        )
        conn.execute(update(log).where(log.c.id == row["id"]).values(seq=seq, prev_hash=prev, hash=digest))
        prev = digest
    if seq:
        conn.execute(insert(t.audit_head).values(id=1, seq=seq, hash=prev))

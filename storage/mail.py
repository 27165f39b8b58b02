"""The encrypted message store in SQL (``MailboxRepository``): envelopes once, a row per mailbox."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from isecom.services.ports import Draft, MailboxEntry, NewMessage, RecipientKeys
from isecom.types import MemberId, MemberStatus
from storage import tables as t

_ENTRY = select(
    t.mailbox.c.id,
    t.mailbox.c.member_id,
    t.mailbox.c.msg_id,
    t.mailbox.c.folder,
    t.mailbox.c.unread,
    t.mailbox.c.starred,
    t.mailbox.c.thread,
    t.mailbox.c.received_at,
    t.messages.c.size,
    t.messages.c.sender_id,
    t.messages.c.origin,
).join(t.messages, t.messages.c.id == t.mailbox.c.msg_id)


def _entry(m: RowMapping) -> MailboxEntry:
    return MailboxEntry(
        id=int(m["id"]),
        member_id=MemberId(m["member_id"]),
        msg_id=m["msg_id"],
        folder=m["folder"],
        unread=bool(m["unread"]),
        starred=bool(m["starred"]),
        thread=m["thread"],
        received_at=m["received_at"],
        size=int(m["size"]),
        sender_id=MemberId(m["sender_id"]),
        origin=m["origin"],
    )


class MailStore:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add_message(
        self, msg_id: str, sender_id: MemberId, origin: str, envelope: bytes, created_at: datetime
    ) -> bool:
        exists = (await self._conn.execute(select(t.messages.c.id).where(t.messages.c.id == msg_id))).first()
        if exists is not None:
            return False
        await self._conn.execute(
            insert(t.messages).values(
                id=msg_id,
                sender_id=sender_id.value,
                origin=origin,
                size=len(envelope),
                envelope=envelope,
                created_at=created_at,
            )
        )
        return True

    async def envelope(self, msg_id: str) -> bytes | None:
        row = (await self._conn.execute(select(t.messages.c.envelope).where(t.messages.c.id == msg_id))).first()
        return bytes(row.envelope) if row else None

    async def add_entries(self, msg_id: str, entries: list[tuple[MemberId, str, bool]], received_at: datetime) -> None:
        await self._conn.execute(
            insert(t.mailbox),
            [
                {
                    "member_id": member.value,
                    "msg_id": msg_id,
                    "folder": folder,
                    "unread": int(unread),
                    "starred": 0,
                    "thread": None,
                    "received_at": received_at,
                }
                for member, folder, unread in entries
            ],
        )

    async def recipient_keys(self, member_ids: Collection[MemberId]) -> dict[MemberId, RecipientKeys]:
        """For the send's key checks, in one query: each member's status, revocation and current
        key statement leaf (members absent from the result do not exist)."""
        if not member_ids:
            return {}
        m, d, leaf = t.members.c, t.key_directory.c, t.kt_leaves.c
        rows = await self._conn.execute(
            select(m.id, m.status, d.revoke_idx, leaf.data)
            .select_from(
                t.members.outerjoin(t.key_directory, d.member_id == m.id).outerjoin(t.kt_leaves, leaf.idx == d.keys_idx)
            )
            .where(m.id.in_([i.value for i in member_ids]))
        )
        return {
            MemberId(r.id): RecipientKeys(
                MemberStatus(r.status), r.revoke_idx is not None, None if r.data is None else bytes(r.data)
            )
            for r in rows
        }

    async def existing(self, msg_ids: Collection[str]) -> set[str]:
        if not msg_ids:
            return set()
        rows = await self._conn.execute(select(t.messages.c.id).where(t.messages.c.id.in_(list(msg_ids))))
        return {str(r) for r in rows.scalars()}

    async def add_many(self, messages: Sequence[NewMessage], received_at: datetime) -> None:
        if not messages:
            return
        await self._conn.execute(
            insert(t.messages),
            [
                {
                    "id": m.msg_id,
                    "sender_id": m.sender_id.value,
                    "origin": m.origin,
                    "size": len(m.envelope),
                    "envelope": m.envelope,
                    "created_at": received_at,
                }
                for m in messages
            ],
        )
        rows = [
            {
                "member_id": member.value,
                "msg_id": m.msg_id,
                "folder": folder,
                "unread": int(unread),
                "starred": 0,
                "thread": None,
                "received_at": received_at,
            }
            for m in messages
            for member, folder, unread in m.entries
        ]
        if rows:
            await self._conn.execute(insert(t.mailbox), rows)

    async def entry(self, member_id: MemberId, msg_id: str) -> MailboxEntry | None:
        row = (
            await self._conn.execute(
                _ENTRY.where(t.mailbox.c.member_id == member_id.value, t.mailbox.c.msg_id == msg_id)
            )
        ).first()
        return _entry(row._mapping) if row else None

    async def page(self, member_id: MemberId, folder: str, before: int | None, limit: int) -> list[MailboxEntry]:
        condition = and_(t.mailbox.c.member_id == member_id.value, t.mailbox.c.folder == folder)
        if before is not None:
            condition = and_(condition, t.mailbox.c.id < before)
        rows = await self._conn.execute(_ENTRY.where(condition).order_by(t.mailbox.c.id.desc()).limit(limit))
        return [_entry(r._mapping) for r in rows]

    async def update(self, member_id: MemberId, msg_id: str, values: dict[str, object]) -> bool:
        changed = await self._conn.execute(
            update(t.mailbox)
            .where(t.mailbox.c.member_id == member_id.value, t.mailbox.c.msg_id == msg_id)
            .values(**values)
        )
        return bool(changed.rowcount)

    async def remove(self, member_id: MemberId, msg_ids: list[str]) -> int:
        if not msg_ids:
            return 0
        gone = await self._conn.execute(
            delete(t.mailbox).where(t.mailbox.c.member_id == member_id.value, t.mailbox.c.msg_id.in_(msg_ids))
        )
        return int(gone.rowcount)

    async def in_folder(self, member_id: MemberId, folder: str) -> list[str]:
        rows = await self._conn.execute(
            select(t.mailbox.c.msg_id).where(t.mailbox.c.member_id == member_id.value, t.mailbox.c.folder == folder)
        )
        return [r.msg_id for r in rows]

    async def drop_orphans(self, msg_ids: list[str]) -> int:
        if not msg_ids:
            return 0
        held = select(t.mailbox.c.msg_id).where(t.mailbox.c.msg_id.in_(msg_ids))
        gone = await self._conn.execute(
            delete(t.messages).where(t.messages.c.id.in_(msg_ids), t.messages.c.id.not_in(held))
        )
        return int(gone.rowcount)

    async def unread_counts(self, member_id: MemberId) -> dict[str, int]:
        rows = await self._conn.execute(
            select(t.mailbox.c.folder, func.count())
            .where(t.mailbox.c.member_id == member_id.value, t.mailbox.c.unread == 1)
            .group_by(t.mailbox.c.folder)
        )
        return {r[0]: int(r[1]) for r in rows}

    async def put_draft(self, member_id: MemberId, slot: str, envelope: bytes, when: datetime) -> None:
        changed = await self._conn.execute(
            update(t.drafts)
            .where(t.drafts.c.member_id == member_id.value, t.drafts.c.slot == slot)
            .values(envelope=envelope, updated_at=when)
        )
        if changed.rowcount == 0:
            try:
                await self._conn.execute(
                    insert(t.drafts).values(member_id=member_id.value, slot=slot, envelope=envelope, updated_at=when)
                )
            except IntegrityError:  # saved at the same moment elsewhere: the later save wins
                await self._conn.execute(
                    update(t.drafts)
                    .where(t.drafts.c.member_id == member_id.value, t.drafts.c.slot == slot)
                    .values(envelope=envelope, updated_at=when)
                )

    async def drafts(self, member_id: MemberId) -> list[Draft]:
        rows = await self._conn.execute(
            select(t.drafts).where(t.drafts.c.member_id == member_id.value).order_by(t.drafts.c.updated_at.desc())
        )
        return [Draft(r.slot, bytes(r.envelope), r.updated_at) for r in rows]

    async def delete_draft(self, member_id: MemberId, slot: str) -> bool:
        gone = await self._conn.execute(
            delete(t.drafts).where(t.drafts.c.member_id == member_id.value, t.drafts.c.slot == slot)
        )
        return bool(gone.rowcount)

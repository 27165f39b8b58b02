"""The notification settings repository (isecom/services/notify_ports.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from isecom.services.notify_ports import NotifySettings
from isecom.types import Email, MemberId
from storage import tables as t


class NotifyStore:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, member_id: MemberId) -> NotifySettings | None:
        row = (
            await self._conn.execute(select(t.notify_settings).where(t.notify_settings.c.member_id == member_id.value))
        ).first()
        return _settings(row._mapping) if row else None

    async def save(self, settings: NotifySettings, when: datetime) -> None:
        n = t.notify_settings
        await self._conn.execute(delete(n).where(n.c.member_id == settings.member_id.value))
        await self._conn.execute(
            insert(n).values(
                member_id=settings.member_id.value,
                mode=settings.mode,
                address=str(settings.address) if settings.address else None,
                pending_address=str(settings.pending_address) if settings.pending_address else None,
                pending_token=settings.pending_token,
                pending_since=settings.pending_since,
                last_sent_at=settings.last_sent_at,
                updated_at=when,
            )
        )

    async def mark_pending(self, member_ids: Sequence[MemberId], when: datetime) -> None:
        if not member_ids:
            return
        n = t.notify_settings.c
        await self._conn.execute(
            update(t.notify_settings)
            .where(
                n.member_id.in_([m.value for m in member_ids]),
                n.mode != "off",
                n.address.is_not(None),
                n.pending_since.is_(None),
            )
            .values(pending_since=when)
        )

    async def due(self, immediate_before: datetime, digest_before: datetime, limit: int) -> list[NotifySettings]:
        n = t.notify_settings.c
        query = (
            select(t.notify_settings)
            .where(
                n.pending_since.is_not(None),
                n.address.is_not(None),
                or_(
                    and_(n.mode == "immediate", or_(n.last_sent_at.is_(None), n.last_sent_at <= immediate_before)),
                    and_(n.mode == "digest", n.pending_since < digest_before),
                ),
            )
            .order_by(n.pending_since)
            .limit(limit)
        )
        return [_settings(row._mapping) for row in await self._conn.execute(query)]


def _settings(m: RowMapping) -> NotifySettings:
    return NotifySettings(
        member_id=MemberId(m["member_id"]),
        mode=m["mode"],
        address=Email.parse(m["address"]) if m["address"] else None,
        pending_address=Email.parse(m["pending_address"]) if m["pending_address"] else None,
        pending_token=m["pending_token"],
        pending_since=m["pending_since"],
        last_sent_at=m["last_sent_at"],
    )

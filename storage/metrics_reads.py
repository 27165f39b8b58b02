"""The figures the metrics endpoint reads from the database at each scrape: counts only."""

from __future__ import annotations

from sqlalchemy import and_, func, not_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import tables as t


async def gauges(engine: AsyncEngine) -> dict[str, int]:
    o = t.outbox.c
    given_up = and_(o.sent_at.is_(None), o.attempts > 0, o.sealed_values.is_(None))
    async with engine.connect() as conn:
        pending = (await conn.execute(select(func.count()).where(o.sent_at.is_(None), not_(given_up)))).scalar_one()
        failed = (await conn.execute(select(func.count()).where(given_up))).scalar_one()
        size = (await conn.execute(select(func.coalesce(func.max(t.kt_head.c.size), 0)))).scalar_one()
    return {"outbox_pending": int(pending), "outbox_failed": int(failed), "keylog_entries": int(size)}

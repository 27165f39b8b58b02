"""The ``NoticeRepository`` port: corruption and asset-freeze notices (fictional in all data).

Dates are ISO ``YYYY-MM-DD`` text, so "expired" (``valid_until < today``) is a string comparison
on every backend; countries are stored as ``,FR,KE,`` so one code matches with ``LIKE '%,FR,%'``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, insert, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from isecom.errors import Conflict
from isecom.services.library_ports import Notice, NoticeQuery
from isecom.types import MemberId
from storage import tables as t

_N = t.notices


class Notices:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add_many(self, notices: list[Notice], created_by: MemberId) -> None:
        if not notices:
            return
        try:
            await self._conn.execute(
                insert(_N),
                [
                    {
                        "ref": n.ref,
                        "type": n.type,
                        "subject": n.subject,
                        "subject_kind": n.subject_kind,
                        "countries": "," + ",".join(n.countries) + ",",
                        "valid_from": n.valid_from,
                        "valid_until": n.valid_until,
                        "cancelled": int(n.cancelled),
                        "summary": n.summary,
                        "created_by": created_by.value,
                        "created_at": n.created_at,
                        "updated_at": n.updated_at,
                    }
                    for n in notices
                ],
            )
        except IntegrityError:
            raise Conflict("A notice with this reference number already exists.") from None

    async def get(self, ref: str) -> Notice | None:
        row = (await self._conn.execute(select(_N).where(_N.c.ref == ref))).first()
        return _notice(row) if row is not None else None

    async def existing(self, refs: list[str]) -> set[str]:
        if not refs:
            return set()
        found = await self._conn.execute(select(_N.c.ref).where(_N.c.ref.in_(refs)))
        return set(found.scalars())

    async def by_refs(self, refs: list[str]) -> list[Notice]:
        if not refs:
            return []
        rows = await self._conn.execute(select(_N).where(_N.c.ref.in_(refs)).order_by(_N.c.ref))
        return [_notice(r) for r in rows]

    async def set_cancelled(self, ref: str, cancelled: bool, when: datetime) -> bool:
        found = await self._conn.execute(
            update(_N).where(_N.c.ref == ref).values(cancelled=int(cancelled), updated_at=when)
        )
        return bool(found.rowcount)

    async def search(self, query: NoticeQuery) -> tuple[list[Notice], int]:
        where = _filters(query)
        total = (await self._conn.execute(select(func.count()).select_from(_N).where(*where))).scalar_one()
        rows = await self._conn.execute(
            select(_N).where(*where).order_by(_N.c.valid_from.desc(), _N.c.ref).limit(query.limit).offset(query.offset)
        )
        return [_notice(r) for r in rows], int(total)


def _filters(query: NoticeQuery) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if query.text:
        escaped = query.text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        found.append(
            or_(*(func.lower(col).like(pattern, escape="\\") for col in (_N.c.ref, _N.c.subject, _N.c.summary)))
        )
    if query.type:
        found.append(_N.c.type == query.type)
    if query.country:
        found.append(_N.c.countries.like(f"%,{query.country},%"))
    today = query.today
    if query.status == "cancelled":
        found.append(_N.c.cancelled == 1)
    elif query.status == "expired":
        found.append(and_(_N.c.cancelled == 0, _N.c.valid_until.is_not(None), _N.c.valid_until < today))
    elif query.status == "upcoming":
        found.append(and_(_N.c.cancelled == 0, _N.c.valid_from > today))
    elif query.status == "valid":
        found.append(
            and_(
                _N.c.cancelled == 0,
                _N.c.valid_from <= today,
                or_(_N.c.valid_until.is_(None), _N.c.valid_until >= today),
            )
        )
    return found


def _notice(row: Row[Any]) -> Notice:
    m = row._mapping
    return Notice(
        ref=m["ref"],
        type=m["type"],
        subject=m["subject"],
        subject_kind=m["subject_kind"],
        countries=tuple(c for c in m["countries"].split(",") if c),
        valid_from=m["valid_from"],
        valid_until=m["valid_until"],
        cancelled=bool(m["cancelled"]),
        summary=m["summary"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )

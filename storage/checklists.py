"""Checklist templates and case copies in SQL (``ChecklistRepository``)."""

from __future__ import annotations

import json

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from isecom.services.checklist_ports import CaseCopy, CaseNote, ChecklistItem, ChecklistVersion, Participant, Tick
from isecom.types import MemberId
from storage import tables as t


def _member(value: str | None) -> MemberId | None:
    return MemberId(value) if value is not None else None


def _version(r: Row[tuple[object, ...]]) -> ChecklistVersion:
    m = r._mapping
    items = tuple(ChecklistItem(**item) for item in json.loads(m["items"]))
    return ChecklistVersion(m["version"], items, _member(m["created_by"]), m["created_at"])


def _case(r: Row[tuple[object, ...]]) -> CaseCopy:
    m = r._mapping
    return CaseCopy(
        id=m["id"],
        version=int(m["version"]),
        starts_at=m["starts_at"],
        label=bytes(m["label"]),
        key_commit=bytes(m["key_commit"]),
        created_by=_member(m["created_by"]),
        created_at=m["created_at"],
    )


class ChecklistStore:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def latest(self) -> ChecklistVersion | None:
        row = (
            await self._conn.execute(
                select(t.checklist_versions).order_by(t.checklist_versions.c.version.desc()).limit(1)
            )
        ).first()
        return _version(row) if row else None

    async def version(self, version: int) -> ChecklistVersion | None:
        row = (
            await self._conn.execute(select(t.checklist_versions).where(t.checklist_versions.c.version == version))
        ).first()
        return _version(row) if row else None

    async def add_version(self, version: ChecklistVersion) -> bool:
        items = [
            {"section": i.section, "title": i.title, "guidance": i.guidance, "due_hours": i.due_hours}
            for i in version.items
        ]
        try:
            async with self._conn.begin_nested():
                await self._conn.execute(
                    insert(t.checklist_versions).values(
                        version=version.version,
                        items=json.dumps(items, ensure_ascii=False),
                        created_by=version.created_by.value if version.created_by else None,
                        created_at=version.created_at,
                    )
                )
        except IntegrityError:
            return False
        return True

    async def exists(self, case_id: str) -> bool:
        row = (
            await self._conn.execute(select(t.checklist_cases.c.id).where(t.checklist_cases.c.id == case_id))
        ).first()
        return row is not None

    async def add_case(self, case: CaseCopy, creator: Participant) -> None:
        await self._conn.execute(
            insert(t.checklist_cases).values(
                id=case.id,
                version=case.version,
                starts_at=case.starts_at,
                label=case.label,
                key_commit=case.key_commit,
                created_by=case.created_by.value if case.created_by else None,
                created_at=case.created_at,
            )
        )
        await self.add_participant(case.id, creator)

    async def case(self, member_id: MemberId, case_id: str) -> CaseCopy | None:
        p = t.checklist_participants
        row = (
            await self._conn.execute(
                select(t.checklist_cases)
                .join(p, p.c.case_id == t.checklist_cases.c.id)
                .where(t.checklist_cases.c.id == case_id, p.c.member_id == member_id.value)
            )
        ).first()
        return _case(row) if row else None

    async def cases(self, member_id: MemberId) -> list[tuple[CaseCopy, Participant]]:
        p = t.checklist_participants
        rows = await self._conn.execute(
            select(t.checklist_cases, p.c.enc_kid, p.c.wrap, p.c.added_by, p.c.added_at)
            .join(p, p.c.case_id == t.checklist_cases.c.id)
            .where(p.c.member_id == member_id.value)
            .order_by(t.checklist_cases.c.starts_at.desc(), t.checklist_cases.c.id)
        )
        return [
            (_case(r), Participant(member_id, bytes(r.enc_kid), bytes(r.wrap), _member(r.added_by), r.added_at))
            for r in rows
        ]

    async def participants(self, case_id: str) -> list[Participant]:
        p = t.checklist_participants
        rows = await self._conn.execute(select(p).where(p.c.case_id == case_id).order_by(p.c.added_at, p.c.member_id))
        return [
            Participant(MemberId(r.member_id), bytes(r.enc_kid), bytes(r.wrap), _member(r.added_by), r.added_at)
            for r in rows
        ]

    async def add_participant(self, case_id: str, participant: Participant) -> bool:
        try:
            async with self._conn.begin_nested():
                await self._conn.execute(
                    insert(t.checklist_participants).values(
                        case_id=case_id,
                        member_id=participant.member_id.value,
                        enc_kid=participant.enc_kid,
                        wrap=participant.wrap,
                        added_by=participant.added_by.value if participant.added_by else None,
                        added_at=participant.added_at,
                    )
                )
        except IntegrityError:
            return False
        return True

    async def ticks(self, case_id: str) -> list[Tick]:
        k = t.checklist_ticks
        rows = await self._conn.execute(select(k).where(k.c.case_id == case_id).order_by(k.c.item))
        return [Tick(int(r.item), bool(r.done), _member(r.changed_by), r.changed_at) for r in rows]

    async def tick_counts(self, case_ids: list[str]) -> dict[str, int]:
        if not case_ids:
            return {}
        k = t.checklist_ticks
        rows = await self._conn.execute(
            select(k.c.case_id, func.count()).where(k.c.case_id.in_(case_ids), k.c.done == 1).group_by(k.c.case_id)
        )
        return {r[0]: int(r[1]) for r in rows}

    async def set_tick(self, case_id: str, tick: Tick) -> None:
        k = t.checklist_ticks
        values = {
            "done": int(tick.done),
            "changed_by": tick.changed_by.value if tick.changed_by else None,
            "changed_at": tick.changed_at,
        }
        changed = await self._conn.execute(
            update(k).where(k.c.case_id == case_id, k.c.item == tick.item).values(values)
        )
        if changed.rowcount == 0:
            await self._conn.execute(insert(k).values(case_id=case_id, item=tick.item, **values))

    async def notes(self, case_id: str) -> list[CaseNote]:
        n = t.checklist_notes
        rows = await self._conn.execute(select(n).where(n.c.case_id == case_id).order_by(n.c.created_at, n.c.id))
        return [CaseNote(r.id, _member(r.author_id), bytes(r.body), r.created_at) for r in rows]

    async def note_count(self, case_id: str) -> int:
        n = t.checklist_notes
        return int((await self._conn.execute(select(func.count()).where(n.c.case_id == case_id))).scalar_one())

    async def add_note(self, case_id: str, note: CaseNote) -> bool:
        try:
            async with self._conn.begin_nested():
                await self._conn.execute(
                    insert(t.checklist_notes).values(
                        case_id=case_id,
                        id=note.id,
                        author_id=note.author_id.value if note.author_id else None,
                        body=note.body,
                        created_at=note.created_at,
                    )
                )
        except IntegrityError:
            return False
        return True

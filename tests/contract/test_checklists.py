"""The checklist repository (templates, case copies, ticks, notes), on SQLite and on PostgreSQL."""

from __future__ import annotations

import secrets

from isecom.services.checklist_ports import CaseCopy, CaseNote, ChecklistItem, ChecklistVersion, Participant, Tick
from isecom.types import MemberId
from storage.store import SqlStore
from tests.conftest import FakeClock
from tests.contract.test_files import _members


def _version(number: int, clock: FakeClock, by: MemberId | None) -> ChecklistVersion:
    items = (
        ChecklistItem("Première heure", "Geler le compte", "Guidance «\u00a0ici\u00a0»", 1),
        ChecklistItem("", "B", "", 24),
    )
    return ChecklistVersion(number, items, by, clock.now())


def _case(owner: MemberId, clock: FakeClock) -> tuple[CaseCopy, Participant]:
    case = CaseCopy(secrets.token_hex(16), 1, clock.now(), b"L" * 300, b"k" * 32, owner, clock.now())
    return case, Participant(owner, b"i" * 32, b"w" * 96, owner, clock.now())


async def test_versions_are_numbered_once_and_read_back_exactly(store: SqlStore, clock: FakeClock) -> None:
    (admin,) = await _members(store, clock, 1)
    async with store.transaction() as tx:
        assert await tx.checklists.latest() is None
        assert await tx.checklists.add_version(_version(1, clock, admin))
        assert not await tx.checklists.add_version(_version(1, clock, None))  # taken: refused, transaction lives on
        assert await tx.checklists.add_version(_version(2, clock, None))
    async with store.read() as tx:
        latest = await tx.checklists.latest()
        assert latest is not None and latest.version == 2 and latest.created_by is None
        assert await tx.checklists.version(1) == _version(1, clock, admin)
        assert await tx.checklists.version(3) is None


async def test_cases_are_scoped_by_participant(store: SqlStore, clock: FakeClock) -> None:
    owner, other, third = await _members(store, clock, 3)
    case, creator = _case(owner, clock)
    async with store.transaction() as tx:
        await tx.checklists.add_version(_version(1, clock, None))
        await tx.checklists.add_case(case, creator)
    async with store.read() as tx:
        assert await tx.checklists.exists(case.id)
        assert await tx.checklists.case(owner, case.id) == case
        assert await tx.checklists.case(other, case.id) is None
        assert await tx.checklists.cases(other) == []
        assert await tx.checklists.cases(owner) == [(case, creator)]
    clock.advance(minutes=1)  # participants are listed in the order they were added
    added = Participant(other, b"j" * 32, b"v" * 96, owner, clock.now())
    async with store.transaction() as tx:
        assert await tx.checklists.add_participant(case.id, added)
        assert not await tx.checklists.add_participant(case.id, added)
    async with store.read() as tx:
        assert await tx.checklists.case(other, case.id) == case
        assert await tx.checklists.case(third, case.id) is None
        assert [p.member_id for p in await tx.checklists.participants(case.id)] == [owner, other]


async def test_ticks_and_notes(store: SqlStore, clock: FakeClock) -> None:
    owner, other = await _members(store, clock, 2)
    case, creator = _case(owner, clock)
    async with store.transaction() as tx:
        await tx.checklists.add_version(_version(1, clock, None))
        await tx.checklists.add_case(case, creator)
        await tx.checklists.set_tick(case.id, Tick(1, True, owner, clock.now()))
    clock.advance(minutes=3)
    async with store.transaction() as tx:
        await tx.checklists.set_tick(case.id, Tick(1, False, other, clock.now()))
        await tx.checklists.set_tick(case.id, Tick(0, True, other, clock.now()))
        note = CaseNote(secrets.token_hex(16), owner, b"\x00ciphertext\xff" * 40, clock.now())
        assert await tx.checklists.add_note(case.id, note)
        assert not await tx.checklists.add_note(case.id, note)
    async with store.read() as tx:
        assert await tx.checklists.ticks(case.id) == [
            Tick(0, True, other, clock.now()),
            Tick(1, False, other, clock.now()),
        ]
        assert await tx.checklists.tick_counts([case.id, secrets.token_hex(16)]) == {case.id: 1}
        assert await tx.checklists.notes(case.id) == [note]
        assert await tx.checklists.note_count(case.id) == 1

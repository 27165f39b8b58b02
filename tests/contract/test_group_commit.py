"""Group commit and the file-link repository, on SQLite and on PostgreSQL.

Concurrent units share one commit; each caller gets its result only after that commit; a unit
that fails (a domain error, or a constraint the database refuses) rolls back alone and its
caller gets the error, while the rest of the batch is committed.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from datetime import timedelta

from isecom.errors import InvalidInput
from isecom.services.ports import FileRecord, Transaction
from storage.store import SqlStore
from tests.conftest import FakeClock
from tests.contract.test_files import _members, _record


async def test_concurrent_items_share_commits_and_a_refused_one_fails_alone(store: SqlStore, clock: FakeClock) -> None:
    [owner] = await _members(store, clock, 1)
    slots = [secrets.token_hex(16) for _ in range(40)]
    refused = {slots[3], slots[17]}
    crash = secrets.token_hex(16)  # makes the handler itself raise: its batch is retried item by item
    calls: list[int] = []

    async def drafts(tx: Transaction, items: Sequence[str]) -> list[str | Exception]:
        calls.append(len(items))
        if crash in items and len(items) > 1:
            raise RuntimeError("a bug in a handler")
        outcomes: list[str | Exception] = []
        for slot in items:
            if slot in refused or slot == crash:
                outcomes.append(InvalidInput("refused on purpose", field="slot"))
                continue
            await tx.mail.put_draft(owner, slot, b"sealed draft", clock.now())
            outcomes.append(slot)
        return outcomes

    results = await asyncio.gather(*(store.grouped(drafts, slot) for slot in slots), return_exceptions=True)
    good = [s for s in slots if s not in refused]
    assert [r for r in results if isinstance(r, str)] == good
    assert all(isinstance(results[slots.index(s)], InvalidInput) for s in refused)
    assert store.group.batches < len(slots)  # shared commits, not one each
    async with store.read() as tx:
        assert {d.slot for d in await tx.mail.drafts(owner)} == set(good)

    more = [secrets.token_hex(16) for _ in range(5)]
    results = await asyncio.gather(*(store.grouped(drafts, slot) for slot in [*more, crash]), return_exceptions=True)
    assert results[:5] == more and isinstance(results[5], InvalidInput)  # the others were kept
    async with store.read() as tx:
        assert {d.slot for d in await tx.mail.drafts(owner)} == set(good) | set(more)


async def test_release_deletes_a_file_only_with_its_last_message(store: SqlStore, clock: FakeClock) -> None:
    a, b = await _members(store, clock, 2)
    record = _record(a, clock)
    async with store.transaction() as tx:
        await tx.files.add(record, b"\0" * 96)
        await tx.files.add_chunk(record.id, 0, 100)
        await tx.files.add_chunk(record.id, 2, 50)
        await tx.files.commit(record.id, clock.now())
        for msg_id, holders in (("1" * 32, [a, b]), ("2" * 32, [b])):
            await tx.mail.add_message(msg_id, a, "web", b"envelope", clock.now())
            await tx.mail.add_entries(msg_id, [(m, "inbox", True) for m in holders], clock.now())
            await tx.file_links.link(msg_id, [record.id, record.id])
    async with store.transaction() as tx:
        await tx.mail.remove(a, ["1" * 32])
        assert await tx.file_links.release(["1" * 32]) == []  # b still holds the first message
        await tx.mail.remove(b, ["1" * 32])
        assert await tx.file_links.release(["1" * 32]) == []  # the second message references it
        await tx.mail.drop_orphans(["1" * 32])
    async with store.transaction() as tx:
        await tx.mail.remove(b, ["2" * 32])
        assert await tx.file_links.release(["2" * 32]) == [(record.id, [0, 2])]
        await tx.mail.drop_orphans(["2" * 32])
    async with store.read() as tx:
        assert await tx.files.get(record.id) is None
        assert await tx.files.chunks(record.id) == {}
        assert await tx.file_links.known([record.id]) == set()


async def test_abandoned_uploads_and_resume_records(store: SqlStore, clock: FakeClock) -> None:
    [owner] = await _members(store, clock, 1)
    old, new = _record(owner, clock), _record(owner, clock)
    async with store.transaction() as tx:
        await tx.files.add(old, b"\1" * 96)
        await tx.file_links.put_resume(old.id, b"sealed" * 10)
        await tx.file_links.put_resume(old.id, b"resealed" * 10)
    clock.advance(hours=25)
    async with store.transaction() as tx:
        await tx.files.add(_fresh(new, clock), b"\2" * 96)
    async with store.read() as tx:
        [listed] = await tx.file_links.unfinished(owner)
        assert (listed.file_id, listed.sealed, listed.manifest) == (old.id, b"resealed" * 10, b"\1" * 96)
        assert await tx.file_links.abandoned(clock.now() - timedelta(hours=24), 10) == [old.id]
    async with store.transaction() as tx:
        assert await tx.file_links.delete_uploads([old.id, new.id], clock.now() - timedelta(hours=24)) == [(old.id, [])]
    async with store.read() as tx:
        assert await tx.file_links.known([old.id, new.id]) == {new.id}
        assert await tx.file_links.unfinished(owner) == []


def _fields(record: FileRecord) -> dict[str, object]:
    return {name: getattr(record, name) for name in record.__slots__}  # type: ignore[attr-defined]


def _fresh(record: FileRecord, clock: FakeClock) -> FileRecord:
    return FileRecord(**{**_fields(record), "created_at": clock.now()})  # type: ignore[arg-type]

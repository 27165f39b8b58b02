"""storage/inline_writer.py: SQLite's group commit runs whole in its writer thread, on a synchronous
connection, and takes turns with the application's own write transactions (one SQLite writer)."""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from isecom.services.ports import Transaction
from storage.db import make_engine
from storage.inline_writer import drive
from storage.migrate import upgrade
from storage.store import SqlStore
from tests.conftest import FakeClock
from tests.contract.test_files import _members


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlStore]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'writer.db'}"
    engine = make_engine(url)
    await upgrade(engine)
    await engine.dispose()
    store = SqlStore(make_engine(url))
    yield store
    await store.close()


def test_drive_runs_a_coroutine_that_never_suspends_and_refuses_one_that_does() -> None:
    async def at_once() -> int:
        return 7

    async def suspends() -> int:
        await asyncio.sleep(0)
        return 8

    assert drive(at_once()) == 7
    with pytest.raises(RuntimeError, match="does not complete at once"):
        drive(suspends())


async def test_batches_run_in_the_writer_thread_beside_the_applications_writes(
    store: SqlStore, clock: FakeClock
) -> None:
    [owner] = await _members(store, clock, 1)
    threads: set[str] = set()

    async def drafts(tx: Transaction, items: Sequence[str]) -> list[str | Exception]:
        threads.add(threading.current_thread().name)
        for slot in items:
            await tx.mail.put_draft(owner, slot, b"sealed draft", clock.now())
        return list(items)

    async def own_write(slot: str) -> None:  # a transaction of the application, on its event loop
        async with store.transaction() as tx:
            await tx.mail.put_draft(owner, slot, b"sealed draft", clock.now())

    grouped = [secrets.token_hex(16) for _ in range(60)]
    direct = [secrets.token_hex(16) for _ in range(20)]
    results = await asyncio.wait_for(
        asyncio.gather(*(store.grouped(drafts, s) for s in grouped), *(own_write(s) for s in direct)), timeout=60
    )
    assert results[: len(grouped)] == grouped
    assert threads and all(name.startswith("sqlite-writer") for name in threads)
    async with store.read() as tx:
        assert {d.slot for d in await tx.mail.drafts(owner)} == set(grouped) | set(direct)


async def test_a_cancelled_wait_for_the_write_turn_gives_it_back(store: SqlStore, clock: FakeClock) -> None:
    """The writer thread holds the turn (a batch blocked on purpose); an application transaction
    waiting for it is cancelled; once the batch ends, the next transaction still gets the turn."""
    [owner] = await _members(store, clock, 1)
    in_batch, finish = threading.Event(), threading.Event()

    async def slow(tx: Transaction, items: Sequence[str]) -> list[str | Exception]:
        in_batch.set()
        finish.wait(10)  # blocks the writer thread, which holds the write turn
        return list(items)

    batch = asyncio.create_task(store.grouped(slow, "x"))
    assert await asyncio.to_thread(in_batch.wait, 10)
    waiter = asyncio.create_task(_write_one(store, owner, clock))
    await asyncio.sleep(0.1)
    assert not waiter.done()  # waiting for the turn, without blocking this loop
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    finish.set()
    assert await asyncio.wait_for(batch, timeout=10) == "x"
    await asyncio.wait_for(_write_one(store, owner, clock), timeout=10)  # the turn was given back
    await asyncio.wait_for(_write_one(store, owner, clock), timeout=10)


async def _write_one(store: SqlStore, owner: object, clock: FakeClock) -> None:
    async with store.transaction() as tx:
        await tx.mail.put_draft(owner, secrets.token_hex(16), b"sealed draft", clock.now())  # type: ignore[arg-type]


async def test_the_wal_is_checkpointed_beside_the_writer(store: SqlStore, clock: FakeClock, tmp_path: Path) -> None:
    """The writer's connection never checkpoints inside a commit; the checkpointer thread copies
    the WAL into the database file after batches, so the file grows while the store is open."""
    [owner] = await _members(store, clock, 1)
    database = tmp_path / "writer.db"
    before = database.stat().st_size

    async def drafts(tx: Transaction, items: Sequence[str]) -> list[str | Exception]:
        for slot in items:
            await tx.mail.put_draft(owner, slot, secrets.token_bytes(64 * 1024), clock.now())
        return list(items)

    for _ in range(12):  # 12 batches of 8 drafts of 64 KiB: 6 MiB through the WAL
        await asyncio.gather(*(store.grouped(drafts, secrets.token_hex(16)) for _ in range(8)))
    for _ in range(100):  # the last checkpoint runs after the last batch, in its own thread
        if database.stat().st_size - before > 5 * 1024 * 1024:
            break
        await asyncio.sleep(0.05)
    assert database.stat().st_size - before > 5 * 1024 * 1024

"""storage.sqlite_reader: reads in a worker thread, and one-statement reads on the event loop that
never wait for a lock there (a busy database sends them to a worker thread)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from isecom.errors import Unavailable
from storage.sqlite_reader import SqliteReader


def _value(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT v FROM kv WHERE k = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def _database(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT)")
    conn.execute("INSERT INTO kv VALUES ('a', 'demo value')")
    conn.commit()
    conn.close()


async def test_reads_in_a_thread_and_on_the_loop_see_the_same_rows(tmp_path: Path) -> None:
    _database(tmp_path / "t.db")
    reader = SqliteReader(tmp_path / "t.db")
    try:
        assert await reader.run(_value, "a") == await reader.one(_value, "a") == "demo value"
        assert await reader.one(_value, "missing") is None
        loop_thread = threading.get_ident()
        assert await reader.one(lambda conn: threading.get_ident()) == loop_thread
        assert await reader.run(lambda conn: threading.get_ident()) != loop_thread
    finally:
        reader.close()


async def test_a_busy_database_never_blocks_the_event_loop(tmp_path: Path) -> None:
    """A connection holding the database exclusively makes readers busy: the loop's read goes to a
    worker thread, which waits for the lock, while the event loop keeps running."""
    path = tmp_path / "t.db"
    _database(path)
    reader = SqliteReader(path)
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("UPDATE kv SET v = 'newer demo value' WHERE k = 'a'")
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def release() -> None:
        await asyncio.sleep(0.3)
        holder.execute("COMMIT")
        holder.execute("PRAGMA locking_mode=NORMAL")
        holder.execute("SELECT 1 FROM kv").fetchall()  # the exclusive lock goes with the next access
        holder.close()

    ticking = asyncio.create_task(ticker())
    try:
        read, _ = await asyncio.wait_for(asyncio.gather(reader.one(_value, "a"), release()), timeout=20)
        assert read == "newer demo value"  # it waited for the lock, in a worker thread
        assert ticks >= 10  # and the loop kept running meanwhile
    finally:
        ticking.cancel()
        reader.close()


async def test_a_failing_read_is_unavailable_not_a_crash(tmp_path: Path) -> None:
    _database(tmp_path / "t.db")
    reader = SqliteReader(tmp_path / "t.db")

    def broken(conn: sqlite3.Connection) -> object:
        return conn.execute("SELECT * FROM no_such_table").fetchall()

    try:
        for call in (reader.run, reader.one):
            with pytest.raises(Unavailable):
                await call(broken)
    finally:
        reader.close()

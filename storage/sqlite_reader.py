"""One-hop reads on SQLite: a whole look-up as one call in a worker thread.

SQLAlchemy's async layer over aiosqlite pays a round trip between the event loop
and the driver's thread for every step of every statement (cursor, execute,
fetch, close, BEGIN, ROLLBACK): measured here at 150–350 µs of event-loop CPU
per statement, against 7 µs for the same indexed look-up in ``sqlite3`` itself.
The hot paths (the key server's look-ups, every request's session check, a send's
key checks) therefore run their few statements as plain ``sqlite3`` calls in one
deferred transaction (one WAL snapshot) on a read-only connection owned by a
worker thread: one hop for the whole look-up.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from isecom.errors import Unavailable

P = ParamSpec("P")
R = TypeVar("R")


class SqliteReader:
    """Read-only snapshots of the SQLite file at ``path``, one connection per worker thread."""

    def __init__(self, path: Path, *, workers: int = 4) -> None:
        self._uri = f"file:{path}?mode=ro"
        self._local = threading.local()
        # A few threads of their own: reads never wait behind other blocking work, and the
        # per-thread connections stay few.
        self._threads = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sqlite-reads")
        self._loop_conn: sqlite3.Connection | None = None  # SqliteReader.one's, on the event loop's thread

    async def run(self, read: Callable[Concatenate[sqlite3.Connection, P], R], *args: P.args, **kw: P.kwargs) -> R:
        """``read(connection, *args)`` in one snapshot, in a worker thread (Unavailable when the
        database cannot be read)."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._threads, lambda: self._snapshot(read, *args, **kw))
        except sqlite3.OperationalError as exc:
            raise Unavailable("The database is unavailable.", debug=type(exc).__name__) from exc

    async def one(self, read: Callable[Concatenate[sqlite3.Connection, P], R], *args: P.args, **kw: P.kwargs) -> R:
        """``read(connection, *args)`` for a read of ONE statement (a snapshot by itself), run on the
        event loop's thread: an indexed look-up takes 10–30 µs there, against 40–70 µs of event-loop
        time for the hop to a worker thread alone. It never waits for a lock: the loop's connection
        has no busy timeout, and when SQLite answers "busy" (WAL recovery, a truncating checkpoint)
        the read is done in a worker thread instead, which may wait."""
        if self._loop_conn is None:
            self._loop_conn = self._connect(busy_ms=0)
        try:
            return read(self._loop_conn, *args, **kw)
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):  # extended codes too
                raise Unavailable("The database is unavailable.", debug=type(exc).__name__) from exc
        return await self.run(read, *args, **kw)

    def close(self) -> None:
        self._threads.shutdown(wait=False)
        if self._loop_conn is not None:
            self._loop_conn.close()
            self._loop_conn = None

    def _snapshot(self, read: Callable[Concatenate[sqlite3.Connection, P], R], *args: P.args, **kw: P.kwargs) -> R:
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            return read(conn, *args, **kw)
        finally:
            conn.execute("ROLLBACK")

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect(busy_ms=30_000)
        return conn

    def _connect(self, *, busy_ms: int) -> sqlite3.Connection:
        conn = sqlite3.connect(self._uri, uri=True, isolation_level=None, check_same_thread=True)
        conn.execute("PRAGMA query_only=ON")
        conn.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        return conn


def when(value: object) -> datetime:
    """A timestamp column as written by ``storage.tables.UTCDateTime``, read back by ``sqlite3``."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def maybe_when(value: object) -> datetime | None:
    return None if value is None else when(value)

"""The group commit on SQLite: a whole batch in one call to a thread of its own.

Measured on the send path (bench/mail, 64 clients): a batch's transaction through SQLAlchemy's
async layer is a chain of about twenty hand-offs between the event loop and aiosqlite's thread
(BEGIN, each statement's cursor, execute and close, COMMIT). Each hand-off waits for the other
side to get the GIL back, and under load the event loop's thread holds it for milliseconds at a
time, so a commit that does 2–3 ms of work took 15–40 ms, and every send waits for a commit.

Here the batch runs on a plain synchronous ``sqlite3`` connection (SQLAlchemy's ``pysqlite``
engine, with the same pragmas and ``BEGIN IMMEDIATE``) in one dedicated thread: one hand-off to
start it and one to return. The handlers stay the async functions every backend uses: they get
a transaction whose ``execute`` completes at once (``InlineConnection``), so their coroutine
runs to its end without ever suspending, driven by ``drive``. A handler that awaited anything
else would be a bug, and is refused loudly.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Result, create_engine, event
from sqlalchemy.engine.interfaces import Dialect

from storage.db import sqlite_begin, sqlite_pragmas

T = TypeVar("T")


class InlineConnection:
    """The part of ``AsyncConnection`` the repositories use, over a synchronous ``Connection``:
    every coroutine here completes without suspending."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    @property
    def dialect(self) -> Dialect:
        return self._conn.dialect

    async def execute(self, statement: Any, parameters: Any = None, **kw: Any) -> Result[Any]:
        return self._conn.execute(statement, parameters, **kw)

    async def exec_driver_sql(self, statement: str, parameters: Any = None, **kw: Any) -> Result[Any]:
        return self._conn.exec_driver_sql(statement, parameters, **kw)

    async def scalar(self, statement: Any, parameters: Any = None, **kw: Any) -> Any:
        return self._conn.scalar(statement, parameters, **kw)

    @asynccontextmanager
    async def begin_nested(self) -> AsyncIterator[None]:
        with self._conn.begin_nested():
            yield

    async def stream(self, *_: Any, **__: Any) -> Any:
        raise RuntimeError("no streaming results inside a group commit")


def _no_autocheckpoint(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA wal_autocheckpoint=0")  # SqliteWriter._checkpoint does it, beside
    cursor.close()


def drive(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends (it awaits only ``InlineConnection``) to its result."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coro.close()
    raise RuntimeError("a group-commit handler awaited something that does not complete at once")


class SqliteWriter:
    """One thread with one synchronous connection to the SQLite file at ``url``."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = create_engine(
            url.replace("sqlite+aiosqlite:", "sqlite+pysqlite:", 1),
            pool_size=1,
            max_overflow=0,
            connect_args={"timeout": 30, "check_same_thread": False},
            hide_parameters=True,
        )
        event.listen(self.engine, "connect", sqlite_pragmas)
        event.listen(self.engine, "connect", _no_autocheckpoint)
        event.listen(self.engine, "begin", sqlite_begin)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
        # WAL checkpoints off the commit path: SQLite runs one inside the COMMIT that takes the WAL
        # past 1,000 pages (copying pages to the database file and fsyncing it: 10–15 ms more for
        # that batch, every ~20 batches of sends). Here a thread of its own checkpoints PASSIVE
        # (beside the writer, never blocking it) after a batch, at most one at a time.
        self._checkpointer = ThreadPoolExecutor(1, thread_name_prefix="sqlite-checkpoint")
        self._checkpointing: asyncio.Future[None] | None = None
        self._database = self.engine.url.database or ""
        self._checkpoint_conn: sqlite3.Connection | None = None

    async def run(self, work: Callable[[], Awaitable[T]]) -> T:
        """``work()`` (a coroutine that never suspends) run to its end in the writer's thread."""

        def call() -> T:
            made = work()
            if not asyncio.iscoroutine(made):
                raise TypeError("the group commit's work must be a coroutine")
            result: T = drive(made)
            return result

        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(self._thread, call)
        if self._checkpointing is None or self._checkpointing.done():
            self._checkpointing = loop.run_in_executor(self._checkpointer, self._checkpoint)
        return result

    def _checkpoint(self) -> None:
        """In the checkpointer's thread, on its own connection."""
        if self._checkpoint_conn is None:
            self._checkpoint_conn = sqlite3.connect(self._database, isolation_level=None, check_same_thread=False)
        with contextlib.suppress(sqlite3.Error):  # the next batch tries again
            self._checkpoint_conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def _close_checkpoint_conn(self) -> None:
        if self._checkpoint_conn is not None:
            self._checkpoint_conn.close()
            self._checkpoint_conn = None

    @contextmanager
    def begin(self) -> Iterator[InlineConnection]:
        with self.engine.begin() as conn:
            yield InlineConnection(conn)

    def close(self) -> None:
        self._thread.submit(self.engine.dispose).result(timeout=30)
        self._thread.shutdown(wait=True)
        self._checkpointer.submit(self._close_checkpoint_conn).result(timeout=30)
        self._checkpointer.shutdown(wait=True)

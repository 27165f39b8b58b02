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
        raise NotImplementedError("no streaming results inside a group commit")


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
        event.listen(self.engine, "begin", sqlite_begin)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")

    async def run(self, work: Callable[[], Awaitable[T]]) -> T:
        """``work()`` (a coroutine that never suspends) run to its end in the writer's thread."""

        def call() -> T:
            made = work()
            if not asyncio.iscoroutine(made):
                raise TypeError("the group commit's work must be a coroutine")
            result: T = drive(made)
            return result

        return await asyncio.get_running_loop().run_in_executor(self._thread, call)

    @contextmanager
    def begin(self) -> Iterator[InlineConnection]:
        with self.engine.begin() as conn:
            yield InlineConnection(conn)

    def close(self) -> None:
        self._thread.submit(self.engine.dispose).result(timeout=30)
        self._thread.shutdown(wait=True)

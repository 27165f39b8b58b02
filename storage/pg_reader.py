"""One-statement reads on PostgreSQL straight through asyncpg, for the two reads behind every request.

Through SQLAlchemy's async layer a one-statement read in autocommit costs about 340 µs of the event
loop's CPU (connection checkout, execution options, statement compilation and cache look-up, result
processing, the greenlet hops); the same prepared statement on an asyncpg pool costs about 70 µs
(measured on the bench's database, 2,000 calls each). The session check of every signed-in request
and a send's key checks (``storage.hot_reads``) are therefore plain asyncpg calls here. Each runs
outside any transaction: one statement is one snapshot. asyncpg keeps each connection's prepared
statements, so a statement text is parsed and planned once per connection.

The pool is made on first use, from the same URL as the SQLAlchemy engine and with the
``search_path`` the engine's connections have (a ``?schema=NAME`` sets it there). Any connection
failure is ``Unavailable`` (a 503), as for every other database call; the pool replaces a broken
connection at its next use.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import sqlalchemy.exc
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from isecom.errors import Unavailable

_FAILURES = (
    OSError,
    ConnectionError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,  # a connection left mid-protocol by a failure
    asyncpg.exceptions.OperatorInterventionError,  # class 57: the server shuts down or restarts
    sqlalchemy.exc.OperationalError,  # the first use reads the engine's search_path through it
    sqlalchemy.exc.InterfaceError,
)


def asyncpg_dsn(url: URL) -> str:
    """The engine's URL as an asyncpg DSN."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class PgReader:
    """A small asyncpg pool for one-statement reads."""

    def __init__(self, engine: AsyncEngine, *, max_size: int = 8) -> None:
        self._engine = engine
        self._max_size = max_size
        self._pool: asyncpg.Pool | None = None
        self._making: asyncio.Lock | None = None

    async def _ready(self) -> asyncpg.Pool:
        if self._pool is not None:
            return self._pool
        if self._making is None:
            self._making = asyncio.Lock()
        async with self._making:
            if self._pool is None:
                # The engine's own settings (its ?schema= is a search_path), read once through it.
                async with self._engine.connect() as conn:
                    search_path = str((await conn.execute(text("SHOW search_path"))).scalar_one())
                self._pool = await asyncpg.create_pool(
                    asyncpg_dsn(self._engine.url),
                    min_size=1,
                    max_size=self._max_size,
                    server_settings={"search_path": search_path},
                )
        return self._pool

    async def row(self, sql: str, *args: Any) -> tuple[Any, ...] | None:
        """The first row of ``sql`` as a tuple, or None."""
        found = await self._run("fetchrow", sql, args)
        return None if found is None else tuple(found)

    async def rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in await self._run("fetch", sql, args)]

    async def _run(self, method: str, sql: str, args: tuple[Any, ...]) -> Any:
        try:
            pool = await self._ready()
            async with pool.acquire() as conn:
                try:
                    return await getattr(conn, method)(sql, *args)
                except asyncpg.PostgresError as exc:
                    if isinstance(exc, asyncpg.PostgresConnectionError | asyncpg.exceptions.OperatorInterventionError):
                        conn.terminate()
                    raise
                except BaseException:
                    # Lost, or cut off mid-protocol (a cancelled request): never handed out again;
                    # the pool opens a fresh connection in its place.
                    conn.terminate()
                    raise
        except _FAILURES as exc:
            raise Unavailable("The database is unavailable.", debug=type(exc).__name__) from exc

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

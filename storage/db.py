"""Engine creation: SQLite in WAL mode with foreign keys and full fsync; PostgreSQL via asyncpg."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def make_engine(url: str, *, read_only: bool = False) -> AsyncEngine:
    """An engine for ``url``; a PostgreSQL URL may carry ``?schema=NAME`` to use that schema.

    ``read_only`` (SQLite): connections that start deferred transactions and refuse
    writes, so readers see a snapshot without waiting for the single writer.
    """
    if url.startswith("sqlite"):
        engine = create_async_engine(
            url,
            # Readers run side by side (WAL snapshots): enough pooled connections that concurrent
            # look-ups (16 SMTP sessions, bench/smtp) do not open and close an overflow connection,
            # a thread each, every time.
            pool_size=16 if read_only else 4,
            max_overflow=4,
            connect_args={"timeout": 30},
            hide_parameters=True,
        )
        event.listen(engine.sync_engine, "connect", sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin_read if read_only else sqlite_begin)
        if read_only:
            event.listen(engine.sync_engine, "connect", _sqlite_query_only)
        return engine
    parsed = make_url(url)
    connect_args: dict[str, Any] = {}
    schema = parsed.query.get("schema")
    if isinstance(schema, str):
        connect_args["server_settings"] = {"search_path": schema}
        parsed = parsed.difference_update_query(["schema"])
    return create_async_engine(parsed, pool_pre_ping=True, connect_args=connect_args, hide_parameters=True)


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, decide where transactions begin.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the writer; synchronous=FULL fsyncs the WAL
    # at every commit, so an acknowledged write survives a power loss.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def sqlite_begin(conn: Any) -> None:
    # Take the write lock up front: a deferred transaction that later writes can
    # fail with SQLITE_BUSY without waiting; IMMEDIATE waits up to busy_timeout.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_begin_read(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN")


def _sqlite_query_only(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only=ON")
    cursor.close()

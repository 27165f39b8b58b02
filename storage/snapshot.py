"""Consistent database snapshots for ``isecom backup`` and their restore.

SQLite: the online backup API (``sqlite3.Connection.backup``) copies the live database page
by page into a new file while the server keeps running; the copy is one consistent state.
PostgreSQL: a REPEATABLE READ transaction exports its snapshot, ``pg_dump --snapshot`` dumps
exactly that state, and the blob ids are read in the same transaction, so the dump and the
list of blobs agree. ``pg_restore`` brings a dump back. Passwords reach the PostgreSQL tools
through ``PGPASSWORD``, never on their command line.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
from pathlib import Path

from sqlalchemy import func, inspect, make_url, select, text
from sqlalchemy.engine import URL

from isecom.errors import ConfigError, Unavailable
from storage import tables
from storage.db import make_engine

_PG_TOOLS = ("pg_dump", "pg_restore")


def kind(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def sqlite_file(url: str) -> Path:
    database = make_url(url).database
    if not database:
        raise ConfigError("database.url: a SQLite URL needs a file name")
    return Path(database)


def pg_schema(url: str) -> str | None:
    schema = make_url(url).query.get("schema")
    return schema if isinstance(schema, str) else None


Chunk = tuple[str, int, int]  # file id, chunk index, stored size


def _chunks(rows: list[tuple[str, int, int]]) -> list[Chunk]:
    return sorted((str(file_id), int(idx), int(size)) for file_id, idx, size in rows)


def sqlite_snapshot(url: str, dest: Path) -> list[Chunk]:
    """Copy the live database to ``dest``; return the stored chunks of the copy."""
    source = sqlite3.connect(f"file:{sqlite_file(url)}?mode=ro", uri=True)
    target = sqlite3.connect(dest)
    try:
        # One step (pages=-1): one read transaction, so writers (WAL) go on and the copy is one
        # state; a copy in several steps restarts whenever the server writes meanwhile.
        source.backup(target, pages=-1)
        rows = target.execute("SELECT file_id, idx, size FROM file_chunks").fetchall()
    except sqlite3.Error as exc:
        raise Unavailable("The SQLite database could not be copied.", debug=str(exc)) from None
    finally:
        target.close()
        source.close()
    return _chunks(rows)


def _libpq(url: str) -> tuple[list[str], dict[str, str]]:
    """``--dbname`` for the PostgreSQL tools, and the environment holding the password."""
    parsed: URL = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None).difference_update_query(["schema"])
    return ["--dbname", plain.render_as_string(hide_password=False)], env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise ConfigError(f"{name} is not installed (apt-get install postgresql-client)")
    return found


async def _run(argv: list[str], env: dict[str, str]) -> None:
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env=env
    )
    _, err = await process.communicate()
    if process.returncode != 0:
        message = err.decode("utf-8", "replace").strip().splitlines()
        raise Unavailable(
            f"{Path(argv[0]).name} failed: {message[-1] if message else process.returncode}",
            debug=" ".join(message[-3:]),
        )


async def pg_snapshot(url: str, dest: Path) -> list[Chunk]:
    """``pg_dump -Fc`` of the database (or of the URL's schema) at one exported snapshot."""
    dbname, env = _libpq(url)
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="REPEATABLE READ")
            async with conn.begin():
                snapshot = (await conn.execute(text("SELECT pg_export_snapshot()"))).scalar_one()
                schema = pg_schema(url)
                argv = [_tool("pg_dump"), *dbname, "--format=custom", "--no-owner", "--no-privileges"]
                argv += [f"--snapshot={snapshot}", f"--file={dest}"]
                argv += [f"--schema={schema}"] if schema else []
                await _run(argv, env)
                c = tables.file_chunks.c
                rows = [(str(r[0]), int(r[1]), int(r[2])) for r in await conn.execute(select(c.file_id, c.idx, c.size))]
    finally:
        await engine.dispose()
    return _chunks(rows)


async def is_empty(url: str) -> bool:
    """True when no table of ours holds a row (a fresh ``isecom init`` or no schema at all)."""
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            present = set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
            for table in tables.metadata.sorted_tables:
                if table.name in present:
                    count = (await conn.execute(select(func.count()).select_from(table))).scalar_one()
                    if count:
                        return False
    finally:
        await engine.dispose()
    return True


def restore_sqlite(url: str, source: Path) -> None:
    """Put a snapshot in place of the (empty) database file, atomically."""
    target = sqlite_file(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(target.name + ".restoring")
    shutil.copyfile(source, staged)
    with sqlite3.connect(staged) as check:
        if check.execute("PRAGMA integrity_check").fetchone() != ("ok",):
            staged.unlink()
            raise Unavailable("The database in the backup does not pass SQLite's integrity check.")
    check.close()
    fd = os.open(staged, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    for leftover in (target.with_name(target.name + "-wal"), target.with_name(target.name + "-shm")):
        leftover.unlink(missing_ok=True)
    os.replace(staged, target)


async def restore_pg(url: str, source: Path) -> None:
    """``pg_restore`` a dump into the (empty) database; empty tables made by ``isecom init`` are
    dropped first (``--clean``), so the dump's schema comes back exactly."""
    dbname, env = _libpq(url)
    argv = [_tool("pg_restore"), *dbname, "--no-owner", "--no-privileges", "--clean", "--if-exists"]
    argv += ["--exit-on-error", "--single-transaction", str(source)]
    await _run(argv, env)

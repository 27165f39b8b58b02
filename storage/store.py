"""The ``Store`` port: one database transaction at a time, committed on exit."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar, cast

from sqlalchemy import text
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from isecom.errors import Unavailable
from isecom.services.ports import KeyHistoryRows, Member, NodesNeeded, RecipientKeys, RelatedLeaves, Session
from isecom.types import Email, MemberId
from storage import hot_reads, key_reads
from storage.audit_chain import Audit
from storage.checklists import ChecklistStore
from storage.db import make_engine
from storage.file_links import FileLinks
from storage.files import Files
from storage.group_commit import GroupCommit
from storage.inline_writer import SqliteWriter
from storage.keylog import KeyLog
from storage.library import PostgresLibrary, SqliteLibrary, library_for
from storage.mail import MailStore
from storage.notices import Notices
from storage.notify import NotifyStore
from storage.pg_reader import PgReader
from storage.profiles import Profiles
from storage.repositories import (
    Applications,
    Challenges,
    CredentialStore,
    Members,
    OutboxStore,
    Sessions,
    Throttle,
    Tokens,
)
from storage.sqlite_reader import SqliteReader

I = TypeVar("I")  # noqa: E741
R = TypeVar("R")


@dataclass(slots=True)
class SqlTransaction:
    members: Members
    tokens: Tokens
    sessions: Sessions
    audit: Audit
    credentials: CredentialStore
    challenges: Challenges
    throttle: Throttle
    applications: Applications
    outbox: OutboxStore
    keylog: KeyLog
    files: Files
    mail: MailStore
    profiles: Profiles
    file_links: FileLinks
    checklists: ChecklistStore
    notify: NotifyStore
    library: SqliteLibrary | PostgresLibrary
    notices: Notices

    @classmethod
    def on(cls, conn: AsyncConnection) -> SqlTransaction:
        return cls(
            Members(conn),
            Tokens(conn),
            Sessions(conn),
            Audit(conn),
            CredentialStore(conn),
            Challenges(conn),
            Throttle(conn),
            Applications(conn),
            OutboxStore(conn),
            KeyLog(conn),
            Files(conn),
            MailStore(conn),
            Profiles(conn),
            FileLinks(conn),
            ChecklistStore(conn),
            NotifyStore(conn),
            library_for(conn),
            Notices(conn),
        )


class SqlStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # SQLite has one writer at a time. Queueing writers here, in the event loop, is
        # much cheaper than letting them collide in SQLite's busy handler, which sleeps
        # in growing steps (up to 100 ms) between retries. One process owns a SQLite
        # file; several processes need PostgreSQL, which locks rows, not the database.
        self._serial = asyncio.Lock() if engine.dialect.name == "sqlite" else None
        # ... and with the group commit's writer thread (storage/inline_writer.py): one lock for both.
        self._write_lock = threading.Lock() if engine.dialect.name == "sqlite" else None
        self._lock_waiter = ThreadPoolExecutor(1, "sqlite-write-lock") if self._write_lock else None
        database = engine.url.database
        # The hot look-ups (keyserver, session checks, a send's key checks) in one hop each.
        self._sqlite = SqliteReader(Path(database)) if engine.dialect.name == "sqlite" and database else None
        self._pg = PgReader(engine) if engine.dialect.name == "postgresql" else None
        # Complete key-log subtrees never change once written; the upper levels are shared by
        # every proof, so they are kept (a 10^6-leaf log has under 4,000 nodes at level 8 and up).
        self._upper_nodes: dict[tuple[int, int], bytes] = {}
        self._reader = (
            make_engine(str(engine.url.render_as_string(hide_password=False)), read_only=True)
            if (engine.dialect.name == "sqlite")
            else None
        )
        # On SQLite a group commit is one call to a writer thread with a synchronous connection.
        self._writer = SqliteWriter(str(engine.url)) if engine.dialect.name == "sqlite" and database else None
        self.group = (  # grouped() below
            GroupCommit(self._writer_transaction, run_in=self._writer.run)
            if self._writer is not None
            else GroupCommit(self.transaction)
        )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlTransaction]:
        """Commit when the block ends normally; roll back on any exception.

        The commit returns only once the database reports it durable, so a
        caller that acknowledges after the block never acknowledges a lost write.
        """
        try:
            async with self._serial or contextlib.nullcontext(), self._writing(), self.engine.begin() as conn:
                yield SqlTransaction.on(conn)
        except (OSError, ConnectionError, OperationalError, InterfaceError) as exc:
            raise Unavailable("The database is unavailable.", debug=type(exc).__name__) from exc

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[None]:
        """Hold SQLite's one write turn (shared with the writer thread) without blocking the loop."""
        lock = self._write_lock
        if lock is None:
            yield
            return
        if not lock.acquire(blocking=False):
            waiting = asyncio.get_running_loop().run_in_executor(self._lock_waiter, lock.acquire)
            try:
                await asyncio.shield(waiting)
            except BaseException:
                waiting.add_done_callback(lambda _: lock.release())  # once it is ours: give it back
                raise
        try:
            yield
        finally:
            lock.release()

    @asynccontextmanager
    async def _writer_transaction(self) -> AsyncIterator[SqlTransaction]:
        """``transaction`` for the group commit, in the writer's thread, where it may block: it
        waits for the application's write turn and runs every statement synchronously."""
        writer, lock = self._writer, self._write_lock
        if writer is None or lock is None:
            raise RuntimeError("only a SQLite file store has a writer thread")
        try:
            with lock, writer.begin() as conn:
                yield SqlTransaction.on(cast(AsyncConnection, conn))
        except (OSError, ConnectionError, OperationalError, InterfaceError) as exc:
            raise Unavailable("The database is unavailable.", debug=type(exc).__name__) from exc

    async def grouped(
        self, handler: Callable[[SqlTransaction, Sequence[I]], Awaitable[Sequence[R | Exception]]], item: I
    ) -> R:
        """Write ``item`` with ``handler`` in the next group commit (storage/group_commit.py), in a
        transaction shared with concurrent callers; returns once that transaction is committed."""
        return await self.group.run(handler, item)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[SqlTransaction]:
        """A read-only transaction: no writer lock, so look-ups run beside writes; never commits."""
        try:
            async with (self._reader or self.engine).connect() as conn:
                await conn.begin()
                try:
                    yield SqlTransaction.on(conn)
                finally:
                    await conn.rollback()
        except (OSError, ConnectionError, OperationalError, InterfaceError) as exc:
            raise Unavailable("The database is unavailable.", debug=type(exc).__name__) from exc

    async def key_history(
        self,
        *,
        member_id: MemberId | None = None,
        email: Email | None = None,
        needed: NodesNeeded,
        related: RelatedLeaves,
    ) -> KeyHistoryRows | None:
        selector = ("id", member_id.value) if member_id is not None else ("email", str(email))
        if self._sqlite is not None:
            return await self._sqlite.run(key_reads.sqlite_history, selector, needed, related, self._upper_nodes)
        return await key_reads.generic(self.read, selector, needed, related)

    async def session_member(self, digest: bytes) -> tuple[Session, Member] | None:
        if self._sqlite is not None:
            return await self._sqlite.one(hot_reads.session_member, digest)
        return await hot_reads.pg_session_member(self._postgres(), digest)

    async def recipient_keys(self, member_ids: Sequence[MemberId]) -> dict[MemberId, RecipientKeys]:
        if self._sqlite is not None:
            return await self._sqlite.one(hot_reads.recipient_keys, member_ids)
        return await hot_reads.pg_recipient_keys(self._postgres(), member_ids)

    def _postgres(self) -> PgReader:
        if self._pg is None:  # the configuration accepts SQLite and PostgreSQL only
            raise RuntimeError("hot reads need SQLite or PostgreSQL")
        return self._pg

    async def ping(self) -> None:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError) as exc:
            raise Unavailable("The database is unavailable.", debug=type(exc).__name__) from exc

    async def close(self) -> None:
        await self.group.close()
        if self._writer is not None:
            await asyncio.to_thread(self._writer.close)
        if self._lock_waiter is not None:
            self._lock_waiter.shutdown(wait=False)
        await self.engine.dispose()
        if self._reader is not None:
            await self._reader.dispose()
        if self._sqlite is not None:
            self._sqlite.close()
        if self._pg is not None:
            await self._pg.close()

"""The two reads behind every signed-in request and every send, one statement each.

A session with its member in one joined query (the member's roles folded in), and the
addressees' statuses and current key leaves in one query. On SQLite they are plain
``sqlite3`` calls run by ``storage.sqlite_reader.SqliteReader``; on PostgreSQL the same two
statements are plain asyncpg calls (``storage.pg_reader.PgReader``) outside any transaction:
one round trip each, no BEGIN and ROLLBACK, no SQLAlchemy layer.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Collection
from typing import Any

from isecom.services.ports import Member, RecipientKeys, Session
from isecom.types import MemberId, MemberStatus
from storage.key_reads import member_from_row
from storage.pg_reader import PgReader
from storage.sqlite_reader import maybe_when, when

_SESSION_SQL = (
    "SELECT s.digest, s.created_at, s.expires_at, s.revoked_at, s.public_id, s.last_seen_at, s.user_agent,"
    " m.id, m.email, m.name, m.country, m.agency, m.status, m.language, m.created_at,"  # MEMBER_COLUMNS
    " (SELECT group_concat(role, ' ') FROM member_roles WHERE member_id = m.id)"
    " FROM sessions s JOIN members m ON m.id = s.member_id WHERE s.digest = ?"
)
# The same two statements for PostgreSQL, run by storage.pg_reader.PgReader (asyncpg, prepared once
# per connection): the same columns in the same order.
PG_SESSION_SQL = _SESSION_SQL.replace("group_concat(role, ' ')", "string_agg(role, ' ')").replace(
    "s.digest = ?", "s.digest = $1"
)
# Addressees are few (a send is limited to max_recipients): one statement text per count,
# which sqlite3's statement cache keeps prepared.
_KEYS_SQL = (
    "SELECT m.id, m.status, d.revoke_idx, l.data FROM members m"
    " LEFT JOIN key_directory d ON d.member_id = m.id LEFT JOIN kt_leaves l ON l.idx = d.keys_idx"
    " WHERE m.id IN ({marks})"
)
PG_KEYS_SQL = _KEYS_SQL.replace("IN ({marks})", "= ANY($1::varchar[])")


def session_member(conn: sqlite3.Connection, digest: bytes) -> tuple[Session, Member] | None:
    """The session with this digest and its member (sessions.member_id is a foreign key)."""
    row = conn.execute(_SESSION_SQL, (digest,)).fetchone()
    return None if row is None else session_member_row(row)


async def pg_session_member(reader: PgReader, digest: bytes) -> tuple[Session, Member] | None:
    row = await reader.row(PG_SESSION_SQL, digest)
    return None if row is None else session_member_row(row)


async def pg_recipient_keys(reader: PgReader, member_ids: Collection[MemberId]) -> dict[MemberId, RecipientKeys]:
    ids = list(dict.fromkeys(i.value for i in member_ids))
    if not ids:
        return {}
    return dict(_recipient_keys(row) for row in await reader.rows(PG_KEYS_SQL, ids))


def recipient_keys(conn: sqlite3.Connection, member_ids: Collection[MemberId]) -> dict[MemberId, RecipientKeys]:
    """Each addressee's status, revocation and current key leaf (absent: no such member)."""
    ids = list(dict.fromkeys(i.value for i in member_ids))
    if not ids:
        return {}
    rows = conn.execute(_KEYS_SQL.format(marks=",".join("?" * len(ids))), ids).fetchall()
    return dict(_recipient_keys(row) for row in rows)


# Rows to objects: pure functions of a row's values, which repeat (the same session on every
# request, the same recipients on every send), so the objects are kept for the values that were
# seen last. Measured at 20 µs of the loop's time per request and per send before.
@functools.lru_cache(maxsize=1024)
def session_member_row(row: tuple[Any, ...]) -> tuple[Session, Member]:
    """A row of ``_SESSION_SQL`` or ``PG_SESSION_SQL`` as a session and its member."""
    session = Session(
        digest=bytes(row[0]),
        member_id=MemberId(row[7]),
        created_at=when(row[1]),
        expires_at=when(row[2]),
        revoked_at=maybe_when(row[3]),
        public_id=row[4] or "",
        last_seen_at=maybe_when(row[5]),
        user_agent=row[6] or "",
    )
    return session, member_from_row(row[7:15], (row[15] or "").split())


@functools.lru_cache(maxsize=4096)
def _recipient_keys(row: tuple[Any, ...]) -> tuple[MemberId, RecipientKeys]:
    member_id, status, revoke_idx, data = row
    keys = RecipientKeys(MemberStatus(status), revoke_idx is not None, None if data is None else bytes(data))
    return MemberId(member_id), keys

"""Key look-ups, the keyserver's hot path: a member's log rows in one snapshot.

On SQLite the look-up runs as one call in a worker thread on a read-only
``sqlite3`` connection of that thread (``storage.sqlite_reader``): five indexed
queries in one deferred transaction (a WAL snapshot), no per-query hop between
the event loop and the driver's thread. Elsewhere it uses the repositories in one ``Store.read()``
transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from isecom.services.ports import KeyHistoryRows, Member, NodesNeeded, RelatedLeaves, Transaction
from isecom.types import Country, Email, Language, MemberId, MemberStatus, Role
from storage.sqlite_reader import when

Selector = tuple[str, str]
UPPER_LEVEL = 8
UPPER_LIMIT = 100_000  # ("id" | "email", value)


async def generic(
    read: Callable[[], AbstractAsyncContextManager[Transaction]],
    selector: Selector,
    needed: NodesNeeded,
    related: RelatedLeaves,
) -> KeyHistoryRows | None:
    async with read() as tx:
        kind, value = selector
        member = await (tx.members.get(MemberId(value)) if kind == "id" else tx.members.by_email(Email.parse(value)))
        if member is None:
            return None
        size, checkpoint = await tx.keylog.latest_checkpoint() or (0, b"")  # none yet: all pending
        leaves = await tx.keylog.leaves_of(member.id.value)
        for index in sorted(set(related(leaves)) - {i for i, _ in leaves}):
            if 0 < index < size:
                leaves.extend((index, data) for data in await tx.keylog.leaves(index, index + 1))
        leaves.sort()
        (leaf0,) = await tx.keylog.leaves(0, 1)
        nodes = await tx.keylog.nodes(needed([i for i, _ in leaves], size)) if leaves else {}
        return KeyHistoryRows(member, leaves, checkpoint, size, leaf0, nodes)


MEMBER_COLUMNS = "id, email, name, country, agency, status, language, created_at"
_MEMBER_SQL = {
    "id": f"SELECT {MEMBER_COLUMNS} FROM members WHERE id = ?",  # noqa: S608 - constant text
    "email": f"SELECT {MEMBER_COLUMNS} FROM members WHERE email = ?",  # noqa: S608 - constant text
}


def sqlite_history(
    conn: sqlite3.Connection,
    selector: Selector,
    needed: NodesNeeded,
    related: RelatedLeaves,
    upper: dict[tuple[int, int], bytes],
) -> KeyHistoryRows | None:
    kind, value = selector
    row = conn.execute(_MEMBER_SQL[kind], (value,)).fetchone()
    if row is None:
        return None
    latest = conn.execute("SELECT size, data FROM kt_checkpoints ORDER BY size DESC LIMIT 1").fetchone()
    size, checkpoint = (int(latest[0]), bytes(latest[1])) if latest else (0, b"")  # none yet: all pending
    roles = [r for (r,) in conn.execute("SELECT role FROM member_roles WHERE member_id = ?", (row[0],))]
    leaves = [
        (int(i), bytes(d))
        for i, d in conn.execute("SELECT idx, data FROM kt_leaves WHERE uid = ? OR idx = 0 ORDER BY idx", (row[0],))
    ]
    leaf0 = leaves[0][1] if leaves and leaves[0][0] == 0 else b""
    own = [(i, d) for i, d in leaves if i != 0]
    for index in sorted(set(related(own)) - {i for i, _ in own}):
        if 0 < index < size:
            own.extend(
                (int(i), bytes(d)) for i, d in conn.execute("SELECT idx, data FROM kt_leaves WHERE idx = ?", (index,))
            )
    own.sort()
    nodes: dict[tuple[int, int], bytes] = {}
    by_level: dict[int, list[int]] = {}
    for node in needed([i for i, _ in own], size) if own else ():
        known = upper.get(node)
        if known is not None:
            nodes[node] = known
        else:
            by_level.setdefault(node[0], []).append(node[1])
    for level, indices in by_level.items():
        # One indexed search per level: few distinct statement texts, so sqlite3's statement
        # cache keeps them prepared (a row-value IN would scan the table; one OR of them all
        # would be re-prepared on every look-up).
        marks = ",".join("?" * len(indices))
        sql = f"SELECT idx, hash FROM kt_nodes WHERE level = ? AND idx IN ({marks})"  # noqa: S608 - placeholders only
        for idx, digest in conn.execute(sql, [level, *indices]):
            nodes[(level, int(idx))] = bytes(digest)
            if level >= UPPER_LEVEL and len(upper) < UPPER_LIMIT:
                upper[(level, int(idx))] = bytes(digest)
    return KeyHistoryRows(member_from_row(row, roles), own, checkpoint, size, leaf0, nodes)


def member_from_row(row: Sequence[Any], roles: Iterable[str]) -> Member:
    """A member from the eight columns of ``MEMBER_COLUMNS``, read by ``sqlite3``."""
    return Member(
        id=MemberId(row[0]),
        email=Email.parse(row[1]),
        name=row[2],
        country=Country(row[3]),
        agency=row[4],
        roles=frozenset(Role(r) for r in roles),
        status=MemberStatus(row[5]),
        language=Language(row[6]),
        created_at=when(row[7]),
    )

"""``Store.session_member`` and ``Store.recipient_keys``: SQLite's one-hop reader (storage/hot_reads.py)
and PostgreSQL's asyncpg reader (storage/pg_reader.py) answer exactly what the repositories read."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from isecom.crypto import keytrans
from isecom.errors import Unavailable
from isecom.services import keydir
from isecom.services.ports import DirectoryEntry, Session
from isecom.types import MemberId, MemberStatus, Role
from storage.db import make_engine
from storage.store import SqlStore
from tests.conftest import FakeClock
from tests.contract.test_keylog import AUTHORITY
from tests.contract.test_repositories import a_member


async def test_a_session_comes_with_its_member_and_roles(store: SqlStore, clock: FakeClock) -> None:
    if store.engine.dialect.name == "sqlite":
        assert store._sqlite is not None  # the one-hop reader is what is tested here
    else:
        assert store._pg is not None  # asyncpg, not SQLAlchemy
    member = a_member(clock, roles=frozenset({Role.MEMBER, Role.NCB_HEAD, Role.ADMIN}))
    plain = a_member(clock, "ines.garcia@isecom.example", roles=frozenset(), status=MemberStatus.SUSPENDED)
    now = clock.now()
    live = Session(bytes([1]) * 32, member.id, now, now + timedelta(hours=12), None, "p1", now, "Firefox demo")
    ended = Session(bytes([2]) * 32, plain.id, now, now + timedelta(hours=1), now + timedelta(minutes=5), "p2")
    async with store.transaction() as tx:
        await tx.members.add(member)
        await tx.members.add(plain)
        await tx.sessions.add(live)
        await tx.sessions.add(ended)
    for session, owner in ((live, member), (ended, plain)):
        found = await store.session_member(session.digest)
        async with store.read() as tx:
            expected = (await tx.sessions.get(session.digest), await tx.members.get(owner.id))
        assert found == expected
        assert found is not None and found[1] == owner and found[0].digest == session.digest
    found = await store.session_member(live.digest)
    assert found is not None and found[0] == live and found[1].roles == member.roles
    assert await store.session_member(bytes([3]) * 32) is None


async def test_recipient_keys_read_status_revocation_and_current_leaf(store: SqlStore, clock: FakeClock) -> None:
    keyed, bare, revoked = (a_member(clock, f"m{i}@isecom.example") for i in range(3))
    gone = a_member(clock, "left@isecom.example", status=MemberStatus.SUSPENDED)
    async with store.transaction() as tx:
        for member in (keyed, bare, revoked, gone):
            await tx.members.add(member)
        first = await keydir.append_leaf(tx, AUTHORITY, keytrans.Kind.KEYS, bytes.fromhex(keyed.id.value), b"k1", 1)
        other = await keydir.append_leaf(tx, AUTHORITY, keytrans.Kind.KEYS, bytes.fromhex(revoked.id.value), b"k2", 1)
        await tx.keylog.set_entry(DirectoryEntry(keyed.id, keys_idx=first, approval_idx=first))
        await tx.keylog.set_entry(DirectoryEntry(revoked.id, keys_idx=other, approval_idx=other, revoke_idx=other))
    unknown = MemberId.new()
    asked = [keyed.id, bare.id, revoked.id, gone.id, unknown, keyed.id]
    found = await store.recipient_keys(asked)
    async with store.read() as tx:
        assert found == await tx.mail.recipient_keys(asked)
        (leaf,) = await tx.keylog.leaves(first, first + 1)
    assert set(found) == {keyed.id, bare.id, revoked.id, gone.id}  # unknown: absent
    assert found[keyed.id].keys_leaf == leaf and not found[keyed.id].revoked
    assert found[bare.id].keys_leaf is None and found[revoked.id].revoked
    assert found[gone.id].status is MemberStatus.SUSPENDED
    assert await store.recipient_keys([]) == {}


@pytest.mark.parametrize("database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
async def test_postgresql_reads_survive_their_connections_being_cut(store: SqlStore, clock: FakeClock) -> None:
    """A connection of the asyncpg pool killed by the server (a restart, a failover) is answered
    as ``Unavailable`` at worst, and the next read gets a fresh connection."""
    member = a_member(clock)
    now = clock.now()
    live = Session(bytes([4]) * 32, member.id, now, now + timedelta(hours=1), None, "p4", now, "demo")
    async with store.transaction() as tx:
        await tx.members.add(member)
        await tx.sessions.add(live)
    assert await store.session_member(live.digest) is not None
    assert store._pg is not None and store._pg._pool is not None
    async with store._pg._pool.acquire() as pooled:  # the one connection the reads used
        pid = pooled.get_server_pid()
    async with store.engine.connect() as conn:
        cut = await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        assert cut.scalar_one() is True
    answers = []
    for _ in range(3):
        try:
            answers.append(await store.session_member(live.digest))
        except Unavailable:
            answers.append(None)
    assert answers[-1] is not None and answers[-1][0] == live


async def test_an_unreachable_postgresql_is_unavailable() -> None:
    store = SqlStore(make_engine("postgresql+asyncpg://postgres@127.0.0.1:9/test"))
    try:
        with pytest.raises(Unavailable):
            await store.session_member(bytes(32))
        with pytest.raises(Unavailable):
            await store.recipient_keys([MemberId("0" * 32)])
    finally:
        await store.close()

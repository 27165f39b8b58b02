"""Every repository, on SQLite and on PostgreSQL (the latter when ISECOM_TEST_DATABASE_URL is set)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from isecom.errors import Conflict, TokenInvalid
from isecom.services import members, sessions, tokens
from isecom.services.ports import AuditEntry, Member
from isecom.types import Country, Email, Language, MemberId, MemberStatus, Role
from storage.db import make_engine
from storage.store import SqlStore
from tests.conftest import FakeClock

KEY = b"9c1f4a7e2b8d5036e4a9c1f7b2d8e5034a9c1f7e2b8d5c306e4a9c1f7b2d8e50"


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlStore]:
    store = SqlStore(make_engine(database_url))
    yield store
    await store.close()


def a_member(clock: FakeClock, email: str = "camille.roux@isecom.example", **changes: object) -> Member:
    values: dict[str, object] = {
        "id": MemberId.new(),
        "email": Email.parse(email),
        "name": "Camille Roux",
        "country": Country.parse("FR"),
        "agency": "Demo Asset Recovery Office",
        "roles": frozenset({Role.MEMBER, Role.AGENCY_HEAD}),
        "status": MemberStatus.ACTIVE,
        "language": Language.FR,
        "created_at": clock.now(),
    }
    values.update(changes)
    return Member(**values)  # type: ignore[arg-type]


async def test_members_round_trip(store: SqlStore, clock: FakeClock) -> None:
    member = a_member(clock)
    async with store.transaction() as tx:
        await tx.members.add(member)
    async with store.transaction() as tx:
        assert await tx.members.get(member.id) == member
        assert await tx.members.by_email(Email.parse("CAMILLE.ROUX@isecom.example")) == member
        assert await tx.members.get(MemberId.new()) is None
        assert await tx.members.count() == 1
        assert await tx.members.count_with_role(Role.AGENCY_HEAD) == 1
        assert await tx.members.count_with_role(Role.ADMIN) == 0
        await tx.members.set_status(member.id, MemberStatus.SUSPENDED)
    async with store.transaction() as tx:
        found = await tx.members.get(member.id)
    assert found is not None and found.status is MemberStatus.SUSPENDED
    assert found.created_at == clock.now() and found.created_at.tzinfo is not None


async def test_duplicate_email_is_a_conflict_and_writes_nothing(store: SqlStore, clock: FakeClock) -> None:
    async with store.transaction() as tx:
        await tx.members.add(a_member(clock))
    with pytest.raises(Conflict):
        async with store.transaction() as tx:
            await tx.audit.record(AuditEntry(clock.now(), None, "should.not.stay", None, {}))
            await tx.members.add(a_member(clock, email="Camille.ROUX@isecom.example"))
    async with store.transaction() as tx:
        assert await tx.members.count() == 1
        assert [e.action for e in await tx.audit.recent(10)] == []


async def test_a_failed_transaction_rolls_back(store: SqlStore, clock: FakeClock) -> None:
    with pytest.raises(RuntimeError):
        async with store.transaction() as tx:
            await tx.members.add(a_member(clock))
            raise RuntimeError("boom")
    async with store.transaction() as tx:
        assert await tx.members.count() == 0


async def test_tokens_are_single_use_purpose_bound_and_expire(store: SqlStore, clock: FakeClock) -> None:
    member = a_member(clock)
    async with store.transaction() as tx:
        await tx.members.add(member)
        token = await tokens.issue(tx, clock, KEY, purpose="activation", member_id=member.id, ttl=timedelta(hours=1))
        other = await tokens.issue(tx, clock, KEY, purpose="activation", member_id=member.id, ttl=timedelta(hours=1))
    async with store.transaction() as tx:
        assert (await tokens.check(tx, clock, KEY, purpose="activation", token=token)).member_id == member.id
        with pytest.raises(TokenInvalid):
            await tokens.check(tx, clock, KEY, purpose="session", token=token)
        await tokens.redeem(tx, clock, KEY, purpose="activation", token=token)
    async with store.transaction() as tx:
        with pytest.raises(TokenInvalid):
            await tokens.redeem(tx, clock, KEY, purpose="activation", token=token)
    clock.advance(hours=1)
    async with store.transaction() as tx:
        with pytest.raises(TokenInvalid):
            await tokens.check(tx, clock, KEY, purpose="activation", token=other)


async def test_sessions_authenticate_until_expiry_or_revocation(store: SqlStore, clock: FakeClock) -> None:
    member = a_member(clock)
    async with store.transaction() as tx:
        await tx.members.add(member)
    cookie = await sessions.open_session(store, clock, KEY, member.id)
    assert (await sessions.authenticate(store, clock, KEY, cookie)).id == member.id
    from isecom.errors import Unauthenticated

    for bad in (None, "", "x" * 43, cookie[:-1] + ("A" if cookie[-1] != "A" else "B")):
        with pytest.raises(Unauthenticated):
            await sessions.authenticate(store, clock, KEY, bad)
    clock.advance(seconds=sessions.SESSION_TTL.total_seconds())
    with pytest.raises(Unauthenticated):
        await sessions.authenticate(store, clock, KEY, cookie)


async def test_audit_log_keeps_order_and_detail(store: SqlStore, clock: FakeClock) -> None:
    async with store.transaction() as tx:
        for i in range(3):
            await tx.audit.record(AuditEntry(clock.now(), None, f"event.{i}", "subject", {"n": str(i)}))
    async with store.transaction() as tx:
        recent = await tx.audit.recent(2)
    assert [(e.action, e.detail) for e in recent] == [("event.2", {"n": "2"}), ("event.1", {"n": "1"})]


async def test_first_admin_only_once_and_audited(store: SqlStore, clock: FakeClock) -> None:
    new = members.NewMember.parse(
        email="ada.admin@isecom.example", name="Ada Admin", country="FR", agency="Ops", roles=[]
    )
    invitation = await members.create_first_admin(store, clock, KEY, new)
    assert Role.ADMIN in invitation.member.roles
    assert invitation.member.status is MemberStatus.PENDING_ACTIVATION
    second = members.NewMember.parse(email="bo@isecom.example", name="Bo", country="FR", agency="Ops", roles=[])
    with pytest.raises(Conflict):
        await members.create_first_admin(store, clock, KEY, second)
    async with store.transaction() as tx:
        entries = await tx.audit.recent(10)
        live = await tokens.check(tx, clock, KEY, purpose=tokens.ACTIVATION, token=invitation.activation_token)
    assert [e.action for e in entries] == ["admin.first_created"]
    assert live.member_id == invitation.member.id

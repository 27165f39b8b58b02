"""Every repository, on SQLite and on PostgreSQL (the latter when ISECOM_TEST_DATABASE_URL is set)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from isecom.errors import Conflict, TokenInvalid
from isecom.services import members, sessions, tokens
from isecom.services.ports import AuditEntry, Member
from isecom.types import Country, Email, Language, MemberId, MemberStatus, Role
from storage.store import SqlStore
from tests.conftest import FakeClock

KEY = b"9c1f4a7e2b8d5036e4a9c1f7b2d8e5034a9c1f7e2b8d5c306e4a9c1f7b2d8e50"


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


async def test_sessions_authenticate_until_idle_expiry_or_revocation(store: SqlStore, clock: FakeClock) -> None:
    from isecom.errors import Unauthenticated

    member = a_member(clock)
    async with store.transaction() as tx:
        await tx.members.add(member)
    cookie, digest = await sessions.open_session(store, clock, KEY, member.id, user_agent="Test/1.0")
    current = await sessions.authenticate(store, clock, KEY, cookie)
    assert current.member.id == member.id and current.session.digest == digest
    for bad in (None, "", "x" * 43, cookie[:-1] + ("A" if cookie[-1] != "A" else "B")):
        with pytest.raises(Unauthenticated):
            await sessions.authenticate(store, clock, KEY, bad)
    clock.advance(minutes=29)
    await sessions.authenticate(store, clock, KEY, cookie)  # activity keeps it alive...
    clock.advance(minutes=29)
    await sessions.authenticate(store, clock, KEY, cookie)
    clock.advance(minutes=31)  # ...idleness ends it
    with pytest.raises(Unauthenticated):
        await sessions.authenticate(store, clock, KEY, cookie)
    cookie, _ = await sessions.open_session(store, clock, KEY, member.id)
    for _ in range(25):  # the absolute limit holds however active the session is
        clock.advance(minutes=29)
        try:
            await sessions.authenticate(store, clock, KEY, cookie)
        except Unauthenticated:
            break
    else:
        pytest.fail("a session outlived its absolute limit")
    assert clock.now() - current.session.created_at >= sessions.SESSION_TTL


async def test_session_list_and_revocation(store: SqlStore, clock: FakeClock) -> None:
    from isecom.errors import NotFound, Unauthenticated

    member, other = a_member(clock), a_member(clock, email="other@isecom.example")
    async with store.transaction() as tx:
        await tx.members.add(member)
        await tx.members.add(other)
    first, _ = await sessions.open_session(store, clock, KEY, member.id, user_agent="Browser A")
    clock.advance(seconds=5)
    second, _ = await sessions.open_session(store, clock, KEY, member.id, user_agent="Browser B")
    theirs, _ = await sessions.open_session(store, clock, KEY, other.id)
    current = await sessions.authenticate(store, clock, KEY, second)
    listed = await sessions.list_sessions(store, clock, member.id)
    assert [s.user_agent for s in listed] == ["Browser B", "Browser A"]
    their_session = (await sessions.list_sessions(store, clock, other.id))[0]
    with pytest.raises(NotFound):  # another member's session looks like a missing one
        await sessions.revoke(store, clock, current, their_session.public_id)
    await sessions.authenticate(store, clock, KEY, theirs)
    await sessions.revoke(store, clock, current, listed[1].public_id)
    with pytest.raises(Unauthenticated):
        await sessions.authenticate(store, clock, KEY, first)
    await sessions.open_session(store, clock, KEY, member.id)
    assert await sessions.revoke_others(store, clock, current) == 1
    assert [s.public_id for s in await sessions.list_sessions(store, clock, member.id)] == [listed[0].public_id]


async def test_credentials_and_totp_steps_only_move_forward(store: SqlStore, clock: FakeClock) -> None:
    from isecom.services.ports import Credentials

    member = a_member(clock)
    credentials = Credentials(
        member_id=member.id,
        salt=bytes(16),
        params={"alg": "argon2id13", "ops": 3, "mem": 67108864},
        auth_pk=bytes(32),
        wrapped_password=b"w1",
        wrapped_recovery=b"w2",
        bundle_version=1,
        sig_pk=bytes(32),
        enc_pk=bytes(32),
        totp_sealed=b"sealed",
        totp_last_step=100,
        created_at=clock.now(),
        updated_at=clock.now(),
    )
    async with store.transaction() as tx:
        await tx.members.add(member)
        await tx.credentials.add(credentials)
    with pytest.raises(Conflict):
        async with store.transaction() as tx:
            await tx.credentials.add(credentials)
    async with store.transaction() as tx:
        assert await tx.credentials.get(member.id) == credentials
        assert not await tx.credentials.set_totp_step(member.id, 100)
        assert not await tx.credentials.set_totp_step(member.id, 99)
        assert await tx.credentials.set_totp_step(member.id, 101)
        assert await tx.credentials.get(MemberId.new()) is None


async def test_challenges_are_single_use_and_expire(store: SqlStore, clock: FakeClock) -> None:
    from isecom.services.ports import Challenge

    live = Challenge(b"\x01" * 16, "a@isecom.example", b"\x02" * 32, clock.now() + timedelta(seconds=60), None)
    stale = Challenge(b"\x03" * 16, "a@isecom.example", b"\x04" * 32, clock.now() + timedelta(seconds=60), None)
    async with store.transaction() as tx:
        await tx.challenges.add(live)
        await tx.challenges.add(stale)
    async with store.transaction() as tx:
        taken = await tx.challenges.take(live.id, clock.now())
        assert taken is not None and taken.challenge == live.challenge
        assert await tx.challenges.take(live.id, clock.now()) is None
        assert await tx.challenges.take(b"\x09" * 16, clock.now()) is None
    clock.advance(seconds=61)
    async with store.transaction() as tx:
        assert await tx.challenges.take(stale.id, clock.now()) is None
        assert await tx.challenges.purge(clock.now()) == 2


async def test_throttle_blocks_after_free_failures_and_grows(store: SqlStore, clock: FakeClock) -> None:
    from isecom.errors import RateLimited
    from isecom.services import throttle

    key = throttle.account_key("A@isecom.example")
    async with store.transaction() as tx:
        for _ in range(throttle.FREE_FAILURES["account"]):
            state = await throttle.fail(tx, key, clock.now())
            assert state.blocked_until is None
        first = await throttle.fail(tx, key, clock.now())
        second = await throttle.fail(tx, key, clock.now())
    assert first.blocked_until is not None and second.blocked_until is not None
    assert second.blocked_until - clock.now() == 2 * (first.blocked_until - clock.now())
    with pytest.raises(RateLimited):
        async with store.transaction() as tx:
            await throttle.check(tx, [key], clock.now())
    clock.advance(hours=2)
    async with store.transaction() as tx:
        await throttle.check(tx, [key], clock.now())
        assert (await throttle.fail(tx, key, clock.now())).failures == 1  # a new window


async def test_audit_log_keeps_order_and_detail_and_chains(store: SqlStore, clock: FakeClock) -> None:
    from isecom.services import audit

    async with store.transaction() as tx:
        for i in range(3):
            await tx.audit.record(AuditEntry(clock.now(), None, f"event.{i}", "subject", {"n": str(i)}))
    async with store.transaction() as tx:
        recent = await tx.audit.recent(2)
    assert [(e.action, e.detail) for e in recent] == [("event.2", {"n": "2"}), ("event.1", {"n": "1"})]
    verdict = await audit.verify(store)
    assert verdict.intact and verdict.entries == 3


async def test_audit_verify_names_the_first_changed_entry(store: SqlStore, clock: FakeClock) -> None:
    from sqlalchemy import delete, update

    from isecom.services import audit
    from storage import tables

    async with store.transaction() as tx:
        for i in range(5):
            await tx.audit.record(AuditEntry(clock.now(), None, f"event.{i}", None, {"n": str(i)}))
    async with store.engine.begin() as conn:  # an operator with database access edits row 3
        await conn.execute(update(tables.audit_log).where(tables.audit_log.c.seq == 3).values(detail='{"n": "9"}'))
    verdict = await audit.verify(store)
    assert verdict.first_broken == 3 and not verdict.intact
    async with store.engine.begin() as conn:
        await conn.execute(update(tables.audit_log).where(tables.audit_log.c.seq == 3).values(detail='{"n": "2"}'))
    assert (await audit.verify(store)).intact
    async with store.engine.begin() as conn:
        await conn.execute(delete(tables.audit_log).where(tables.audit_log.c.seq == 2))
    assert (await audit.verify(store)).first_broken == 2
    async with store.engine.begin() as conn:
        await conn.execute(delete(tables.audit_log).where(tables.audit_log.c.seq >= 2))
    assert (await audit.verify(store)).problem == "the newest entries were removed"


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


async def test_member_search_matches_name_email_agency_and_country(store: SqlStore, clock: FakeClock) -> None:
    people = [
        a_member(clock, "camille.roux@isecom.example"),
        a_member(clock, "ines.duarte@isecom.example", name="Inês Duarte", country=Country.parse("PT"), agency="A_B"),
        a_member(clock, "omar.khalil@isecom.example", name="Omar Khalil", country=Country.parse("JO"), agency="AxB"),
    ]
    async with store.transaction() as tx:
        for person in people:
            await tx.members.add(person)
    async with store.transaction() as tx:
        search = tx.members.search
        assert [m.name for m in await search("", country=None, limit=10, offset=0)] == [
            "Camille Roux",
            "Inês Duarte",
            "Omar Khalil",
        ]
        assert [m.name for m in await search("DUARTE", country=None, limit=10, offset=0)] == ["Inês Duarte"]
        assert [m.name for m in await search("omar.k", country=None, limit=10, offset=0)] == ["Omar Khalil"]
        assert [m.name for m in await search("a_b", country=None, limit=10, offset=0)] == ["Inês Duarte"]
        assert await search("%", country=None, limit=10, offset=0) == []
        assert [m.name for m in await search("", country=Country.parse("JO"), limit=10, offset=0)] == ["Omar Khalil"]
        assert [m.name for m in await search("", country=None, limit=1, offset=1)] == ["Inês Duarte"]

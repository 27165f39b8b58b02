"""Server-side sessions: idle and absolute limits, the session list, revocation, CSRF tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from isecom.crypto.keys import random_bytes
from isecom.crypto.tokens import derive, equal, issue_token, token_digest
from isecom.errors import NotFound, Unauthenticated
from isecom.services.ports import AuditEntry, Clock, Member, Session, Store, Transaction
from isecom.types import MemberId, MemberStatus

PURPOSE = "session"
SESSION_TTL = timedelta(hours=12)
IDLE_TTL = timedelta(minutes=30)
# last_seen_at is written at most this often, so reads do not become writes.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Limits:
    idle: timedelta = IDLE_TTL
    absolute: timedelta = SESSION_TTL


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True, slots=True)
class Current:
    member: Member
    session: Session


def csrf_token(server_key: bytes, session_digest: bytes) -> str:
    """The CSRF token of a session: derived, so nothing more is stored."""
    return derive(server_key, "csrf", session_digest).hex()


def check_csrf(server_key: bytes, session_digest: bytes, sent: str | None) -> bool:
    expected = csrf_token(server_key, session_digest).encode()
    return sent is not None and equal(expected, sent.encode()[:64])


async def authenticate(
    store: Store, clock: Clock, server_key: bytes, cookie: str | None, limits: Limits = DEFAULT_LIMITS
) -> Current:
    """The member and session behind a live cookie, else Unauthenticated (one error for all cases)."""
    digest = token_digest(cookie, purpose=PURPOSE, server_key=server_key) if cookie else None
    if digest is None:
        raise Unauthenticated()
    now = clock.now()
    # Every request comes through here: one read without the writer's lock (Store.session_member),
    # and a write only when the session must end (idle) or its last use is worth recording (at
    # most once a minute).
    found = await store.session_member(digest)
    if found is None:
        raise Unauthenticated()
    session, member = found
    if session.revoked_at is not None or now >= session.expires_at:
        raise Unauthenticated()
    last = session.last_seen_at or session.created_at
    if now - last >= limits.idle:
        async with store.transaction() as tx:
            await tx.sessions.revoke(digest, now)
        raise Unauthenticated()
    if member.status is not MemberStatus.ACTIVE:
        raise Unauthenticated()
    if now - last >= TOUCH_EVERY:
        async with store.transaction() as tx:
            await tx.sessions.touch(digest, now)
    return Current(member=member, session=session)


async def open_session(
    store: Store,
    clock: Clock,
    server_key: bytes,
    member_id: MemberId,
    *,
    user_agent: str = "",
    limits: Limits = DEFAULT_LIMITS,
) -> tuple[str, bytes]:
    """A new session (a new id every sign-in); returns the cookie value and its digest."""
    async with store.transaction() as tx:
        return await add_session(tx, clock, server_key, member_id, user_agent=user_agent, limits=limits)


async def add_session(
    tx: Transaction,
    clock: Clock,
    server_key: bytes,
    member_id: MemberId,
    *,
    user_agent: str = "",
    limits: Limits = DEFAULT_LIMITS,
) -> tuple[str, bytes]:
    """``open_session`` inside the caller's transaction."""
    cookie, digest = issue_token(purpose=PURPOSE, server_key=server_key)
    now = clock.now()
    await tx.sessions.add(
        Session(
            digest=digest,
            member_id=member_id,
            created_at=now,
            expires_at=now + limits.absolute,
            revoked_at=None,
            public_id=random_bytes(8).hex(),
            last_seen_at=now,
            user_agent=user_agent,
        )
    )
    return cookie, digest


async def sign_out(store: Store, clock: Clock, current: Current) -> None:
    async with store.transaction() as tx:
        await tx.sessions.revoke(current.session.digest, clock.now())
        await tx.audit.record(
            AuditEntry(clock.now(), current.member.id, "session.signed_out", current.member.id.value, {})
        )


async def list_sessions(store: Store, clock: Clock, member_id: MemberId) -> list[Session]:
    async with store.transaction() as tx:
        return await tx.sessions.for_member(member_id, clock.now())


async def revoke(store: Store, clock: Clock, current: Current, public_id: str) -> None:
    """Revoke one of the member's own sessions; another member's looks like a missing one."""
    async with store.transaction() as tx:
        if not await tx.sessions.revoke_public(current.member.id, public_id, clock.now()):
            raise NotFound("No such session.")
        await tx.audit.record(
            AuditEntry(
                clock.now(), current.member.id, "session.revoked", current.member.id.value, {"session": public_id}
            )
        )


async def revoke_others(store: Store, clock: Clock, current: Current) -> int:
    async with store.transaction() as tx:
        count = await tx.sessions.revoke_all(current.member.id, clock.now(), keep=current.session.digest)
        await tx.audit.record(
            AuditEntry(
                clock.now(), current.member.id, "session.revoked_others", current.member.id.value, {"count": str(count)}
            )
        )
    return count

"""Resolve a session cookie to an active member (sign-in itself comes with Membership)."""

from __future__ import annotations

from datetime import timedelta

from isecom.crypto.tokens import issue_token, token_digest
from isecom.errors import Unauthenticated
from isecom.services.ports import Clock, Member, Session, Store
from isecom.types import MemberId, MemberStatus

PURPOSE = "session"
SESSION_TTL = timedelta(hours=8)


async def authenticate(store: Store, clock: Clock, server_key: bytes, cookie: str | None) -> Member:
    """The member behind a live session cookie, else Unauthenticated (one error for all cases)."""
    digest = token_digest(cookie, purpose=PURPOSE, server_key=server_key) if cookie else None
    if digest is None:
        raise Unauthenticated()
    async with store.transaction() as tx:
        session = await tx.sessions.get(digest)
        if session is None or session.revoked_at is not None or clock.now() >= session.expires_at:
            raise Unauthenticated()
        member = await tx.members.get(session.member_id)
    if member is None or member.status is not MemberStatus.ACTIVE:
        raise Unauthenticated()
    return member


async def open_session(store: Store, clock: Clock, server_key: bytes, member_id: MemberId) -> str:
    """Start a session for a member whose sign-in proof was already checked."""
    cookie, digest = issue_token(purpose=PURPOSE, server_key=server_key)
    now = clock.now()
    async with store.transaction() as tx:
        await tx.sessions.add(
            Session(digest=digest, member_id=member_id, created_at=now, expires_at=now + SESSION_TTL, revoked_at=None)
        )
    return cookie

"""Issue and redeem single-use, purpose-bound, expiring tokens."""

from __future__ import annotations

from datetime import timedelta

from isecom.crypto.tokens import issue_token, token_digest
from isecom.errors import TokenInvalid
from isecom.services.ports import Clock, Token, Transaction
from isecom.types import MemberId

ACTIVATION = "activation"
ACTIVATION_TTL = timedelta(days=7)


async def issue(
    tx: Transaction, clock: Clock, server_key: bytes, *, purpose: str, member_id: MemberId, ttl: timedelta
) -> str:
    token, digest = issue_token(purpose=purpose, server_key=server_key)
    now = clock.now()
    await tx.tokens.add(
        Token(digest=digest, purpose=purpose, member_id=member_id, created_at=now, expires_at=now + ttl, used_at=None)
    )
    return token


async def check(tx: Transaction, clock: Clock, server_key: bytes, *, purpose: str, token: str) -> Token:
    """The live token, or TokenInvalid (unknown, wrong purpose, expired, used: one error)."""
    digest = token_digest(token, purpose=purpose, server_key=server_key)
    found = await tx.tokens.get(digest) if digest is not None else None
    if found is None or found.purpose != purpose or found.used_at is not None or clock.now() >= found.expires_at:
        raise TokenInvalid()
    return found


async def redeem(tx: Transaction, clock: Clock, server_key: bytes, *, purpose: str, token: str) -> Token:
    """Check and consume in the caller's transaction; a second redeem fails."""
    found = await check(tx, clock, server_key, purpose=purpose, token=token)
    if not await tx.tokens.mark_used(found.digest, clock.now()):
        raise TokenInvalid()
    return found

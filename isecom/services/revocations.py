"""Revoking a member's keys: by the member, or by the head of their country's NCB (PROTOCOL.md §9.5).

The revocation is signed in the revoker's browser (or by ``isecom.client.revocations``) and
checked and logged by ``keysigned.revoke_signed``; this records who did it and why. Revoked keys
are refused by every client; the member gets new keys through a fresh approval
(``admin.reset_keys``). Revoking keys does not end the membership.
"""

from __future__ import annotations

from isecom.errors import InvalidInput
from isecom.services import keydir, keysigned
from isecom.services.ports import AuditEntry, Clock, Member, Store
from isecom.types import MemberId

MAX_REASON = 2000


async def revoke(
    store: Store,
    clock: Clock,
    authority: keydir.Authority,
    actor: Member,
    member_id: MemberId,
    statement: bytes,
    *,
    reason: str,
) -> Member:
    text = reason.strip()
    if len(text) > MAX_REASON or (actor.id != member_id and not text):
        raise InvalidInput("Give a reason (at most 2000 characters); it is kept in the audit log.", field="reason")
    now = clock.now()
    async with store.transaction() as tx:
        member = await keysigned.revoke_signed(tx, authority, actor, member_id, statement, now=now)
        by = "self" if actor.id == member.id else "ncb_head"
        await tx.audit.record(AuditEntry(now, actor.id, "keys.revoked", member.id.value, {"reason": text, "by": by}))
    return member

"""The audit log: verify the hash chain, export entries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from isecom.crypto.chain import GENESIS, entry_hash
from isecom.errors import Forbidden
from isecom.services.ports import AuditEntry, Member, Store
from isecom.types import Role


@dataclass(frozen=True, slots=True)
class Verdict:
    entries: int
    first_broken: int | None  # the sequence number of the first entry that does not verify
    problem: str = ""

    @property
    def intact(self) -> bool:
        return self.first_broken is None


async def verify(store: Store) -> Verdict:
    """Recompute every hash from the first entry; name the first that does not match."""
    expected_prev, count, expected_seq = GENESIS, 0, 1
    async with store.transaction() as tx:
        async for item in tx.audit.chain():
            count += 1
            if item.seq != expected_seq:
                return Verdict(count, expected_seq, f"entry {expected_seq} is missing (found {item.seq})")
            entry = item.entry
            digest = entry_hash(
                expected_prev,
                seq=item.seq,
                at=entry.at,
                actor=entry.actor.value if entry.actor else None,
                action=entry.action,
                subject=entry.subject,
                detail=item.detail_text,
            )
            if item.prev_hash != expected_prev or item.hash != digest:
                return Verdict(count, item.seq, f"entry {item.seq} was changed or its predecessor removed")
            expected_prev, expected_seq = digest, expected_seq + 1
        head = await tx.audit.head()
    if count and (head is None or head != (count, expected_prev)):
        return Verdict(count, count, "the newest entries were removed")
    return Verdict(count, None)


SECURITY_EVENTS = frozenset(
    {
        "keys.revoked",
        "member.activated",
        "signin.success",
        "signin.failure",
        "signin.throttled",
        "session.signed_out",
        "session.revoked",
        "session.revoked_others",
        "password.changed",
        "password.change_failed",
        "keys.rotated",
        "keys.rotate_failed",
        "recovery.used",
        "recovery.failed",
        "membership.suspend",
        "membership.reinstate",
        "membership.expire",
        "membership.revoke",
        "keys.reset",
    }
)
MAX_EXPORT = 100_000


async def own_security_events(store: Store, member: Member, limit: int = 100) -> list[AuditEntry]:
    """What a member sees of the log: security events about their own account."""
    async with store.transaction() as tx:
        return await tx.audit.recent(min(limit, 500), subject=member.id.value, actions=SECURITY_EVENTS)


async def search(
    store: Store,
    actor: Member,
    *,
    action_prefix: str | None,
    subject: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
) -> list[AuditEntry]:
    """Administrators filter the whole log."""
    if Role.ADMIN not in actor.roles:
        raise Forbidden("Only platform administrators can read the audit log.")
    async with store.transaction() as tx:
        return await tx.audit.recent(
            max(1, min(limit, MAX_EXPORT)), subject=subject, action_prefix=action_prefix, since=since, until=until
        )

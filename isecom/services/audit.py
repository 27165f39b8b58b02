"""The audit log: verify the hash chain, export entries."""

from __future__ import annotations

from dataclasses import dataclass

from isecom.crypto.chain import GENESIS, entry_hash
from isecom.services.ports import Store


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

"""Key look-ups: a member's whole history with inclusion proofs, the directory, consistency, leaves."""

from __future__ import annotations

from dataclasses import dataclass

from isecom.crypto import keytrans, merkle
from isecom.errors import InvalidInput, NotFound
from isecom.services.ports import DirectoryEntry, KeyHistoryRows, Member, Store, Transaction
from isecom.types import Country, Email, MemberId, MemberStatus

# --- look-ups ------------------------------------------------------------------

MAX_LIST = 500


@dataclass(frozen=True, slots=True)
class ProvedLeaf:
    index: int
    data: bytes
    proof: list[bytes]  # empty when the leaf is newer than the checkpoint (then ``pending``)


@dataclass(frozen=True, slots=True)
class History:
    member: Member
    log_key: bytes
    checkpoint: bytes
    size: int
    leaves: list[ProvedLeaf]

    @property
    def pending(self) -> bool:
        return any(leaf.index >= self.size for leaf in self.leaves)


async def _checkpoint(tx: Transaction) -> tuple[bytes, int]:
    latest = await tx.keylog.latest_checkpoint()
    if latest is None:
        raise NotFound("No key has been published yet.")
    size, obj = latest
    return obj, size


def _proof_nodes(indices: list[int], size: int) -> set[tuple[int, int]]:
    return merkle.nodes_for([r for i in indices if i < size for r in merkle.inclusion_ranges(i, size)])


_DECISIONS = (keytrans.ApprovalKind.NOMINATION, keytrans.ApprovalKind.AUTHORIZATION)


_KIND_AT = len(keytrans.LEAF_TAG)
_NAMING = frozenset({keytrans.Kind.APPROVAL, keytrans.Kind.REVOKE})


def _approver_certs(leaves: list[tuple[int, bytes]]) -> set[int]:
    """The log indices of the certificates the member's decisions and NCB revocations name."""
    out = set()
    for _, data in leaves:
        if data[_KIND_AT] not in _NAMING:  # most leaves (key statements, certificates) name nothing
            continue
        item = keytrans.parse_leaf(data)
        if item.kind is keytrans.Kind.REVOKE:
            rev = keytrans.parse_revocation(item.obj)
            if rev.by is keytrans.RevokedBy.NCB_HEAD:
                out.add(rev.signer_cert_idx)
        elif item.kind is keytrans.Kind.APPROVAL and keytrans.approval_kind(item.obj) in _DECISIONS:
            out.add(keytrans.parse_decision(item.obj).signer_cert_idx)
    return out


async def history(store: Store, member_id: MemberId) -> History:
    return _history(await store.key_history(member_id=member_id, needed=_proof_nodes, related=_approver_certs))


async def history_by_email(store: Store, email: Email) -> History:
    return _history(await store.key_history(email=email, needed=_proof_nodes, related=_approver_certs))


def _history(rows: KeyHistoryRows | None) -> History:
    if rows is None or rows.member.status in _HIDDEN or not rows.leaves:
        raise NotFound("No member with published keys has this id or address.")
    size = rows.checkpoint_size
    leaves = [
        ProvedLeaf(i, d, merkle.hashes_for(merkle.inclusion_ranges(i, size), rows.nodes) if i < size else [])
        for i, d in rows.leaves
    ]
    return History(rows.member, keytrans.parse_leaf(rows.log_key_leaf).obj, rows.checkpoint, size, leaves)


_HIDDEN = frozenset(
    {MemberStatus.APPLIED, MemberStatus.PENDING_NOMINATION, MemberStatus.PENDING_AUTHORIZATION, MemberStatus.REJECTED}
)


async def directory(store: Store, country: Country) -> list[tuple[Member, DirectoryEntry]]:
    """Active members of a country who have published keys, by name (bounded)."""
    async with store.read() as tx:
        members = [m for m in await tx.members.in_country(country, limit=MAX_LIST) if m.status is MemberStatus.ACTIVE]
        entries = {e.member_id: e for e in await tx.keylog.entries([m.id for m in members])}
    return [(m, entries[m.id]) for m in members if m.id in entries and entries[m.id].keys_idx is not None]


async def consistency(store: Store, old_size: int) -> tuple[bytes, list[bytes]]:
    """The latest checkpoint and PROOF(old_size, it) (none for old_size 0)."""
    async with store.read() as tx:
        cp, size = await _checkpoint(tx)
        if old_size == 0:
            return cp, []
        if not 0 < old_size <= size:
            raise InvalidInput(f"from must be between 0 and {size}.", field="from")
        ranges = merkle.consistency_ranges(old_size, size)
        nodes = await tx.keylog.nodes(merkle.nodes_for(ranges))
        return cp, merkle.hashes_for(ranges, nodes)


async def leaves(store: Store, start: int, end: int, *, limit: int = 1000) -> list[bytes]:
    """Leaves [start, end) of the log for monitors and self-audit (at most ``limit``)."""
    if start < 0 or end <= start or end - start > limit:
        raise InvalidInput(f"Ask for 1 to {limit} leaves with 0 ≤ start < end.", field="start")
    async with store.read() as tx:
        size = await tx.keylog.size()
        if end > size:
            raise InvalidInput(f"The log holds {size} leaves.", field="end")
        return await tx.keylog.leaves(start, end)

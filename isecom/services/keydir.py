"""The key directory and its transparency log (docs/PROTOCOL.md §9).

Every key event is a leaf of an RFC 9162 tree, appended in the same
transaction as the event itself, so nothing is acknowledged that the log does
not hold. Look-ups return a member's whole history with inclusion proofs
against the latest signed checkpoint; the client checks every signature and
rule itself (``isecom.crypto.keytrans.check_history``) and never trusts us.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from isecom.crypto import keytrans, merkle
from isecom.crypto.errors import CryptoError
from isecom.errors import InvalidInput, NotFound, Unavailable
from isecom.services.ports import Clock, DirectoryEntry, KeyHistoryRows, Member, Store, Transaction
from isecom.types import Country, Email, MemberId, MemberStatus, Role

_CERT_ROLES = ((Role.AGENCY_HEAD, keytrans.CertRole.AGENCY_HEAD), (Role.NCB_HEAD, keytrans.CertRole.NCB_HEAD))
DEFAULT_TERM = timedelta(days=730)
MAX_LIST = 500


@dataclass(frozen=True, slots=True)
class Authority:
    """The keys the log and the platform sign with; the root's private half may be offline."""

    origin: str
    root_pk: bytes
    root_seed: bytes | None
    log_seed: bytes

    @property
    def log_keys(self) -> tuple[bytes, bytes]:
        return keytrans.signing_keypair(self.log_seed)

    def root_sk(self) -> bytes:
        if self.root_seed is None:
            raise Unavailable(
                "The platform root key is not on this server, so new members cannot be certified now; "
                "an administrator must bring it back (isecom keys root import)."
            )
        pk, sk = keytrans.signing_keypair(self.root_seed)
        if pk != self.root_pk:
            raise Unavailable("The platform root key does not match root.pub.")
        return sk


def _seconds(when: datetime) -> int:
    return int(when.timestamp())


def _uid(member_id: MemberId) -> bytes:
    return bytes.fromhex(member_id.value)


async def _append(tx: Transaction, authority: Authority, kind: keytrans.Kind, uid: bytes, obj: bytes, now: int) -> int:
    size = await tx.keylog.lock_size()
    if size == 0 and kind is not keytrans.Kind.LOGKEY:
        log_pk, _ = authority.log_keys
        cert = keytrans.log_key_certificate(authority.root_sk(), origin=authority.origin, log_pk=log_pk, made=now)
        await _write(tx, 0, keytrans.Kind.LOGKEY, bytes(16), cert, now, {})
        size = 1
    frontier = await tx.keylog.nodes(merkle.range_nodes(0, size)) if size else {}
    return await _write(tx, size, kind, uid, obj, now, frontier)


async def _write(
    tx: Transaction,
    index: int,
    kind: keytrans.Kind,
    uid: bytes,
    obj: bytes,
    now: int,
    frontier: dict[tuple[int, int], bytes],
) -> int:
    data = keytrans.leaf(kind, uid, now, obj)
    nodes = merkle.append_nodes(index, merkle.leaf_hash(data), frontier)
    await tx.keylog.append(index, int(kind), uid.hex(), data, nodes)
    return index


async def enrol(
    tx: Transaction,
    authority: Authority,
    member: Member,
    statement: bytes,
    *,
    sig_pk: bytes,
    enc_pk: bytes,
    not_after: datetime | None,
    now: datetime,
) -> None:
    """At activation: the platform's approval, approver certificates, then the member's key statement."""
    try:
        ks = keytrans.parse_key_statement(statement)
    except CryptoError as exc:
        raise InvalidInput(
            f"The key statement is not valid ({exc.check}; PROTOCOL.md §9.2).", field="key_statement"
        ) from None
    if ks.uid != _uid(member.id) or ks.email != str(member.email):
        raise InvalidInput("The key statement names another member.", field="key_statement")
    seqno, prev = await next_statement(tx, member.id)
    if ks.seqno != seqno or ks.prev != prev or ks.sig_pk != sig_pk or ks.enc_pk != enc_pk:
        raise InvalidInput("The key statement does not match the keys being activated.", field="key_statement")
    t = _seconds(now)
    root_sk = authority.root_sk()
    uid = _uid(member.id)
    term_end = _seconds(not_after) if not_after else t + int(DEFAULT_TERM.total_seconds())
    entry = await tx.keylog.entry(member.id) or DirectoryEntry(member.id)
    signed = entry.approval_idx is not None and entry.approval_idx > (entry.keys_idx or 0)
    # Approvers who signed in their browsers (§9.3) already put the approval in the log; the
    # platform approves only members an administrator created or approved, and key resets.
    approval_idx = entry.approval_idx if signed else await _platform_approval(tx, authority, member, term_end, t)
    cert_idx = entry.cert_idx
    for role, cert_role in _CERT_ROLES:
        if role in member.roles:
            cert = keytrans.certificate(
                root_sk,
                role=cert_role,
                uid=uid,
                email=str(member.email),
                name=member.name,
                country=member.country.code,
                agency=member.agency,
                sig_pk=sig_pk,
                not_after=term_end,
                made=t,
            )
            cert_idx = await _append(tx, authority, keytrans.Kind.CERT, uid, cert, t)
    keys_idx = await _append(tx, authority, keytrans.Kind.KEYS, uid, statement, t)
    await tx.keylog.set_entry(
        DirectoryEntry(member.id, keys_idx=keys_idx, approval_idx=approval_idx, cert_idx=cert_idx)
    )


async def _platform_approval(tx: Transaction, authority: Authority, member: Member, term_end: int, t: int) -> int:
    approval = keytrans.platform_approval(
        authority.root_sk(),
        uid=_uid(member.id),
        email=str(member.email),
        name=member.name,
        country=member.country.code,
        agency=member.agency,
        not_after=term_end,
        made=t,
    )
    return await _append(tx, authority, keytrans.Kind.APPROVAL, _uid(member.id), approval, t)


async def revoke_by_platform(tx: Transaction, authority: Authority, member: Member, now: datetime) -> bool:
    """When a membership is revoked: the platform revokes the current key statement (logged)."""
    entry = await tx.keylog.entry(member.id)
    if entry is None or entry.keys_idx is None or entry.revoke_idx is not None or authority.root_seed is None:
        return False  # nothing published, already revoked, or the root is offline (then the term still ends it)
    (data,) = await tx.keylog.leaves(entry.keys_idx, entry.keys_idx + 1)
    ks = keytrans.parse_leaf(data).obj
    t = _seconds(now)
    obj = keytrans.revocation(
        authority.root_sk(),
        uid=_uid(member.id),
        ks_hash=keytrans.object_hash(ks),
        effective=t,
        by=keytrans.RevokedBy.PLATFORM,
        made=t,
    )
    idx = await _append(tx, authority, keytrans.Kind.REVOKE, _uid(member.id), obj, t)
    await tx.keylog.set_entry(
        DirectoryEntry(member.id, entry.keys_idx, entry.approval_idx, entry.cert_idx, revoke_idx=idx)
    )
    return True


async def next_statement(tx: Transaction, member_id: MemberId) -> tuple[int, bytes]:
    """The seqno and ``prev`` the member's next key statement must carry (§9.2)."""
    entry = await tx.keylog.entry(member_id)
    if entry is None or entry.keys_idx is None:
        return 0, keytrans.ZERO32
    (data,) = await tx.keylog.leaves(entry.keys_idx, entry.keys_idx + 1)
    current = keytrans.parse_key_statement(keytrans.parse_leaf(data).obj)
    return current.seqno + 1, current.hash


# --- checkpoints -------------------------------------------------------------


async def sign_checkpoint(store: Store, clock: Clock, authority: Authority) -> int | None:
    """Sign a checkpoint of the current tree if it grew since the last one; return its size."""
    async with store.transaction() as tx:
        size = await tx.keylog.lock_size()
        if size == 0:
            return None
        latest = await tx.keylog.latest_checkpoint()
        _, log_sk = authority.log_keys
        if latest is not None and latest[0] >= size:
            return None
        root = merkle.fold(list(await _nodes_in_order(tx, merkle.range_nodes(0, size))))
        obj = keytrans.checkpoint(log_sk, origin=authority.origin, size=size, root=root, time=_seconds(clock.now()))
        await tx.keylog.add_checkpoint(size, obj)
        return size


async def _nodes_in_order(tx: Transaction, wanted: list[tuple[int, int]]) -> list[bytes]:
    found = await tx.keylog.nodes(wanted)
    return [found[n] for n in wanted]


# --- look-ups ------------------------------------------------------------------


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


def _approver_certs(leaves: list[tuple[int, bytes]]) -> set[int]:
    """The log indices of the certificates the member's nominations and authorizations name."""
    out = set()
    for _, data in leaves:
        item = keytrans.parse_leaf(data)
        if (
            item.kind is keytrans.Kind.APPROVAL
            and keytrans.approval_kind(item.obj) is not keytrans.ApprovalKind.PLATFORM
        ):
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


# --- auditing the whole log (isecom kt verify) ---------------------------------


@dataclass(frozen=True, slots=True)
class LogVerdict:
    leaves: int
    checkpoints: int
    problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.problem is None


async def audit_log(store: Store, authority: Authority, *, batch: int = 2000) -> LogVerdict:
    """Recompute the log from its leaves: every leaf, stored subtree, root, checkpoint and history rule.

    Returns the first problem found, in log order.
    """
    async with store.read() as tx:
        size = await tx.keylog.size()
        checkpoints = dict(await tx.keylog.checkpoints())
        frontier: dict[tuple[int, int], bytes] = {}
        log_pk: bytes | None = None
        by_uid: dict[bytes, list[tuple[int, keytrans.Leaf]]] = {}
        last_time = -1
        for start in range(0, size, batch):
            end = min(size, start + batch)
            datas = await tx.keylog.leaves(start, end)
            if len(datas) != end - start:
                return LogVerdict(start, len(checkpoints), f"leaves are missing between {start} and {end}")
            created_all: dict[tuple[int, int], bytes] = {}
            for offset, data in enumerate(datas):
                index = start + offset
                try:
                    item = keytrans.parse_leaf(data)
                except CryptoError as exc:
                    return LogVerdict(index, len(checkpoints), f"leaf {index} is malformed ({exc.check})")
                if index == 0:
                    if item.kind is not keytrans.Kind.LOGKEY:
                        return LogVerdict(0, len(checkpoints), "leaf 0 is not the log key certificate")
                    try:
                        lk = keytrans.parse_log_key(item.obj, authority.root_pk)
                    except CryptoError as exc:
                        return LogVerdict(0, len(checkpoints), f"leaf 0: the log key certificate fails ({exc.check})")
                    log_pk = lk.log_pk
                elif item.kind is keytrans.Kind.LOGKEY:
                    return LogVerdict(index, len(checkpoints), f"leaf {index}: a second log key certificate")
                else:
                    by_uid.setdefault(item.uid, []).append((index, item))
                if item.logged < last_time:
                    return LogVerdict(index, len(checkpoints), f"leaf {index} is dated before the leaf before it")
                last_time = item.logged
                created = merkle.append_nodes(index, merkle.leaf_hash(data), frontier)
                created_all.update(created)
                frontier = {n: (frontier | created)[n] for n in merkle.range_nodes(0, index + 1)}
                if index + 1 in checkpoints:
                    problem = _check_checkpoint(checkpoints[index + 1], index + 1, frontier, log_pk, authority)
                    if problem:
                        return LogVerdict(index + 1, len(checkpoints), problem)
            stored = await tx.keylog.nodes(list(created_all))
            for node, digest in created_all.items():
                if stored.get(node) != digest:
                    level, i = node
                    return LogVerdict(
                        end,
                        len(checkpoints),
                        f"the stored hash of leaves {i << level}–{((i + 1) << level) - 1} is wrong",
                    )
    for size_cp in checkpoints:
        if size_cp > size or size_cp < 1:
            return LogVerdict(size, len(checkpoints), f"a checkpoint claims {size_cp} leaves; the log holds {size}")
    for uid, items in by_uid.items():
        try:
            if not any(leaf.kind is keytrans.Kind.KEYS for _, leaf in items):
                for _, leaf in items:  # approvals or certificates alone must still be genuine
                    _parse_alone(leaf, authority.root_pk)
                continue
            keytrans.check_history(uid, items, authority.root_pk)
        except CryptoError as exc:
            return LogVerdict(size, len(checkpoints), f"member {uid.hex()}: the key history fails ({exc.check})")
    return LogVerdict(size, len(checkpoints))


def _parse_alone(leaf: keytrans.Leaf, root_pk: bytes) -> None:
    if leaf.kind is keytrans.Kind.APPROVAL:
        keytrans.parse_approval(leaf.obj, root_pk)
    elif leaf.kind is keytrans.Kind.CERT:
        keytrans.parse_certificate(leaf.obj, root_pk)
    else:
        raise CryptoError("chain")  # a revocation without a key statement


def _check_checkpoint(
    obj: bytes, size: int, frontier: dict[tuple[int, int], bytes], log_pk: bytes | None, authority: Authority
) -> str | None:
    if log_pk is None:
        return "a checkpoint exists before the log key certificate"
    try:
        cp = keytrans.parse_checkpoint(obj, log_pk)
    except CryptoError as exc:
        return f"the checkpoint at size {size} fails ({exc.check})"
    if cp.size != size or cp.origin != authority.origin:
        return f"the checkpoint stored at size {size} names size {cp.size} and origin {cp.origin!r}"
    if cp.root != merkle.fold([frontier[n] for n in merkle.range_nodes(0, size)]):
        return f"the checkpoint at size {size} does not match the leaves (a fork or a changed entry)"
    return None


# --- decisions signed in the approvers' browsers (§9.3) ------------------------


@dataclass(frozen=True, slots=True)
class ApproverCert:
    """The certificate an approver signs decisions under, and where it is in the log."""

    index: int
    certificate: keytrans.Certificate


async def approver_certificate(
    tx: Transaction, authority: Authority, actor: Member, role: keytrans.CertRole
) -> ApproverCert | None:
    """The actor's certificate for ``role`` that names their current signing key, if any."""
    entry = await tx.keylog.entry(actor.id)
    if entry is None or entry.keys_idx is None or entry.revoke_idx is not None:
        return None
    (data,) = await tx.keylog.leaves(entry.keys_idx, entry.keys_idx + 1)
    sig_pk = keytrans.parse_key_statement(keytrans.parse_leaf(data).obj).sig_pk
    found = None
    for index, raw in await tx.keylog.leaves_of(actor.id.value):
        item = keytrans.parse_leaf(raw)
        if item.kind is keytrans.Kind.CERT:
            cert = keytrans.parse_certificate(item.obj, authority.root_pk)
            if cert.role is role and cert.sig_pk == sig_pk:
                found = ApproverCert(index, cert)
    return found


async def record_decision(
    tx: Transaction,
    authority: Authority,
    actor: Member,
    member: Member,
    statement: bytes,
    *,
    kind: keytrans.ApprovalKind,
    now: datetime,
    term: tuple[datetime, datetime] | None = None,
) -> int:
    """Check a nomination or authorization the approver signed in the browser and log it.

    ``term``: for an authorization, the earliest and latest acceptable end of membership.
    """
    role = keytrans.CertRole.AGENCY_HEAD if kind is keytrans.ApprovalKind.NOMINATION else keytrans.CertRole.NCB_HEAD
    cert = await approver_certificate(tx, authority, actor, role)
    if cert is None:
        raise InvalidInput(
            "Your approver certificate is missing, so your decision cannot be signed; ask a platform administrator.",
            field="statement",
        )
    try:
        decision = keytrans.parse_decision(statement)
        if decision.kind is not kind:
            raise CryptoError("format")
        decision.verify(cert.certificate.sig_pk)
    except CryptoError as exc:
        raise InvalidInput(
            f"The signed decision is not valid ({exc.check}; PROTOCOL.md §9.3).", field="statement"
        ) from None
    if decision.uid != _uid(member.id) or (decision.signer_cert, decision.signer_cert_idx) != (
        cert.certificate.hash,
        cert.index,
    ):
        raise InvalidInput("The signed decision names another member or certificate.", field="statement")
    if abs(decision.made - _seconds(now)) > 600:
        raise InvalidInput(
            "The signed decision is dated too far from now; check this computer's clock.", field="statement"
        )
    if kind is keytrans.ApprovalKind.NOMINATION:
        named = (decision.email, decision.name, decision.country, decision.agency)
        if named != _nfc(str(member.email), member.name, member.country.code, member.agency):
            raise InvalidInput("The signed nomination does not describe this applicant.", field="statement")
    else:
        latest = await latest_nomination(tx, member)
        if latest is None or decision.nomination != keytrans.object_hash(latest):
            raise InvalidInput("The signed authorization does not name this applicant's nomination.", field="statement")
        low, high = term or (now, now)
        if not _seconds(low) <= decision.not_after <= _seconds(high):
            raise InvalidInput("The membership end in the signed authorization is out of range.", field="statement")
    index = await _append(tx, authority, keytrans.Kind.APPROVAL, _uid(member.id), statement, _seconds(now))
    if kind is keytrans.ApprovalKind.AUTHORIZATION:
        entry = await tx.keylog.entry(member.id) or DirectoryEntry(member.id)
        await tx.keylog.set_entry(
            DirectoryEntry(
                member.id, entry.keys_idx, approval_idx=index, cert_idx=entry.cert_idx, revoke_idx=entry.revoke_idx
            )
        )
    return index


async def latest_nomination(tx: Transaction, member: Member) -> bytes | None:
    """The member's newest signed nomination (the object's bytes), if any."""
    found = None
    for _, raw in await tx.keylog.leaves_of(member.id.value):
        item = keytrans.parse_leaf(raw)
        if item.kind is keytrans.Kind.APPROVAL and keytrans.approval_kind(item.obj) is keytrans.ApprovalKind.NOMINATION:
            found = item.obj
    return found


def _nfc(*values: str) -> tuple[str, ...]:
    return tuple(unicodedata.normalize("NFC", v) for v in values)


# --- rotation of the encryption key (§9.2, §9.8 rule 2) --------------------------


async def rotate(tx: Transaction, authority: Authority, member: Member, statement: bytes, *, now: datetime) -> int:
    """Publish the member's next key statement: a new encryption key under the same signing key.

    No approval is needed (the statement is chained to the previous one and signed by the
    same key); a new signing key needs a fresh approval and goes through activation instead.
    """
    entry = await tx.keylog.entry(member.id)
    if entry is None or entry.keys_idx is None:
        raise InvalidInput("You have no published keys to rotate.", field="key_statement")
    if entry.revoke_idx is not None:
        raise InvalidInput("Your keys are revoked; ask for new keys instead.", field="key_statement")
    (data,) = await tx.keylog.leaves(entry.keys_idx, entry.keys_idx + 1)
    current = keytrans.parse_key_statement(keytrans.parse_leaf(data).obj)
    try:
        ks = keytrans.parse_key_statement(statement)
    except CryptoError as exc:
        raise InvalidInput(
            f"The key statement is not valid ({exc.check}; PROTOCOL.md §9.2).", field="key_statement"
        ) from None
    if ks.uid != current.uid or ks.email != current.email:
        raise InvalidInput("The key statement names another member.", field="key_statement")
    if ks.seqno != current.seqno + 1 or ks.prev != current.hash:
        raise InvalidInput("The key statement does not follow your current one.", field="key_statement")
    if ks.sig_pk != current.sig_pk:
        raise InvalidInput("A new signing key needs a fresh approval, not a rotation.", field="key_statement")
    if ks.enc_pk == current.enc_pk:
        raise InvalidInput("A rotation needs a new encryption key.", field="key_statement")
    index = await _append(tx, authority, keytrans.Kind.KEYS, current.uid, statement, _seconds(now))
    await tx.keylog.set_entry(
        DirectoryEntry(member.id, keys_idx=index, approval_idx=entry.approval_idx, cert_idx=entry.cert_idx)
    )
    return index

"""The key directory and its transparency log: appends, publication, checkpoints (PROTOCOL.md §9).

Every key event is a leaf of an RFC 9162 tree, appended in the same
transaction as the event itself, so nothing is acknowledged that the log does
not hold. Root-signed entries wait for the root when it is offline
(``keyroot``). Look-ups are in ``keylookup``, the whole-log audit in
``keyaudit``, what approvers and members sign in their browsers in
``keysigned``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from isecom.crypto import keytrans, merkle
from isecom.crypto.errors import CryptoError
from isecom.errors import InvalidInput, Unavailable
from isecom.services.ports import Clock, DirectoryEntry, Member, PendingItem, Store, Transaction
from isecom.types import MemberId, Role

_CERT_ROLES = ((Role.AGENCY_HEAD, keytrans.CertRole.AGENCY_HEAD), (Role.NCB_HEAD, keytrans.CertRole.NCB_HEAD))
LOGKEY_GROUP = "logkey"
DEFAULT_TERM = timedelta(days=730)


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


def seconds(when: datetime) -> int:
    return int(when.timestamp())


def uid_of(member_id: MemberId) -> bytes:
    return bytes.fromhex(member_id.value)


async def append_leaf(
    tx: Transaction, authority: Authority, kind: keytrans.Kind, uid: bytes, obj: bytes, now: int
) -> int:
    size = await tx.keylog.lock_size()
    if size == 0 and kind is not keytrans.Kind.LOGKEY:
        log_pk, _ = authority.log_keys
        cert = keytrans.log_key_certificate(authority.root_sk(), origin=authority.origin, log_pk=log_pk, made=now)
        await write_leaf(tx, 0, keytrans.Kind.LOGKEY, bytes(16), cert, now, {})
        size = 1
    frontier = await tx.keylog.nodes(merkle.range_nodes(0, size)) if size else {}
    return await write_leaf(tx, size, kind, uid, obj, now, frontier)


async def write_leaf(
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
    if ks.uid != uid_of(member.id) or ks.email != str(member.email):
        raise InvalidInput("The key statement names another member.", field="key_statement")
    seqno, prev = await next_statement(tx, member.id)
    if ks.seqno != seqno or ks.prev != prev or ks.sig_pk != sig_pk or ks.enc_pk != enc_pk:
        raise InvalidInput("The key statement does not match the keys being activated.", field="key_statement")
    t = seconds(now)
    uid = uid_of(member.id)
    term_end = seconds(not_after) if not_after else t + int(DEFAULT_TERM.total_seconds())
    entry = await tx.keylog.entry(member.id) or DirectoryEntry(member.id)
    signed = entry.approval_idx is not None and entry.approval_idx > (entry.keys_idx or 0)
    items: list[Item] = []
    if not signed:
        # Approvers who signed in their browsers (§9.3) already put the approval in the log; the
        # platform approves only members an administrator created or approved, and key resets.
        approval = keytrans.platform_approval_body(
            uid=uid,
            email=str(member.email),
            name=member.name,
            country=member.country.code,
            agency=member.agency,
            not_after=term_end,
            made=t,
        )
        items.append((keytrans.Kind.APPROVAL, uid, approval, True))
    for role, cert_role in _CERT_ROLES:
        if role in member.roles:
            cert = keytrans.certificate_body(
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
            items.append((keytrans.Kind.CERT, uid, cert, True))
    items.append((keytrans.Kind.KEYS, uid, statement, False))
    await _publish(tx, authority, member.id, items, t)


Item = tuple[keytrans.Kind, bytes, bytes, bool]  # kind, uid, body (root-signed) or object, needs the root


async def _publish(tx: Transaction, authority: Authority, member_id: MemberId, items: list[Item], t: int) -> None:
    """Sign what needs the root and append, in order; with the root offline, queue them all.

    A queued group is published by ``import_signatures`` once the root has signed every item.
    """
    if authority.root_seed is None:
        if await tx.keylog.size() == 0 and not any(p.group == LOGKEY_GROUP for p in await tx.keylog.pending()):
            log_pk, _ = authority.log_keys
            body = keytrans.log_key_body(origin=authority.origin, log_pk=log_pk, made=t)
            await tx.keylog.add_pending(LOGKEY_GROUP, [PendingItem(int(keytrans.Kind.LOGKEY), "00" * 16, body, True)])
        await tx.keylog.add_pending(
            member_id.value, [PendingItem(int(kind), uid.hex(), body, root) for kind, uid, body, root in items]
        )
        return
    root_sk = authority.root_sk()
    appended = [
        (kind, await append_leaf(tx, authority, kind, uid, keytrans.sign(root_sk, body) if root else body, t))
        for kind, uid, body, root in items
    ]
    await point_directory(tx, member_id, appended)


async def point_directory(tx: Transaction, member_id: MemberId, appended: list[tuple[keytrans.Kind, int]]) -> None:
    """Move the member's directory pointers to the entries just appended."""
    entry = await tx.keylog.entry(member_id) or DirectoryEntry(member_id)
    keys_idx, approval_idx, cert_idx, revoke_idx = entry.keys_idx, entry.approval_idx, entry.cert_idx, entry.revoke_idx
    for kind, index in appended:
        if kind is keytrans.Kind.KEYS:
            keys_idx, revoke_idx = index, None
        elif kind is keytrans.Kind.APPROVAL:
            approval_idx = index
        elif kind is keytrans.Kind.CERT:
            cert_idx = index
        elif kind is keytrans.Kind.REVOKE:
            revoke_idx = index
    await tx.keylog.set_entry(DirectoryEntry(member_id, keys_idx, approval_idx, cert_idx, revoke_idx))


async def revoke_by_platform(tx: Transaction, authority: Authority, member: Member, now: datetime) -> bool:
    """When a membership is revoked or keys are reset: the platform revokes the current statement.

    With the root offline the revocation waits for its signature like any root-signed entry;
    keys not yet published (an activation waiting for the root) are simply never published.
    """
    found = await current_statement(tx, member.id)
    if found is None or found[0].revoke_idx is not None:
        if any(p.group == member.id.value for p in await tx.keylog.pending()):
            await tx.keylog.drop_group(member.id.value)
        return False
    t = seconds(now)
    body = keytrans.revocation_body(
        uid=uid_of(member.id),
        ks_hash=found[1].hash,
        effective=t,
        by=keytrans.RevokedBy.PLATFORM,
        signer_pk=authority.root_pk,
        made=t,
    )
    await _publish(tx, authority, member.id, [(keytrans.Kind.REVOKE, uid_of(member.id), body, True)], t)
    return True


async def current_statement(
    tx: Transaction, member_id: MemberId
) -> tuple[DirectoryEntry, keytrans.KeyStatement] | None:
    """The member's directory pointers and current key statement, if they published one."""
    entry = await tx.keylog.entry(member_id)
    if entry is None or entry.keys_idx is None:
        return None
    (data,) = await tx.keylog.leaves(entry.keys_idx, entry.keys_idx + 1)
    return entry, keytrans.parse_key_statement(keytrans.parse_leaf(data).obj)


async def next_statement(tx: Transaction, member_id: MemberId) -> tuple[int, bytes]:
    """The seqno and ``prev`` the member's next key statement must carry (§9.2)."""
    found = await current_statement(tx, member_id)
    if found is None:
        return 0, keytrans.ZERO32
    _, current = found
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
        obj = keytrans.checkpoint(log_sk, origin=authority.origin, size=size, root=root, time=seconds(clock.now()))
        await tx.keylog.add_checkpoint(size, obj)
        return size


async def _nodes_in_order(tx: Transaction, wanted: list[tuple[int, int]]) -> list[bytes]:
    found = await tx.keylog.nodes(wanted)
    return [found[n] for n in wanted]


# --- rotation of the encryption key (§9.2, §9.8 rule 2) --------------------------


async def rotate(tx: Transaction, authority: Authority, member: Member, statement: bytes, *, now: datetime) -> int:
    """Publish the member's next key statement: a new encryption key under the same signing key.

    No approval is needed (the statement is chained to the previous one and signed by the
    same key); a new signing key needs a fresh approval and goes through activation instead.
    """
    found = await current_statement(tx, member.id)
    if found is None:
        raise InvalidInput("You have no published keys to rotate.", field="key_statement")
    entry, current = found
    waiting = [p for p in await tx.keylog.pending() if p.group == member.id.value]
    if entry.revoke_idx is not None or any(p.kind == keytrans.Kind.REVOKE for p in waiting):
        raise InvalidInput("Your keys are revoked; ask for new keys instead.", field="key_statement")
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
    index = await append_leaf(tx, authority, keytrans.Kind.KEYS, current.uid, statement, seconds(now))
    await tx.keylog.set_entry(
        DirectoryEntry(member.id, keys_idx=index, approval_idx=entry.approval_idx, cert_idx=entry.cert_idx)
    )
    return index

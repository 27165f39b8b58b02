"""Auditing the whole key log from scratch (``isecom kt verify``): the first problem, by name."""

from __future__ import annotations

from dataclasses import dataclass

from isecom.crypto import keytrans, khistory, merkle
from isecom.crypto.errors import CryptoError
from isecom.services.keydir import Authority
from isecom.services.ports import Store

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
        approvers: dict[int, keytrans.Certificate] = {}
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
                    if item.kind is keytrans.Kind.CERT:
                        try:
                            approvers[index] = keytrans.parse_certificate(item.obj, authority.root_pk)
                        except CryptoError as exc:
                            return LogVerdict(
                                index, len(checkpoints), f"leaf {index}: a certificate fails ({exc.check})"
                            )
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
            khistory.check_history(uid, items, authority.root_pk, approvers)
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

"""RFC 9162 Merkle trees (SHA-256 with 0x00 / 0x01 prefixes): roots, inclusion and consistency proofs.

The key-transparency log (keyserver issue) builds on this; the functions are
pure and work on lists of leaf hashes. Verification follows RFC 9162
§2.1.3.2 (inclusion) and §2.1.4.2 (consistency) step by step.
"""

from __future__ import annotations

from isecom.crypto.hashing import sha256

EMPTY_ROOT = sha256(b"")


def leaf_hash(data: bytes) -> bytes:
    return sha256(b"\x00" + data)


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) over leaf hashes."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return node_hash(root(leaves[:k]), root(leaves[k:]))


def inclusion_proof(index: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) (RFC 9162 §2.1.3.1)."""
    n = len(leaves)
    if not 0 <= index < n:
        raise ValueError("leaf index out of range")
    if n == 1:
        return []
    k = _split(n)
    if index < k:
        return [*inclusion_proof(index, leaves[:k]), root(leaves[k:])]
    return [*inclusion_proof(index - k, leaves[k:]), root(leaves[:k])]


def consistency_proof(old_size: int, leaves: list[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) (RFC 9162 §2.1.4.1)."""
    if not 0 < old_size <= len(leaves):
        raise ValueError("old size out of range")
    return _subproof(old_size, leaves, True)


def _subproof(m: int, leaves: list[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [root(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], complete), root(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), root(leaves[:k])]


def verify_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes], expected_root: bytes) -> bool:
    """RFC 9162 §2.1.3.2."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == expected_root


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: list[bytes]) -> bool:
    """RFC 9162 §2.1.4.2."""
    if old_size == new_size:
        return not proof and old_root == new_root
    if not 0 < old_size < new_size or not proof:
        return False
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is the first node
        proof = [old_root, *proof]
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root


# --- Stored subtrees -------------------------------------------------------
# A log keeps the hash of every *complete* subtree, named (level, index): the
# 2**level leaves starting at index << level. Any range RFC 9162 hashes, and so
# any root or proof, is a right fold of O(log n) of them, and an append creates
# at most log2(n) + 1 of them. Nothing is ever recomputed from the leaves.

Node = tuple[int, int]


def range_nodes(start: int, end: int) -> list[Node]:
    """The complete subtrees whose right fold is MTH(D[start:end]) for a range RFC 9162 splits."""
    if not 0 <= start < end:
        raise ValueError("empty or negative range")
    out: list[Node] = []
    while (end - start) & (end - start - 1):
        k = _split(end - start)
        level = k.bit_length() - 1
        out.append((level, start >> level))
        start += k
    level = (end - start).bit_length() - 1
    out.append((level, start >> level))
    return out


def fold(hashes: list[bytes]) -> bytes:
    """MTH of a range from its complete subtrees, left to right."""
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


Range = tuple[int, int]


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The ranges whose MTHs form PATH(index, D[size]), in proof order."""
    if not 0 <= index < size:
        raise ValueError("leaf index out of range")
    out: list[Range] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo += k
    out.reverse()
    return out


def consistency_ranges(old_size: int, size: int) -> list[Range]:
    """The ranges whose MTHs form PROOF(old_size, D[size]), in proof order."""
    if not 0 < old_size <= size:
        raise ValueError("old size out of range")
    out: list[Range] = []
    lo, hi, m, complete = 0, size, old_size, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo, m, complete = lo + k, m - k, False
    if not complete:
        out.append((lo, hi))
    out.reverse()
    return out


def nodes_for(ranges: list[Range]) -> set[Node]:
    return {node for r in ranges for node in range_nodes(*r)}


def hashes_for(ranges: list[Range], nodes: dict[Node, bytes]) -> list[bytes]:
    return [fold([nodes[n] for n in range_nodes(*r)]) for r in ranges]


def append_nodes(index: int, leaf: bytes, frontier: dict[Node, bytes]) -> dict[Node, bytes]:
    """The complete subtrees leaf ``index`` creates; ``frontier`` holds range_nodes(0, index)."""
    created = {(0, index): leaf}
    level, i, h = 0, index, leaf
    while i & 1:
        h = node_hash(frontier[(level, i - 1)], h)
        level, i = level + 1, i >> 1
        created[(level, i)] = h
    return created

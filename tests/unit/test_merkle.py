"""RFC 9162 / 6962 Merkle trees against the Certificate Transparency reference vectors."""

from __future__ import annotations

import pytest

from isecom.crypto import merkle

LEAVES = [
    bytes.fromhex(h)
    for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f")
]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CONSISTENCY = [
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
INCLUSION = [
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]
HASHES = [merkle.leaf_hash(x) for x in LEAVES]


def test_roots_match_the_reference() -> None:
    for size in range(9):
        assert merkle.root(HASHES[:size]).hex() == ROOTS[size]


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_inclusion_proofs_match_the_reference(index: int, size: int, proof: list[str]) -> None:
    assert [p.hex() for p in merkle.inclusion_proof(index, HASHES[:size])] == proof
    assert merkle.verify_inclusion(
        HASHES[index], index, size, [bytes.fromhex(p) for p in proof], bytes.fromhex(ROOTS[size])
    )


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY)
def test_consistency_proofs_match_the_reference(old: int, new: int, proof: list[str]) -> None:
    assert [p.hex() for p in merkle.consistency_proof(old, HASHES[:new])] == proof
    assert merkle.verify_consistency(
        old, new, bytes.fromhex(ROOTS[old]), bytes.fromhex(ROOTS[new]), [bytes.fromhex(p) for p in proof]
    )


def test_every_proof_of_every_shape_verifies_and_tampering_fails() -> None:
    leaves = [merkle.leaf_hash(bytes([i, i * 7 % 256])) for i in range(40)]
    for size in range(1, 41):
        tree = leaves[:size]
        top = merkle.root(tree)
        for index in range(size):
            proof = merkle.inclusion_proof(index, tree)
            assert merkle.verify_inclusion(tree[index], index, size, proof, top)
            assert not merkle.verify_inclusion(tree[index], index, size, proof, merkle.leaf_hash(b"other"))
            assert not merkle.verify_inclusion(tree[index], size, size, proof, top)
            if proof:
                bad = [bytes(32), *proof[1:]]
                assert not merkle.verify_inclusion(tree[index], index, size, bad, top)
        for old in range(1, size + 1):
            proof = merkle.consistency_proof(old, tree)
            old_root = merkle.root(leaves[:old])
            assert merkle.verify_consistency(old, size, old_root, top, proof)
            if old < size:
                assert not merkle.verify_consistency(old, size, merkle.root(leaves[1 : old + 1]), top, proof)
                assert not merkle.verify_consistency(old, size, old_root, top, proof[:-1])


def test_stored_subtrees_give_the_same_roots_and_proofs_as_the_leaves() -> None:
    """The log's O(log n) path (complete subtrees) agrees with RFC 9162 recomputed from all leaves."""
    leaves = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(45)]
    nodes: dict[tuple[int, int], bytes] = {}
    for i, leaf in enumerate(leaves):
        frontier = {n: nodes[n] for n in merkle.range_nodes(0, i)} if i else {}
        nodes.update(merkle.append_nodes(i, leaf, frontier))
    assert len(nodes) == 2 * len(leaves) - bin(len(leaves)).count("1")
    for size in range(1, len(leaves) + 1):
        assert merkle.fold([nodes[n] for n in merkle.range_nodes(0, size)]) == merkle.root(leaves[:size])
        for index in range(size):
            ranges = merkle.inclusion_ranges(index, size)
            assert merkle.hashes_for(ranges, nodes) == merkle.inclusion_proof(index, leaves[:size])
            assert len(merkle.nodes_for(ranges)) <= 2 * size.bit_length()
        for old in range(1, size + 1):
            ranges = merkle.consistency_ranges(old, size)
            assert merkle.hashes_for(ranges, nodes) == merkle.consistency_proof(old, leaves[:size])

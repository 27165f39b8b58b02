"""The key log's storage on SQLite and PostgreSQL: appends, subtree hashes, proofs, checkpoints, pointers."""

from __future__ import annotations

from isecom.crypto import keytrans, merkle
from isecom.services import keyaudit, keydir, keylookup
from isecom.services.ports import DirectoryEntry, PendingItem
from storage.store import SqlStore
from tests.conftest import FakeClock
from tests.contract.test_repositories import a_member

ROOT_SEED = bytes(range(32))
AUTHORITY = keydir.Authority(
    origin="http://127.0.0.1:8080",
    root_pk=keytrans.signing_keypair(ROOT_SEED)[0],
    root_seed=ROOT_SEED,
    log_seed=bytes(range(1, 33)),
)


async def test_appends_store_every_complete_subtree_and_serve_proofs(store: SqlStore, clock: FakeClock) -> None:
    uid = bytes([7]) * 16
    root_sk = AUTHORITY.root_sk()
    async with store.transaction() as tx:
        for i in range(37):
            cert = keytrans.certificate(
                root_sk,
                role=keytrans.CertRole.AGENCY_HEAD,
                uid=uid,
                email="camille.roux@isecom.example",
                name="Camille Roux",
                country="FR",
                agency="Demo Asset Recovery Office",
                sig_pk=bytes(32),
                not_after=2000,
                made=1000 + i,
            )
            await keydir.append_leaf(tx, AUTHORITY, keytrans.Kind.CERT, uid, cert, 1000 + i)
    assert await keydir.sign_checkpoint(store, clock, AUTHORITY) == 38  # the log key certificate is leaf 0
    assert await keydir.sign_checkpoint(store, clock, AUTHORITY) is None  # nothing new
    async with store.transaction() as tx:
        datas = await tx.keylog.leaves(0, 38)
        leaves = [merkle.leaf_hash(d) for d in datas]
        for index in (0, 1, 17, 37):
            ranges = merkle.inclusion_ranges(index, 38)
            nodes = await tx.keylog.nodes(merkle.nodes_for(ranges))
            assert merkle.hashes_for(ranges, nodes) == merkle.inclusion_proof(index, leaves)
        assert [i for i, _ in await tx.keylog.leaves_of(uid.hex())] == list(range(1, 38))
        ((size, obj),) = await tx.keylog.checkpoints()
    cp = keytrans.parse_checkpoint(obj, AUTHORITY.log_keys[0])
    assert (size, cp.size, cp.root) == (38, 38, merkle.root(leaves))
    latest, proof = await keylookup.consistency(store, 5)
    assert latest == obj and merkle.verify_consistency(5, 38, merkle.root(leaves[:5]), cp.root, proof)
    verdict = await keyaudit.audit_log(store, AUTHORITY)
    assert verdict.intact and (verdict.leaves, verdict.checkpoints) == (38, 1)


async def test_directory_pointers_are_one_row_per_member(store: SqlStore, clock: FakeClock) -> None:
    member = a_member(clock)
    async with store.transaction() as tx:
        await tx.members.add(member)
        await tx.keylog.set_entry(DirectoryEntry(member.id, keys_idx=3, approval_idx=2))
        await tx.keylog.set_entry(DirectoryEntry(member.id, keys_idx=3, approval_idx=2, revoke_idx=9))
    async with store.transaction() as tx:
        assert await tx.keylog.entry(member.id) == DirectoryEntry(member.id, 3, 2, None, 9)
        assert await tx.keylog.entries([]) == []


async def test_a_key_look_up_reads_one_consistent_snapshot(store: SqlStore, clock: FakeClock) -> None:
    """``Store.key_history``: SQLite's one-hop reader and the generic path answer the same."""
    member = a_member(clock)
    uid = bytes.fromhex(member.id.value)
    async with store.transaction() as tx:
        await tx.members.add(member)
        await keydir.append_leaf(tx, AUTHORITY, keytrans.Kind.CERT, bytes([9]) * 16, b"other", 1)
        for i in range(3):
            await keydir.append_leaf(tx, AUTHORITY, keytrans.Kind.KEYS, uid, bytes([i]), 2)
    early = await store.key_history(
        member_id=member.id, needed=keylookup._proof_nodes, related=keylookup._approver_certs
    )
    assert early is not None and (early.checkpoint_size, early.checkpoint) == (0, b"")  # no checkpoint: all pending
    assert keylookup._history(early).pending and all(not leaf.proof for leaf in keylookup._history(early).leaves)
    await keydir.sign_checkpoint(store, clock, AUTHORITY)
    async with store.transaction() as tx:
        await keydir.append_leaf(tx, AUTHORITY, keytrans.Kind.KEYS, uid, b"newer", 3)
    rows = await store.key_history(email=member.email, needed=keylookup._proof_nodes, related=keylookup._approver_certs)
    assert rows is not None and rows.member == member
    assert [i for i, _ in rows.leaves] == [2, 3, 4, 5] and rows.checkpoint_size == 5
    assert keytrans.parse_leaf(rows.log_key_leaf).kind is keytrans.Kind.LOGKEY
    async with store.read() as tx:
        leaves = [merkle.leaf_hash(d) for d in await tx.keylog.leaves(0, 5)]
    for index in (2, 3, 4):
        proof = merkle.hashes_for(merkle.inclusion_ranges(index, 5), rows.nodes)
        assert proof == merkle.inclusion_proof(index, leaves)
    assert (
        await store.key_history(
            member_id=a_member(clock).id, needed=keylookup._proof_nodes, related=keylookup._approver_certs
        )
        is None
    )


async def test_entries_waiting_for_the_root_keep_their_order_until_dropped(store: SqlStore) -> None:
    async with store.transaction() as tx:
        await tx.keylog.add_pending(
            "a" * 32, [PendingItem(2, "a" * 32, b"approval", True), PendingItem(1, "a" * 32, b"ks", False)]
        )
        await tx.keylog.add_pending("b" * 32, [PendingItem(4, "b" * 32, b"revoke", True)])
    async with store.transaction() as tx:
        waiting = await tx.keylog.pending()
        assert [(p.group[0], p.kind, p.body, p.needs_root, p.signed) for p in waiting] == [
            ("a", 2, b"approval", True, None),
            ("a", 1, b"ks", False, None),
            ("b", 4, b"revoke", True, None),
        ]
        await tx.keylog.set_signed(waiting[0].id, b"approval+signature")
        await tx.keylog.drop_group("b" * 32)
    async with store.transaction() as tx:
        assert [(p.body, p.signed) for p in await tx.keylog.pending()] == [
            (b"approval", b"approval+signature"),
            (b"ks", None),
        ]

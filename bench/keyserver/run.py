"""Key-log look-ups with inclusion proof per second at 10^4 and 10^6 leaves, proof sizes, appends per second.

One run, bounded in count and time, SQLite in a temporary folder:
  * for each log size, a fresh migrated database is filled with fictional members, each with a
    platform approval and a key statement signed with real keys (leaf 0 is the log key
    certificate). The tree's complete-subtree hashes are computed in memory with the product's
    ``merkle.append_nodes`` and bulk-inserted, then one checkpoint is signed by the product;
  * look-ups: ``keylookup.history`` (the function behind GET /keys/v1/members/{id}) for random
    members, CONCURRENCY at a time, at most LOOKUPS of them or LOOKUP_SECONDS: member row, the
    member's leaves, the checkpoint, and an inclusion proof per leaf from the stored subtrees.
    Every 100th answer is verified by the client code (``khistory.verify_response``) outside the
    timing. HTTP and the session check are not included;
  * appends: ``keydir.append_leaf`` of APPENDS certificates, one transaction each (as an activation
    appends), on the large log.

    .venv/bin/python bench/keyserver/run.py [--sizes 10000,1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from sqlalchemy import create_engine, insert

from isecom import app as composition
from isecom import config, instance
from isecom.crypto import keytrans, khistory, merkle
from isecom.crypto.encoding import b64e
from isecom.services import keydir, keylookup
from isecom.types import MemberId
from storage import tables as t
from storage.db import make_engine
from storage.store import SqlStore
from tests.conftest import FakeClock

CONCURRENCY = 16
LOOKUPS = 20_000
LOOKUP_SECONDS = 20.0
APPENDS = 1000
TOTAL_LIMIT = 900.0
BATCH = 20_000


def build(url: str, authority: keydir.Authority, size: int) -> list[str]:
    """Fill the log to ``size`` leaves (2 per member) with the sync driver; return the member ids."""
    engine = create_engine(url.replace("+aiosqlite", ""))
    root_sk = authority.root_sk()
    now = datetime(2026, 11, 28, tzinfo=UTC)
    t0 = int(now.timestamp())
    log_pk, _ = authority.log_keys
    nodes: dict[tuple[int, int], bytes] = {}
    frontier: dict[tuple[int, int], bytes] = {}
    ids: list[str] = []
    leaves_rows: list[dict[str, object]] = []
    member_rows: list[dict[str, object]] = []
    index = 0

    def add_leaf(kind: keytrans.Kind, uid: bytes, obj: bytes) -> None:
        nonlocal index, frontier
        data = keytrans.leaf(kind, uid, t0, obj)
        created = merkle.append_nodes(index, merkle.leaf_hash(data), frontier)
        nodes.update(created)
        merged = frontier | created
        frontier = {n: merged[n] for n in merkle.range_nodes(0, index + 1)}
        leaves_rows.append({"idx": index, "kind": int(kind), "uid": uid.hex(), "data": data})
        index += 1

    def flush(conn: object) -> None:
        if member_rows:
            conn.execute(insert(t.members), member_rows)  # type: ignore[attr-defined]
        if leaves_rows:
            conn.execute(insert(t.kt_leaves), leaves_rows)  # type: ignore[attr-defined]
        if nodes:
            conn.execute(  # type: ignore[attr-defined]
                insert(t.kt_nodes), [{"level": lv, "idx": ix, "hash": h} for (lv, ix), h in nodes.items()]
            )
        member_rows.clear()
        leaves_rows.clear()
        nodes.clear()

    with engine.begin() as conn:
        add_leaf(
            keytrans.Kind.LOGKEY,
            bytes(16),
            keytrans.log_key_certificate(root_sk, origin=authority.origin, log_pk=log_pk, made=t0),
        )
        n = 0
        while index + 2 <= size:
            member_id = MemberId.new()
            uid = bytes.fromhex(member_id.value)
            email = f"member{n}@isecom.example"
            seed = uid + uid
            pk, sk = keytrans.signing_keypair(seed)
            approval = keytrans.platform_approval(
                root_sk,
                uid=uid,
                email=email,
                name=f"Member {n}",
                country="FR",
                agency="Demo Office",
                not_after=t0 + 10**8,
                made=t0,
            )
            ks = keytrans.key_statement(sk, uid=uid, email=email, seqno=0, prev=keytrans.ZERO32, enc_pk=pk, created=t0)
            add_leaf(keytrans.Kind.APPROVAL, uid, approval)
            add_leaf(keytrans.Kind.KEYS, uid, ks)
            member_rows.append(
                {
                    "id": member_id.value,
                    "email": email,
                    "name": f"Member {n}",
                    "country": "FR",
                    "agency": "Demo Office",
                    "status": "active",
                    "language": "en",
                    "created_at": now,
                }
            )
            ids.append(member_id.value)
            n += 1
            if len(leaves_rows) >= BATCH:
                flush(conn)
        flush(conn)
        conn.execute(insert(t.kt_head).values(id=1, size=index))
    engine.dispose()
    return ids


async def run_size(size: int, deadline: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        instance.create(data)
        cfg = config.load(data, env={})
        await composition.check_database(cfg, upgrade=True)
        authority = keydir.Authority(
            origin=cfg.public_url,
            root_pk=cfg.root_pk,
            root_seed=cfg.root_seed,
            log_seed=keytrans.log_key_seed(cfg.server_key),
        )
        started = time.perf_counter()
        ids = await asyncio.to_thread(build, cfg.database_url, authority, size)
        built = time.perf_counter() - started
        store = SqlStore(make_engine(cfg.database_url))
        clock = FakeClock()
        try:
            await keydir.sign_checkpoint(store, clock, authority)
            async with store.read() as tx:
                real_size = await tx.keylog.size()
            rng = random.Random(7)  # noqa: S311 - picks members to look up, not a secret
            latencies: list[float] = []
            proof_hashes: list[int] = []
            samples: list[keylookup.History] = []
            stop_at = min(deadline, time.perf_counter() + LOOKUP_SECONDS)
            count = 0

            async def worker() -> None:
                nonlocal count
                while count < LOOKUPS and time.perf_counter() < stop_at:
                    count += 1
                    member_id = MemberId(rng.choice(ids))
                    t1 = time.perf_counter()
                    found = await keylookup.history(store, member_id)
                    latencies.append(time.perf_counter() - t1)
                    proof_hashes.append(sum(len(leaf.proof) for leaf in found.leaves))
                    if len(latencies) % 100 == 0:
                        samples.append(found)

            t2 = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
            elapsed = time.perf_counter() - t2
            for found in samples:  # the client's checks, outside the timing
                khistory.verify_response(
                    root_pk=cfg.root_pk,
                    origin=cfg.public_url,
                    log_key=found.log_key,
                    checkpoint_obj=found.checkpoint,
                    uid=bytes.fromhex(found.member.id.value),
                    entries=[(leaf.index, leaf.data, leaf.proof) for leaf in found.leaves],
                )
            answer_bytes = len(
                b64e(samples[0].checkpoint) + "".join(b64e(p) for leaf in samples[0].leaves for p in leaf.proof)
            )
            # Appends: one transaction each, as an activation appends.
            root_sk = authority.root_sk()
            appended = 0
            t3 = time.perf_counter()
            append_stop = min(deadline, t3 + 30)
            while appended < APPENDS and time.perf_counter() < append_stop:
                cert = keytrans.certificate(
                    root_sk,
                    role=keytrans.CertRole.AGENCY_HEAD,
                    uid=bytes(15) + b"\x01",
                    email="bench@isecom.example",
                    name="Bench",
                    country="FR",
                    agency="Demo Office",
                    sig_pk=bytes(32),
                    not_after=1,
                    made=1,
                )
                async with store.transaction() as tx:
                    await keydir.append_leaf(tx, authority, keytrans.Kind.CERT, bytes(15) + b"\x01", cert, 1)
                appended += 1
            append_elapsed = time.perf_counter() - t3
        finally:
            await store.close()
    lat = sorted(latencies)
    return {
        "size": real_size,
        "build_s": built,
        "lookups": len(latencies),
        "lookups_per_s": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(lat),
        "p95_ms": 1000 * lat[int(0.95 * (len(lat) - 1))],
        "proof_hashes": statistics.mean(proof_hashes),
        "verified": len(samples),
        "answer_b64_chars": answer_bytes,
        "appends_per_s": appended / append_elapsed,
        "appends": appended,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,1000000", help="log sizes, comma-separated")
    args = parser.parse_args()
    deadline = time.perf_counter() + TOTAL_LIMIT
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        print(f"building a log of {size:,} leaves …", flush=True)
        result = await run_size(size, deadline)
        results.append(result)
        print(
            f"  {int(result['size']):>9,} leaves (built in {result['build_s']:.0f} s): "
            f"{result['lookups_per_s']:,.0f} look-ups/s with proof ({int(result['lookups']):,} look-ups, "
            f"{CONCURRENCY} at a time; p50 {result['p50_ms']:.2f} ms, p95 {result['p95_ms']:.2f} ms), "
            f"{result['proof_hashes']:.1f} proof hashes per answer (2 leaves), "
            f"{result['answer_b64_chars']} base64 chars of proofs + checkpoint; "
            f"appends {result['appends_per_s']:,.0f}/s ({int(result['appends'])} transactions); "
            f"{int(result['verified'])} answers verified by the client code",
            flush=True,
        )
    if len(results) >= 2:
        small, large = results[0], results[-1]
        ratio = small["lookups_per_s"] / large["lookups_per_s"]
        print(
            f"cost growth {small['size']:,.0f} → {large['size']:,.0f} leaves: look-up time × {ratio:.2f}, "
            f"proof hashes × {large['proof_hashes'] / small['proof_hashes']:.2f} "
            f"(log2 ratio {int(large['size']).bit_length() / int(small['size']).bit_length():.2f})"
        )
        target = large["lookups_per_s"] >= 3000
        print(f"target ≥ 3,000 look-ups/s with proof at {large['size']:,.0f} leaves: {'met' if target else 'NOT met'}")


if __name__ == "__main__":
    asyncio.run(main())

"""Key-log test vectors (docs/PROTOCOL.md §9, §11): key statements, safety numbers, look-up answers.

Three vector kinds, checked by ``run`` here and by ``webmail/static/js/crypto/ktvectors.js``:

- ``key_statement``: a statement and the inputs that made it; the checker parses it (self-signature
  included) and makes it again from the inputs;
- ``safety_number``: two members' (uid, sig_pk); both fingerprints and the pair's 60 digits;
- ``keylog``: one look-up answer as a client sees it, with the client's memory (the checkpoint it
  accepted last and its consistency proof, the newest index it saw for the member); the checker
  applies every rule of §9.10: ``verify_response``, ``check_progress``, the per-member newest
  index (an older answer is ``log``: the log went back for this member), then revoked (``revoked``)
  and expired (``chain``, §9.8 rule 4).

``generate`` builds a small log (approvals, an NCB head's certificate, statements, an encryption-key
rotation, a signing-key change after a new approval, a revocation) and one negative case for every
tamper scenario of the keyserver issue, each naming the check it must fail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from isecom.crypto import keytrans, khistory, merkle
from isecom.crypto.encoding import b64d, b64e, be32, be64, lp
from isecom.crypto.errors import CryptoError
from isecom.crypto.keytrans import Kind

KINDS = frozenset({"key_statement", "safety_number", "keylog"})
Add = Callable[..., None]


# ---------------------------------------------------------------------------------------- checking


def run(case: dict[str, Any]) -> dict[str, Any]:
    kind = case["kind"]
    if kind == "key_statement":
        return _key_statement(case)
    if kind == "safety_number":
        a = (bytes.fromhex(case["a"]["uid"]), b64d(case["a"]["sig_pk"], size=32))
        b = (bytes.fromhex(case["b"]["uid"]), b64d(case["b"]["sig_pk"], size=32))
        return {"a": keytrans.fingerprint(*a), "b": keytrans.fingerprint(*b), "pair": keytrans.safety_number(a, b)}
    if kind == "keylog":
        return _keylog(case)
    raise ValueError(f"unknown kind {kind!r}")


def _key_statement(case: dict[str, Any]) -> dict[str, Any]:
    ks = keytrans.parse_key_statement(b64d(case["statement"]))
    _, sig_sk = keytrans.signing_keypair(b64d(case["sig_seed"], size=32))
    again = keytrans.key_statement(
        sig_sk,
        uid=bytes.fromhex(case["uid"]),
        email=case["email"],
        seqno=case["seqno"],
        prev=b64d(case["prev"], size=32),
        enc_pk=b64d(case["enc_pk"], size=32),
        created=case["created"],
    )
    return {
        "statement": b64e(again),
        "hash": b64e(ks.hash),
        "uid": ks.uid.hex(),
        "email": ks.email,
        "seqno": ks.seqno,
        "sig_pk": b64e(ks.sig_pk),
        "enc_pk": b64e(ks.enc_pk),
    }


def _keylog(case: dict[str, Any]) -> dict[str, Any]:
    root_pk = b64d(case["root_pk"], size=32)
    entries = [(int(e["index"]), b64d(e["leaf"]), [b64d(p, size=32) for p in e["proof"]]) for e in case["entries"]]
    verified, cp = khistory.verify_response(
        root_pk=root_pk,
        origin=case["origin"],
        log_key=b64d(case["log_key"]),
        checkpoint_obj=b64d(case["checkpoint"]),
        uid=bytes.fromhex(case["uid"]),
        entries=entries,
    )
    if "old_checkpoint" in case:
        log_pk = keytrans.parse_log_key(b64d(case["log_key"]), root_pk).log_pk
        old = keytrans.parse_checkpoint(b64d(case["old_checkpoint"]), log_pk)
        if (old.size, old.root) != (cp.size, cp.root):
            khistory.check_progress(old, cp, [b64d(p, size=32) for p in case["consistency"]])
    if max(index for index, _, _ in entries) < case.get("seen", -1):
        raise CryptoError("log")
    if verified.revoked is not None:
        raise CryptoError("revoked")
    if not verified.usable(case["now"]):
        raise CryptoError("chain")
    return {
        "email": verified.keys.email,
        "seqno": verified.keys.seqno,
        "sig_pk": b64e(verified.keys.sig_pk),
        "enc_pk": b64e(verified.keys.enc_pk),
        "name": verified.approval.name,
        "country": verified.approval.country,
        "agency": verified.approval.agency,
        "not_after": verified.approval.not_after,
        "certificates": [int(c.role) for c in verified.certificates],
        "tree_size": cp.size,
    }


# -------------------------------------------------------------------------------------- generation


@dataclass
class _Log:
    """A log as a server would keep it; ``answer`` is what a look-up returns."""

    origin: str
    root_sk: bytes
    log_sk: bytes
    leaves: list[bytes] = field(default_factory=list)

    def add(self, kind: Kind, uid: bytes, logged: int, obj: bytes) -> int:
        self.leaves.append(keytrans.leaf(kind, uid, logged, obj))
        return len(self.leaves) - 1

    def copy(self) -> _Log:
        return _Log(self.origin, self.root_sk, self.log_sk, list(self.leaves))

    def hashes(self, size: int) -> list[bytes]:
        return [merkle.leaf_hash(x) for x in self.leaves[:size]]

    def checkpoint(self, size: int, time: int, origin: str | None = None) -> bytes:
        root = merkle.root(self.hashes(size))
        return keytrans.checkpoint(self.log_sk, origin=origin or self.origin, size=size, root=root, time=time)

    def entries(self, size: int, indices: list[int]) -> list[dict[str, Any]]:
        hashes = self.hashes(size)
        return [
            {"index": i, "leaf": b64e(self.leaves[i]), "proof": [b64e(p) for p in merkle.inclusion_proof(i, hashes)]}
            for i in indices
        ]

    def consistency(self, old_size: int, size: int) -> list[str]:
        return [b64e(p) for p in merkle.consistency_proof(old_size, self.hashes(size))]


@dataclass(frozen=True)
class _Person:
    uid: bytes
    email: str
    name: str
    country: str
    agency: str
    sig_pk: bytes
    sig_sk: bytes


def _person(rng: Callable[[int], bytes], email: str, name: str, country: str, agency: str) -> _Person:
    uid = rng(16)
    pk, sk = keytrans.signing_keypair(rng(32))
    return _Person(uid, email, name, country, agency, pk, sk)


def _approve(log: _Log, p: _Person, not_after: int, made: int) -> int:
    obj = keytrans.platform_approval(
        log.root_sk,
        uid=p.uid,
        email=p.email,
        name=p.name,
        country=p.country,
        agency=p.agency,
        not_after=not_after,
        made=made,
    )
    return log.add(Kind.APPROVAL, p.uid, made, obj)


def _statement(p: _Person, sig_sk: bytes, seqno: int, prev: bytes, enc_pk: bytes, created: int) -> bytes:
    return keytrans.key_statement(
        sig_sk, uid=p.uid, email=p.email, seqno=seqno, prev=prev, enc_pk=enc_pk, created=created
    )


def generate(add: Add, rng: Callable[[int], bytes], *, origin: str, created: int) -> None:
    """Append the key-log cases through ``add(name, kind, expect, **inputs)``."""
    _statements(add, rng, created)
    _safety_numbers(add, rng)
    _keylogs(add, rng, origin, created)
    _decisions(add, rng, origin, created)


def _statement_inputs(p: _Person, seed: bytes, seqno: int, prev: bytes, enc_pk: bytes, created: int) -> dict[str, Any]:
    return {
        "sig_seed": b64e(seed),
        "uid": p.uid.hex(),
        "email": p.email,
        "seqno": seqno,
        "prev": b64e(prev),
        "enc_pk": b64e(enc_pk),
        "created": created,
    }


def _statements(add: Add, rng: Callable[[int], bytes], created: int) -> None:
    seed = rng(32)
    pk, sk = keytrans.signing_keypair(seed)
    p = _Person(rng(16), "Ana.Lima@pf.example", "Ana Lima", "BR", "Polícia Federal", pk, sk)
    enc_pk = rng(32)
    first = _statement(p, sk, 0, keytrans.ZERO32, enc_pk, created)
    inputs = _statement_inputs(p, seed, 0, keytrans.ZERO32, enc_pk, created)
    parsed = keytrans.parse_key_statement(first)
    ok = {
        "statement": b64e(first),
        "hash": b64e(parsed.hash),
        "uid": p.uid.hex(),
        "email": p.email,
        "seqno": 0,
        "sig_pk": b64e(pk),
        "enc_pk": b64e(enc_pk),
    }
    add("key statement seqno 0", "key_statement", ok, statement=b64e(first), **inputs)
    second_enc = rng(32)
    second = _statement(p, sk, 1, parsed.hash, second_enc, created + 60)
    add(
        "key statement seqno 1 (encryption key rotated)",
        "key_statement",
        {
            **ok,
            "statement": b64e(second),
            "hash": b64e(keytrans.object_hash(second)),
            "seqno": 1,
            "enc_pk": b64e(second_enc),
        },
        statement=b64e(second),
        **_statement_inputs(p, seed, 1, parsed.hash, second_enc, created + 60),
    )
    bad = {"statement": b64e(first), **inputs}
    body = first[:-64]
    add(
        "key statement bad self-signature",
        "key_statement",
        {"error": "signature"},
        **{**bad, "statement": b64e(first[:-1] + bytes([first[-1] ^ 1]))},
    )
    add(
        "key statement enc_pk swapped",
        "key_statement",
        {"error": "signature"},
        **{**bad, "statement": b64e(body[:-9] + bytes([body[-9] ^ 1]) + body[-8:] + first[-64:])},
    )
    add(
        "key statement unknown tag",
        "key_statement",
        {"error": "version"},
        **{**bad, "statement": b64e(b"ISEC-keys-v2" + first[12:])},
    )
    add(
        "key statement unknown suite",
        "key_statement",
        {"error": "version"},
        **{**bad, "statement": b64e(body[:12] + b"\x02" + body[13:] + first[-64:])},
    )
    add(
        "key statement trailing byte",
        "key_statement",
        {"error": "format"},
        **{**bad, "statement": b64e(keytrans.sign(sk, body + b"\x00"))},
    )
    add("key statement truncated", "key_statement", {"error": "format"}, **{**bad, "statement": b64e(first[:40])})
    nonzero_prev = keytrans.sign(
        sk, body[: 13 + 16 + 4 + len(p.email) + 4] + b"\x01" * 32 + body[13 + 16 + 4 + len(p.email) + 4 + 32 :]
    )
    add(
        "key statement seqno 0 with a prev",
        "key_statement",
        {"error": "format"},
        **{**bad, "statement": b64e(nonzero_prev)},
    )
    nfd = "Jose\u0301@pf.example".encode()
    not_nfc = keytrans.sign(
        sk, keytrans.KS_TAG + b"\x01" + p.uid + lp(nfd) + be32(0) + keytrans.ZERO32 + pk + enc_pk + be64(created)
    )
    add("key statement email not NFC", "key_statement", {"error": "format"}, **{**bad, "statement": b64e(not_nfc)})


def _safety_numbers(add: Add, rng: Callable[[int], bytes]) -> None:
    one = {"uid": rng(16).hex(), "sig_pk": b64e(keytrans.signing_keypair(rng(32))[0])}
    two = {"uid": rng(16).hex(), "sig_pk": b64e(keytrans.signing_keypair(rng(32))[0])}
    for name, a, b in (("safety number", one, two), ("safety number, other order", two, one)):
        got = run({"kind": "safety_number", "a": a, "b": b})
        add(name, "safety_number", got, a=a, b=b)
    same_key = {"uid": rng(16).hex(), "sig_pk": one["sig_pk"]}
    add(
        "safety number binds the uid",
        "safety_number",
        run({"kind": "safety_number", "a": one, "b": same_key}),
        a=one,
        b=same_key,
    )


def _keylogs(add: Add, rng: Callable[[int], bytes], origin: str, t: int) -> None:
    root_pk, root_sk = keytrans.signing_keypair(rng(32))
    log_pk, log_sk = keytrans.signing_keypair(rng(32))
    log = _Log(origin, root_sk, log_sk)
    logkey = keytrans.log_key_certificate(root_sk, origin=origin, log_pk=log_pk, made=t)
    log.add(Kind.LOGKEY, bytes(16), t, logkey)
    year = t + 365 * 86400
    bob = _person(rng, "bob.okafor@efcc.example", "Bob Okafor", "NG", "EFCC")
    carol = _person(rng, "carol.ruiz@fge.example", "Carol Ruiz", "CO", "Fiscalía General")
    dave = _person(rng, "dave.kim@spo.example", "Dave Kim", "KR", "Supreme Prosecutors' Office")
    mallory = _person(rng, "mallory@evil.example", "Mallory", "ZZ", "None")
    enc = [rng(32) for _ in range(6)]

    _approve(log, bob, year, t + 10)  # 1
    ks_b0 = _statement(bob, bob.sig_sk, 0, keytrans.ZERO32, enc[0], t + 11)
    log.add(Kind.KEYS, bob.uid, t + 11, ks_b0)  # 2
    _approve(log, carol, year, t + 20)  # 3
    cert = keytrans.certificate(
        root_sk,
        role=keytrans.CertRole.NCB_HEAD,
        uid=carol.uid,
        email=carol.email,
        name=carol.name,
        country=carol.country,
        agency=carol.agency,
        sig_pk=carol.sig_pk,
        not_after=year,
        made=t + 21,
    )
    log.add(Kind.CERT, carol.uid, t + 21, cert)  # 4
    log.add(Kind.KEYS, carol.uid, t + 22, _statement(carol, carol.sig_sk, 0, keytrans.ZERO32, enc[1], t + 22))  # 5
    old_size = len(log.leaves)  # 6: the checkpoint the client remembers
    ks_b1 = _statement(bob, bob.sig_sk, 1, keytrans.object_hash(ks_b0), enc[2], t + 30)
    log.add(Kind.KEYS, bob.uid, t + 30, ks_b1)  # 6: encryption key rotated, no new approval needed
    _approve(log, bob, year + 86400, t + 40)  # 7: a fresh approval (keys reset)
    new_pk, new_sk = keytrans.signing_keypair(rng(32))
    ks_b2 = _statement(bob, new_sk, 2, keytrans.object_hash(ks_b1), enc[3], t + 41)
    log.add(Kind.KEYS, bob.uid, t + 41, ks_b2)  # 8: a new signing key after the new approval
    _approve(log, dave, year, t + 50)  # 9
    ks_d0 = _statement(dave, dave.sig_sk, 0, keytrans.ZERO32, enc[4], t + 51)
    log.add(Kind.KEYS, dave.uid, t + 51, ks_d0)  # 10
    pre_revocation = len(log.leaves)  # 11
    rev = keytrans.revocation(
        dave.sig_sk,
        uid=dave.uid,
        ks_hash=keytrans.object_hash(ks_d0),
        effective=t + 60,
        by=keytrans.RevokedBy.SELF,
        made=t + 60,
    )
    log.add(Kind.REVOKE, dave.uid, t + 60, rev)  # 11
    size = len(log.leaves)  # 12
    now = t + 3600
    cp_old, cp = log.checkpoint(old_size, t + 25), log.checkpoint(size, t + 65)

    def case(
        name: str, expect: dict[str, Any], who: _Person, indices: list[int], *, at: _Log = log, **extra: Any
    ) -> None:
        n = extra.pop("size", size)
        inputs: dict[str, Any] = {
            "root_pk": b64e(root_pk),
            "origin": origin,
            "uid": who.uid.hex(),
            "log_key": b64e(logkey),
            "checkpoint": b64e(extra.pop("checkpoint", None) or at.checkpoint(n, t + 65)),
            "entries": at.entries(n, indices),
            "now": now,
        }
        remembered = extra.pop("old_checkpoint", b64e(cp_old))
        if remembered is not None:
            inputs["old_checkpoint"] = remembered
            default = at.consistency(old_size, n) if n >= old_size else []
            inputs["consistency"] = extra.pop("consistency") if "consistency" in extra else default
        inputs.update(extra)
        add(name, "keylog", expect, **inputs)

    bob_ok = {
        "email": bob.email,
        "seqno": 2,
        "sig_pk": b64e(new_pk),
        "enc_pk": b64e(enc[3]),
        "name": bob.name,
        "country": "NG",
        "agency": bob.agency,
        "not_after": year + 86400,
        "certificates": [],
        "tree_size": size,
    }
    bob_all = [1, 2, 6, 7, 8]
    case("keylog: rotation after a new approval, consistent with the remembered checkpoint", bob_ok, bob, bob_all)
    carol_ok = {
        "email": carol.email,
        "seqno": 0,
        "sig_pk": b64e(carol.sig_pk),
        "enc_pk": b64e(enc[1]),
        "name": carol.name,
        "country": "CO",
        "agency": carol.agency,
        "not_after": year,
        "certificates": [2],
        "tree_size": size,
    }
    case("keylog: NCB head with her certificate", carol_ok, carol, [3, 4, 5])
    first = {
        **bob_ok,
        "seqno": 0,
        "sig_pk": b64e(bob.sig_pk),
        "enc_pk": b64e(enc[0]),
        "not_after": year,
        "tree_size": old_size,
    }
    case("keylog: first look-up, nothing remembered", first, bob, [1, 2], size=old_size, old_checkpoint=None)
    case("keylog: revoked key", {"error": "revoked"}, dave, [9, 10, 11])
    case("keylog: approval expired", {"error": "chain"}, carol, [3, 4, 5], now=year + 1)

    # The server swaps a key: a statement with Mallory's keys in place of Bob's newest ...
    swapped = _statement(bob, mallory.sig_sk, 2, keytrans.object_hash(ks_b1), enc[5], t + 41)
    forged = log.copy()
    forged.leaves[8] = keytrans.leaf(Kind.KEYS, bob.uid, t + 41, swapped)
    entries = log.entries(size, bob_all)
    entries[-1]["leaf"] = b64e(forged.leaves[8])
    case("keylog: server swaps a key (proof of the real leaf)", {"error": "proof"}, bob, bob_all, entries=entries)
    # ... in a log it rebuilt and signed: the same size with another root is a fork.
    case(
        "keylog: fork, two checkpoints of one size (a key swapped in a rebuilt log)",
        {"error": "log"},
        bob,
        bob_all,
        at=forged,
        old_checkpoint=b64e(cp),
        consistency=[],
    )
    forked = forged.copy()
    _approve(forked, mallory, year, t + 70)
    case(
        "keylog: fork, a larger checkpoint of a rebuilt log",
        {"error": "log"},
        bob,
        bob_all,
        at=forked,
        size=size + 1,
        old_checkpoint=b64e(cp),
        consistency=forked.consistency(size, size + 1),
    )
    # ... or appended as the next statement, without a fresh approval.
    appended = log.copy()
    nxt = _statement(bob, mallory.sig_sk, 3, keytrans.object_hash(ks_b2), enc[5], t + 70)
    appended.add(Kind.KEYS, bob.uid, t + 70, nxt)
    case(
        "keylog: server appends a statement with another signing key and no new approval",
        {"error": "chain"},
        bob,
        [*bob_all, size],
        at=appended,
        size=size + 1,
        old_checkpoint=b64e(cp),
        consistency=appended.consistency(size, size + 1),
    )
    case("keylog: entry removed (a statement)", {"error": "chain"}, bob, [1, 2, 7, 8])
    case("keylog: dropped certificate (the platform approval)", {"error": "chain"}, carol, [4, 5])
    case(
        "keylog: older checkpoint",
        {"error": "log"},
        bob,
        [1, 2],
        size=old_size,
        old_checkpoint=b64e(cp),
        consistency=[],
    )
    case(
        "keylog: replayed revoked key (the revocation left out)",
        {"error": "log"},
        dave,
        [9, 10],
        seen=11,
    )
    case(
        "keylog: replayed revoked key (an older checkpoint)",
        {"error": "log"},
        dave,
        [9, 10],
        size=pre_revocation,
        old_checkpoint=b64e(cp),
        consistency=[],
    )
    bad_cert = keytrans.certificate(
        mallory.sig_sk,
        role=keytrans.CertRole.NCB_HEAD,
        uid=carol.uid,
        email=carol.email,
        name=carol.name,
        country=carol.country,
        agency=carol.agency,
        sig_pk=carol.sig_pk,
        not_after=year,
        made=t + 21,
    )
    forged_cert = log.copy()
    forged_cert.leaves[4] = keytrans.leaf(Kind.CERT, carol.uid, t + 21, bad_cert)
    case("keylog: forged certificate", {"error": "signature"}, carol, [3, 4, 5], at=forged_cert, old_checkpoint=None)
    bad_self = log.copy()
    bad_self.leaves[2] = keytrans.leaf(Kind.KEYS, bob.uid, t + 11, ks_b0[:-1] + bytes([ks_b0[-1] ^ 1]))
    case("keylog: bad self-signature", {"error": "signature"}, bob, [1, 2], at=bad_self, old_checkpoint=None)
    other = "https://other.example"
    case(
        "keylog: checkpoint of another origin",
        {"error": "log"},
        bob,
        bob_all,
        checkpoint=log.checkpoint(size, t + 65, origin=other),
    )
    case(
        "keylog: log key of another origin",
        {"error": "log"},
        bob,
        bob_all,
        log_key=b64e(keytrans.log_key_certificate(root_sk, origin=other, log_pk=log_pk, made=t)),
    )
    case(
        "keylog: log key not certified by the root",
        {"error": "signature"},
        bob,
        bob_all,
        log_key=b64e(keytrans.log_key_certificate(mallory.sig_sk, origin=origin, log_pk=log_pk, made=t)),
    )
    case(
        "keylog: checkpoint not signed by the log key",
        {"error": "signature"},
        bob,
        bob_all,
        checkpoint=keytrans.checkpoint(
            mallory.sig_sk, origin=origin, size=size, root=merkle.root(log.hashes(size)), time=t
        ),
    )
    entries = log.entries(size, bob_all)
    entries[1]["proof"][0] = b64e(bytes(32))
    case("keylog: inclusion proof altered", {"error": "proof"}, bob, bob_all, entries=entries)
    entries = log.entries(size, bob_all)
    entries[1]["index"] = 3
    case("keylog: leaf index altered", {"error": "proof"}, bob, bob_all, entries=entries)
    case("keylog: another member's leaves", {"error": "format"}, carol, [1, 2])
    case("keylog: leaves out of order", {"error": "format"}, bob, [1, 2, 7, 6, 8])
    case(
        "keylog: consistency proof altered",
        {"error": "log"},
        bob,
        bob_all,
        consistency=[b64e(bytes(32)), *log.consistency(old_size, size)[1:]],
    )
    unknown = log.copy()
    unknown.leaves[2] = keytrans.LEAF_TAG + b"\x09" + unknown.leaves[2][len(keytrans.LEAF_TAG) + 1 :]
    case("keylog: unknown leaf kind", {"error": "format"}, bob, [1, 2], at=unknown, old_checkpoint=None)


def _decisions(add: Add, rng: Callable[[int], bytes], origin: str, t: int) -> None:
    """Approvals signed in the approvers' browsers (§9.3): the chain of §9.8 and its breaks."""
    root_pk, root_sk = keytrans.signing_keypair(rng(32))
    log_pk, log_sk = keytrans.signing_keypair(rng(32))
    log = _Log(origin, root_sk, log_sk)
    logkey = keytrans.log_key_certificate(root_sk, origin=origin, log_pk=log_pk, made=t)
    log.add(Kind.LOGKEY, bytes(16), t, logkey)
    year = t + 365 * 86400
    head = _person(rng, "ifeoma.eze@efcc.example", "Ifeoma Eze", "NG", "EFCC")
    ncb = _person(rng, "musa.bello@ncb.example", "Musa Bello", "NG", "NCB Abuja")
    far = _person(rng, "lena.berg@ncb.example", "Lena Berg", "SE", "NCB Stockholm")
    applicant = _person(rng, "ada.obi@efcc.example", "Ada Obi", "NG", "EFCC")

    def certify(p: _Person, role: keytrans.CertRole, made: int) -> tuple[int, bytes]:
        obj = keytrans.certificate(
            root_sk,
            role=role,
            uid=p.uid,
            email=p.email,
            name=p.name,
            country=p.country,
            agency=p.agency,
            sig_pk=p.sig_pk,
            not_after=year,
            made=made,
        )
        return log.add(Kind.CERT, p.uid, made, obj), obj

    head_idx, head_cert = certify(head, keytrans.CertRole.AGENCY_HEAD, t + 1)  # 1
    ncb_idx, ncb_cert = certify(ncb, keytrans.CertRole.NCB_HEAD, t + 2)  # 2
    far_idx, far_cert = certify(far, keytrans.CertRole.NCB_HEAD, t + 3)  # 3
    head_ncb_idx, head_ncb_cert = certify(head, keytrans.CertRole.NCB_HEAD, t + 4)  # 4: the nominator is NCB head too

    def nominate(signer: _Person, cert: bytes, cert_idx: int, made: int) -> bytes:
        return keytrans.nomination(
            signer.sig_sk,
            uid=applicant.uid,
            email=applicant.email,
            name=applicant.name,
            country=applicant.country,
            agency=applicant.agency,
            signer_cert=keytrans.object_hash(cert),
            signer_cert_idx=cert_idx,
            made=made,
        )

    def authorize(signer: _Person, cert: bytes, cert_idx: int, nom: bytes, made: int) -> bytes:
        return keytrans.authorization(
            signer.sig_sk,
            uid=applicant.uid,
            nomination_hash=keytrans.object_hash(nom),
            not_after=year,
            signer_cert=keytrans.object_hash(cert),
            signer_cert_idx=cert_idx,
            made=made,
        )

    nom = nominate(head, head_cert, head_idx, t + 10)
    log.add(Kind.APPROVAL, applicant.uid, t + 10, nom)  # 5
    log.add(Kind.APPROVAL, applicant.uid, t + 20, authorize(ncb, ncb_cert, ncb_idx, nom, t + 20))  # 6
    ks = _statement(applicant, applicant.sig_sk, 0, keytrans.ZERO32, rng(32), t + 30)
    log.add(Kind.KEYS, applicant.uid, t + 30, ks)  # 7
    size = len(log.leaves)
    verified = keytrans.parse_key_statement(ks)

    def case(name: str, expect: dict[str, Any], at: _Log, indices: list[int]) -> None:
        n = len(at.leaves)
        add(
            name,
            "keylog",
            expect,
            root_pk=b64e(root_pk),
            origin=origin,
            uid=applicant.uid.hex(),
            log_key=b64e(logkey),
            checkpoint=b64e(at.checkpoint(n, t + 40)),
            entries=at.entries(n, indices),
            now=t + 3600,
        )

    ok = {
        "email": applicant.email,
        "seqno": 0,
        "sig_pk": b64e(verified.sig_pk),
        "enc_pk": b64e(verified.enc_pk),
        "name": applicant.name,
        "country": "NG",
        "agency": "EFCC",
        "not_after": year,
        "certificates": [],
        "tree_size": size,
    }
    case("decisions: nominated and authorized in the approvers' browsers", ok, log, [1, 2, 5, 6, 7])
    case("decisions: the approver's certificate left out", {"error": "chain"}, log, [1, 5, 6, 7])
    case("decisions: the authorization left out", {"error": "chain"}, log, [1, 2, 5, 7])

    def variant(nomination_obj: bytes, authorization_obj: bytes) -> _Log:
        other = log.copy()
        other.leaves[5] = keytrans.leaf(Kind.APPROVAL, applicant.uid, t + 10, nomination_obj)
        other.leaves[6] = keytrans.leaf(Kind.APPROVAL, applicant.uid, t + 20, authorization_obj)
        return other

    by_nominator = authorize(head, head_ncb_cert, head_ncb_idx, nom, t + 20)
    case("decisions: authorized by the nominator", {"error": "chain"}, variant(nom, by_nominator), [1, 4, 5, 6, 7])
    by_far = authorize(far, far_cert, far_idx, nom, t + 20)
    case(
        "decisions: authorized by another country's NCB head", {"error": "chain"}, variant(nom, by_far), [1, 3, 5, 6, 7]
    )
    nom_by_ncb = nominate(ncb, ncb_cert, ncb_idx, t + 10)
    auth_of_it = authorize(ncb, ncb_cert, ncb_idx, nom_by_ncb, t + 20)
    case(
        "decisions: nominated by someone who is not an agency head",
        {"error": "chain"},
        variant(nom_by_ncb, auth_of_it),
        [2, 5, 6, 7],
    )
    wrong_index = authorize(ncb, ncb_cert, far_idx, nom, t + 20)
    case(
        "decisions: the decision names another leaf for its certificate",
        {"error": "chain"},
        variant(nom, wrong_index),
        [1, 3, 5, 6, 7],
    )
    forged = nominate(far, head_cert, head_idx, t + 10)  # signed by someone else under the head's certificate
    case(
        "decisions: a nomination not signed by the certified head",
        {"error": "signature"},
        variant(forged, authorize(ncb, ncb_cert, ncb_idx, forged, t + 20)),
        [1, 2, 5, 6, 7],
    )

    def revoke(signer: _Person, cert: bytes, cert_idx: int, by: keytrans.RevokedBy) -> _Log:
        revoked = log.copy()
        obj = keytrans.revocation(
            signer.sig_sk,
            uid=applicant.uid,
            ks_hash=keytrans.object_hash(ks),
            effective=t + 35,
            by=by,
            made=t + 35,
            signer_cert=keytrans.object_hash(cert),
            signer_cert_idx=cert_idx,
        )
        revoked.add(Kind.REVOKE, applicant.uid, t + 35, obj)
        return revoked

    all_eight = [1, 2, 5, 6, 7, 8]
    ncb_revoked = revoke(ncb, ncb_cert, ncb_idx, keytrans.RevokedBy.NCB_HEAD)
    case("decisions: revoked by the NCB head of the member's country", {"error": "revoked"}, ncb_revoked, all_eight)
    case(
        "decisions: an NCB head's revocation without their certificate",
        {"error": "chain"},
        ncb_revoked,
        [1, 5, 6, 7, 8],
    )
    far_revoked = revoke(far, far_cert, far_idx, keytrans.RevokedBy.NCB_HEAD)
    case(
        "decisions: revoked by another country's NCB head",
        {"error": "chain"},
        far_revoked,
        [1, 2, 3, 5, 6, 7, 8],
    )
    case(
        "decisions: a self-revocation that names a certificate",
        {"error": "format"},
        revoke(applicant, ncb_cert, ncb_idx, keytrans.RevokedBy.SELF),
        all_eight,
    )
    other_nom = nominate(head, head_cert, head_idx, t + 11)
    case(
        "decisions: an authorization of another nomination",
        {"error": "chain"},
        variant(nom, authorize(ncb, ncb_cert, ncb_idx, other_nom, t + 20)),
        [1, 2, 5, 6, 7],
    )

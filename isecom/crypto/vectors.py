"""Cross-language test vectors (docs/PROTOCOL.md §11, format in tests/vectors/README.md).

``generate(seed)`` produces a vector document with fixed randomness (all but the
sealed-box ephemeral keys, which libsodium draws itself) and checks that every
case comes out as it declares; ``check(doc)`` verifies any document, whoever
produced it, and returns the list of failures.

    python -m isecom.crypto.vectors --seed python-v1 --out tests/vectors/python-v1.json
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nacl.bindings as b

from isecom.crypto import attachments, envelope, keys, ktvectors, padding
from isecom.crypto import payload as payloads
from isecom.crypto.encoding import b64d, b64e, be32
from isecom.crypto.errors import CryptoError
from isecom.crypto.hashing import h256
from isecom.crypto.keys import Identity

CREATED = 1764320400  # 2025-11-28T09:00:00Z
PARAMS = dict(keys.DEFAULT_PARAMS)
ORIGIN = "https://isecom.example"


class SeededRandom:
    """Deterministic bytes: keyed BLAKE2b-512 of a block counter."""

    def __init__(self, seed: bytes) -> None:
        self.key = h256(b"ISEC-vectors-v1" + seed)
        self.counter = 0

    def __call__(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            block: bytes = b.crypto_generichash_blake2b_salt_personal(be32(self.counter), digest_size=64, key=self.key)
            out += block
            self.counter += 1
        return out[:n]


# ---------------------------------------------------------------------------------------- checking


def _member(doc: dict[str, Any], name: str) -> Identity:
    m = doc["members"][name]
    return Identity(
        uid=bytes.fromhex(m["uid"]),
        sig_seed=b64d(m["sig_seed"]),
        enc_keys=tuple(keys.EncKey(k["created"], b64d(k["sk"])) for k in m["enc_keys"]),
    )


def _run(doc: dict[str, Any], case: dict[str, Any]) -> dict[str, Any]:
    kind = case["kind"]
    if kind == "padme":
        return {"padded_length": padding.target(case["length"])}
    if kind == "password":
        derived = keys.derive_password_keys(case["password"], b64d(case["salt"]), case["params"])
        return {"auth_pk": b64e(derived.auth_pk), "kek": b64e(derived.kek)}
    if kind == "login":
        transcript = keys.login_transcript(
            origin=case["origin"],
            username=case["username"],
            challenge_id=b64d(case["challenge_id"]),
            challenge=b64d(case["challenge"]),
            totp_code=case["totp_code"],
        )
        return {"proof": b64e(keys.login_proof(b64d(case["auth_seed"]), transcript))}
    if kind == "recovery_code":
        return {"rk": b64e(keys.parse_recovery_code(case["code"]))}
    if kind == "bundle":
        member = _member(doc, case["member"])
        if "recovery_code" in case:
            key, kind_byte = keys.recovery_key(case["recovery_code"]), keys.WRAP_RECOVERY
        else:
            key = keys.derive_password_keys(case["password"], b64d(case["salt"]), case["params"]).kek
            kind_byte = keys.WRAP_PASSWORD
        identity, version = keys.unwrap_bundle(b64d(case["wrapped"]), key, uid=member.uid, kind=kind_byte)
        return {"bundle_version": version, "bundle": b64e(keys.bundle_bytes(identity))}
    if kind in ("message", "draft"):
        opened = envelope.open_envelope(
            b64d(case["envelope"]), _member(doc, case["reader"]), b64d(case["sender_sig_pk"]), draft=kind == "draft"
        )
        return {"payload": b64e(opened.payload_bytes)}
    if kind == "smtp_message":
        opened = envelope.open_smtp(b64d(case["envelope"]), _member(doc, case["reader"]), b64d(case["gateway_sig_pk"]))
        return {"payload": b64e(opened.payload_bytes)}
    if kind == "chunk":
        descriptor = attachments.Descriptor.from_json(case["descriptor"])
        hashes = [b64d(h) for h in case["chunk_hashes"]]
        return {"plain": b64e(attachments.open_chunk(descriptor, hashes, case["index"], b64d(case["blob"])))}
    if kind == "file":
        descriptor = attachments.Descriptor.from_json(case["descriptor"])
        hashes = [b64d(h) for h in case["chunk_hashes"]]
        plain = b"".join(attachments.open_file(descriptor, hashes, [b64d(x) for x in case["blobs"]]))
        return {"plain": b64e(plain)}
    if kind in ktvectors.KINDS:
        return ktvectors.run(case)
    raise ValueError(f"unknown kind {kind!r}")


def check(doc: dict[str, Any]) -> list[str]:
    """Every case whose outcome differs from its ``expect``; empty when all pass."""
    failures: list[str] = []
    if doc.get("protocol") != 1:
        return ["document: protocol is not 1"]
    for case in doc["cases"]:
        expect = case["expect"]
        try:
            got: dict[str, Any] = _run(doc, case)
        except CryptoError as exc:
            got = {"error": exc.check}
        except Exception as exc:  # a crash is a failure, reported, never raised
            got = {"crash": f"{type(exc).__name__}: {exc}"}
        if got != expect:
            failures.append(f"{case['name']}: expected {expect}, got {got}")
    return failures


# -------------------------------------------------------------------------------------- generation


def _flip(data: bytes, offset: int) -> bytes:
    return data[:offset] + bytes([data[offset] ^ 0x01]) + data[offset + 1 :]


def _party(member: Identity) -> dict[str, str]:
    return {"uid": member.uid.hex(), "name": "Alice Example", "email": "alice@isecom.example"}


def _payload(
    sender: Identity, to: list[Identity], *, kind: str = "mail", sender_name: str = "Alice Example", **extra: Any
) -> bytes:
    value: dict[str, Any] = {
        "v": 1,
        "type": kind,
        "from": {**_party(sender), "name": sender_name},
        "to": [
            {"uid": m.uid.hex(), "name": f"Member {m.uid.hex()[:4]}", "email": f"m{m.uid.hex()[:4]}@isecom.example"}
            for m in to
        ],
        "cc": [],
        "subject": "Freezing order — case AR-2026-0042 (fictional)",
        "body": "Dear colleagues,\nplease find the draft request attached.\nمع التحية\n",
        "date": "2026-11-28T09:00:00Z",
        "in_reply_to": None,
        "references": [],
        "handling": "H2",
        "attachments": [],
        "forwarded": [],
    }
    value.update(extra)
    return payloads.build(value)


class _Builder:
    def __init__(self, seed: bytes) -> None:
        self.rng = SeededRandom(seed)
        self.members: dict[str, Identity] = {}
        self.cases: list[dict[str, Any]] = []
        self.doc: dict[str, Any] = {"protocol": 1, "producer": "python", "members": {}, "cases": self.cases}

    def member(self, name: str) -> Identity:
        identity = Identity.generate(self.rng(16), CREATED, self.rng)
        self.members[name] = identity
        self.doc["members"][name] = {
            "uid": identity.uid.hex(),
            "sig_seed": b64e(identity.sig_seed),
            "enc_keys": [{"created": k.created, "sk": b64e(k.sk)} for k in identity.enc_keys],
        }
        return identity

    def add(self, name: str, kind: str, expect: dict[str, Any], **inputs: Any) -> None:
        case = {"name": name, "kind": kind, **inputs, "expect": expect}
        failures = check({**self.doc, "cases": [case]})
        if failures:
            raise AssertionError(f"generator self-check failed: {failures[0]}")
        self.cases.append(case)

    def message(self, name: str, env: bytes, reader: str, sender: Identity, expect: dict[str, Any]) -> None:
        self.add(name, "message", expect, envelope=b64e(env), reader=reader, sender_sig_pk=b64e(sender.sig_pk))


def generate(seed: bytes) -> dict[str, Any]:
    g = _Builder(seed)
    rng = g.rng
    alice, bob, carol, mallory = (g.member(n) for n in ("alice", "bob", "carol", "mallory"))
    alice = g.members["alice"] = alice.rotated(CREATED + 86400, rng)  # an older key kept in the bundle
    g.doc["members"]["alice"]["enc_keys"] = [{"created": k.created, "sk": b64e(k.sk)} for k in alice.enc_keys]

    for length in (0, 1, 200, 255, 256, 1000, 5000, 70000, 1 << 20):
        g.add(f"padme {length}", "padme", {"padded_length": padding.target(length)}, length=length)

    salt = rng(16)
    for password in ("correct horse battery staple", "Pa\u0308sswo\u0308rd \ufb01le ١٢٣"):
        derived = keys.derive_password_keys(password, salt, PARAMS)
        g.add(
            f"password {password[:8]!r}",
            "password",
            {"auth_pk": b64e(derived.auth_pk), "kek": b64e(derived.kek)},
            password=password,
            salt=b64e(salt),
            params=PARAMS,
        )
    g.add(
        "password params too weak",
        "password",
        {"error": "params"},
        password="x",
        salt=b64e(salt),
        params={**PARAMS, "ops": 2},
    )
    g.add(
        "password memory too large",
        "password",
        {"error": "params"},
        password="x",
        salt=b64e(salt),
        params={**PARAMS, "mem": 2 * keys.MAX_MEM},
    )

    login = {
        "origin": ORIGIN,
        "username": "Alice@ISECOM.example",
        "challenge_id": b64e(rng(16)),
        "challenge": b64e(rng(32)),
        "totp_code": "492039",
    }
    auth_seed = rng(32)
    transcript = keys.login_transcript(
        origin=ORIGIN,
        username=login["username"],
        challenge_id=b64d(login["challenge_id"]),
        challenge=b64d(login["challenge"]),
        totp_code="492039",
    )
    g.add(
        "login proof",
        "login",
        {"proof": b64e(keys.login_proof(auth_seed, transcript))},
        auth_seed=b64e(auth_seed),
        **login,
    )

    code = keys.new_recovery_code(rng)
    rk = b64e(keys.parse_recovery_code(code))
    g.add("recovery code", "recovery_code", {"rk": rk}, code=code)
    g.add("recovery code typed loosely", "recovery_code", {"rk": rk}, code=code.lower().replace("-", " "))
    g.add("recovery code too short", "recovery_code", {"error": "format"}, code=code[:-1])
    g.add("recovery code bad last bits", "recovery_code", {"error": "format"}, code=code[:-1] + "B")
    g.add("recovery code bad character", "recovery_code", {"error": "format"}, code="1" + code[1:])

    password = "correct horse battery staple"
    kek = keys.derive_password_keys(password, salt, PARAMS).kek
    bundle = b64e(keys.bundle_bytes(alice))
    wrapped = keys.wrap_bundle(alice, kek, kind=keys.WRAP_PASSWORD, version=3, rng=rng)
    pw = {"password": password, "salt": b64e(salt), "params": PARAMS}
    g.add(
        "bundle password wrap",
        "bundle",
        {"bundle_version": 3, "bundle": bundle},
        member="alice",
        wrapped=b64e(wrapped),
        **pw,
    )
    g.add(
        "bundle wrong password",
        "bundle",
        {"error": "decrypt"},
        member="alice",
        wrapped=b64e(wrapped),
        **{**pw, "password": password + "!"},
    )
    g.add("bundle of another member", "bundle", {"error": "decrypt"}, member="bob", wrapped=b64e(wrapped), **pw)
    g.add(
        "bundle version tampered",
        "bundle",
        {"error": "decrypt"},
        member="alice",
        wrapped=b64e(wrapped[:9] + b"\x04" + wrapped[10:]),
        **pw,
    )
    g.add("bundle bad magic", "bundle", {"error": "version"}, member="alice", wrapped=b64e(b"XSW1" + wrapped[4:]), **pw)
    recovery_wrap = keys.wrap_bundle(alice, keys.recovery_key(code), kind=keys.WRAP_RECOVERY, version=3, rng=rng)
    g.add(
        "bundle recovery wrap",
        "bundle",
        {"bundle_version": 3, "bundle": bundle},
        member="alice",
        wrapped=b64e(recovery_wrap),
        recovery_code=code,
    )
    other_code = keys.new_recovery_code(rng)
    g.add(
        "bundle wrong recovery code",
        "bundle",
        {"error": "decrypt"},
        member="alice",
        wrapped=b64e(recovery_wrap),
        recovery_code=other_code,
    )
    g.add(
        "recovery wrap used as password wrap",
        "bundle",
        {"error": "format"},
        member="alice",
        wrapped=b64e(recovery_wrap),
        **pw,
    )

    _messages(g, alice, bob, carol, mallory)
    _attachments(g)
    ktvectors.generate(g.add, rng, origin=ORIGIN, created=CREATED)
    _smtp(g, alice, bob, carol, mallory)
    return g.doc


def _smtp(g: _Builder, alice: Identity, bob: Identity, carol: Identity, mallory: Identity) -> None:
    """Mail that arrived over SMTP (§6.6): sealed by the gateway key, opened with it."""
    rng = g.rng
    gateway = _GatewayKey(rng(32))
    raw = "From: officer@police.example\r\nSubject: Gel (fictif) \u00e9t\u00e9\r\n\r\nBody.\r\n".encode()
    body = payloads.build(
        {
            "v": 1,
            "type": "smtp",
            "smtp_from": "officer@police.example",
            "smtp_to": ["bob@isecom.example", "carol@isecom.example"],
            "received": "2026-11-28T09:00:00.123456Z",
            "raw": b64e(raw),
        }
    )
    to = [envelope.Recipient(m.uid, m.current.pk) for m in (bob, carol)]
    env = envelope.seal_smtp(gateway, to, body, created_ms=CREATED * 1000, rng=rng)

    def case(name: str, data: bytes, reader: str, key: bytes, expect: dict[str, Any]) -> None:
        g.add(name, "smtp_message", expect, envelope=b64e(data), reader=reader, gateway_sig_pk=b64e(key))

    for reader in ("bob", "carol"):
        case(f"smtp mail opened by {reader}", env, reader, gateway.sig_pk, {"payload": b64e(body)})
    case("smtp mail for someone else", env, "mallory", gateway.sig_pk, {"error": "recipient"})
    case("smtp mail with a member's key as the gateway key", env, "bob", alice.sig_pk, {"error": "sender_key"})
    case("smtp mail offered as ISM1", b"ISM1" + env[4:], "bob", gateway.sig_pk, {"error": "version"})
    case("smtp mail with tampered gateway uid", _flip(env, 44), "bob", gateway.sig_pk, {"error": "format"})
    # A gateway-signed envelope whose signature a member forged: the right key id, another signing key.
    header, _ = envelope.parse_header(env, smtp=True)
    forged_cek, forged_nonce = rng(32), rng(24)
    entries = [
        envelope.Entry(r.uid, r.kid, envelope.wrap_key(forged_cek, header.msg_id, r.enc_pk))
        for r in sorted(to, key=lambda r: (r.uid, r.kid))
    ]
    forged_header = envelope.header_bytes(
        magic=envelope.SMTP_MAGIC,
        msg_id=header.msg_id,
        created_ms=CREATED * 1000,
        sender=_Forger(gateway.sig_kid, mallory.sig_sk),
        entries=entries,
        key_commit=envelope.commitment(forged_cek, header.msg_id),
        nonce=forged_nonce,
    )
    forged = envelope.finish(forged_header, forged_cek, forged_nonce, body, _Forger(gateway.sig_kid, mallory.sig_sk))
    case("smtp mail with a forged gateway signature", forged, "bob", gateway.sig_pk, {"error": "signature"})
    # A web-type payload (a member's "mail") under the gateway's signature is refused.
    web = _payload(alice, [bob, carol])
    web_env = envelope.seal_smtp(gateway, to, web, created_ms=CREATED * 1000, rng=rng)
    case("smtp envelope holding a web payload", web_env, "bob", gateway.sig_pk, {"error": "payload"})
    extra = payloads.build({**json.loads(body), "subject": "smuggled"})
    extra_env = envelope.seal_smtp(gateway, to, extra, created_ms=CREATED * 1000, rng=rng)
    case("smtp payload with an extra member", extra_env, "bob", gateway.sig_pk, {"error": "payload"})


class _GatewayKey:
    """The gateway's signer for the vectors (as isecom.crypto.gateway.Gateway, from a seed)."""

    def __init__(self, seed: bytes) -> None:
        self.sig_pk, self.sig_sk = (bytes(k) for k in b.crypto_sign_seed_keypair(seed))
        self.uid, self.sig_kid = envelope.GATEWAY_UID, h256(self.sig_pk)


class _Forger:
    def __init__(self, sig_kid: bytes, sig_sk: bytes) -> None:
        self.uid, self.sig_kid, self.sig_sk = envelope.GATEWAY_UID, sig_kid, sig_sk


def _messages(g: _Builder, alice: Identity, bob: Identity, carol: Identity, mallory: Identity) -> None:
    rng = g.rng
    to = [envelope.Recipient(m.uid, m.current.pk) for m in (bob, carol)]
    body = _payload(alice, [bob, carol])
    env = envelope.seal(alice, to, body, created_ms=CREATED * 1000, rng=rng)
    ok = {"payload": b64e(body)}
    for reader in ("bob", "carol", "alice"):
        g.message(f"message opened by {reader}", env, reader, alice, ok)
    g.message("message for someone else", env, "mallory", alice, {"error": "recipient"})
    g.message("message with the wrong sender key", env, "bob", bob, {"error": "sender_key"})

    header, _ = envelope.parse_header(env)
    end = len(header.raw)
    bob_index = next(i for i, e in enumerate(header.entries) if e.uid == bob.uid)
    bob_entry = envelope.FIXED + envelope.ENTRY * bob_index
    tampered = {
        "magic": (0, "version"),
        "suite": (4, "version"),
        "msg_id": (5, "unwrap"),
        "created_ms": (28, "decrypt"),
        "sender_uid": (44, "format"),
        "sender_sig_kid": (76, "decrypt"),
        "entry count": (78, "format"),
        "recipient uid": (bob_entry + 15, "recipient"),
        "recipient key id": (bob_entry + 47, "recipient"),
        "wrap": (bob_entry + 100, "unwrap"),
        "key commitment": (end - 40, "commitment"),
        "nonce": (end - 1, "decrypt"),
        "ciphertext length": (end + 3, "format"),
        "ciphertext": (end + 40, "decrypt"),
        "tag": (len(env) - 1, "decrypt"),
    }
    for field, (offset, check) in tampered.items():
        g.message(f"message with tampered {field}", _flip(env, offset), "bob", alice, {"error": check})
    g.message("message truncated", env[:-1], "bob", alice, {"error": "format"})

    # Recipient list swapped: the entries of another message to the same people.
    other = envelope.seal(alice, to, body, created_ms=CREATED * 1000, rng=rng)
    swapped = env[: envelope.FIXED] + other[envelope.FIXED : end - envelope.TAIL] + env[end - envelope.TAIL :]
    g.message("message with a swapped recipient list", swapped, "bob", alice, {"error": "unwrap"})

    # Surreptitious forwarding: Bob re-addresses Alice's signed message to Mallory.
    opened_inner = b.crypto_aead_xchacha20poly1305_ietf_decrypt(
        env[end + 4 :],
        header.raw,
        header.nonce,
        b.crypto_box_seal_open(header.entries[bob_index].wrap, bob.current.pk, bob.current.sk)[:32],
    )
    msg_id, cek, nonce = rng(16), rng(32), rng(24)
    entries = sorted(
        (envelope.Entry(m.uid, m.current.kid, envelope.wrap_key(cek, msg_id, m.current.pk)) for m in (alice, mallory)),
        key=lambda e: (e.uid, e.enc_kid),
    )
    forged_header = envelope.header_bytes(
        magic=envelope.MESSAGE_MAGIC,
        msg_id=msg_id,
        created_ms=CREATED * 1000,
        sender=alice,
        entries=entries,
        key_commit=envelope.commitment(cek, msg_id),
        nonce=nonce,
    )
    ct = b.crypto_aead_xchacha20poly1305_ietf_encrypt(opened_inner, forged_header, nonce, cek)
    g.message(
        "message re-addressed by a recipient",
        forged_header + be32(len(ct)) + ct,
        "mallory",
        alice,
        {"error": "signature"},
    )

    # A sender giving Bob a different content key than the one committed to.
    msg_id, cek, other_cek, nonce = rng(16), rng(32), rng(32), rng(24)
    entries = sorted(
        (
            envelope.Entry(
                m.uid, m.current.kid, envelope.wrap_key(other_cek if m is bob else cek, msg_id, m.current.pk)
            )
            for m in (alice, bob, carol)
        ),
        key=lambda e: (e.uid, e.enc_kid),
    )
    split = envelope.finish(
        envelope.header_bytes(
            magic=envelope.MESSAGE_MAGIC,
            msg_id=msg_id,
            created_ms=CREATED * 1000,
            sender=alice,
            entries=entries,
            key_commit=envelope.commitment(cek, msg_id),
            nonce=nonce,
        ),
        cek,
        nonce,
        body,
        alice,
    )
    g.message("message giving one recipient another key", split, "bob", alice, {"error": "commitment"})
    g.message("message giving one recipient another key (others read)", split, "carol", alice, ok)

    # Signed by the sender but inconsistent or malformed payloads.
    for name, bad in (
        ("payload naming someone not sealed to", _payload(alice, [bob, carol, mallory])),
        ("payload with a duplicate member", body[:-1] + b',"subject":"other"}'),
        ("payload with an unknown member", body[:-1] + b',"x-extra":1}'),
        ("payload claiming another sender", _payload(bob, [bob, carol])),
        ("payload that is not JSON", b"\xff\xfe not json"),
        (
            "payload with a name too long",
            _payload(alice, [bob, carol], sender_name="x" * 201),
        ),
        (
            "payload with a date of seven fraction digits",
            _payload(alice, [bob, carol], date="2026-11-28T09:00:00.1234567Z"),
        ),
        ("payload with a date that does not exist", _payload(alice, [bob, carol], date="2026-02-30T09:00:00Z")),
        ("payload with a date in other digits", _payload(alice, [bob, carol], date="٢٠٢٦-11-28T09:00:00Z")),
        ("payload with version 1.0", body.replace(b'"v":1', b'"v":1.0')),
        (
            "payload with a bad forward date",
            _payload(
                alice, [bob, carol], forwarded=[{"msg_id": "00" * 16, "from": alice.uid.hex(), "date": "yesterday"}]
            ),
        ),
        ("payload with an escaped duplicate member", body[:-1] + b',"subjec\\u0074":"other"}'),
    ):
        g.message(
            name, envelope.seal(alice, to, bad, created_ms=CREATED * 1000, rng=rng), "bob", alice, {"error": "payload"}
        )
    threaded = _payload(
        alice,
        [bob],
        in_reply_to=header.msg_id.hex(),
        references=[header.msg_id.hex()],
        forwarded=[{"msg_id": header.msg_id.hex(), "from": alice.uid.hex(), "date": "2026-11-28T09:00:00Z"}],
    )
    g.message(
        "reply with threading and forward chain",
        envelope.seal(
            alice, [envelope.Recipient(bob.uid, bob.current.pk)], threaded, created_ms=CREATED * 1000, rng=rng
        ),
        "bob",
        alice,
        {"payload": b64e(threaded)},
    )
    old_key = Identity(bob.uid, bob.sig_seed, bob.enc_keys)
    bob_rotated = bob.rotated(CREATED + 1, rng)
    g.members["bob"] = bob_rotated
    g.doc["members"]["bob"]["enc_keys"] = [{"created": k.created, "sk": b64e(k.sk)} for k in bob_rotated.enc_keys]
    g.message(
        "message to an older key still opens",
        envelope.seal(
            alice, [envelope.Recipient(bob.uid, old_key.current.pk)], _payload(alice, [bob]), created_ms=0, rng=rng
        ),
        "bob",
        alice,
        {"payload": b64e(_payload(alice, [bob]))},
    )

    draft_body = _payload(alice, [bob], kind="draft")
    draft = envelope.seal(alice, [], draft_body, created_ms=CREATED * 1000, draft=True, rng=rng)
    g.add(
        "draft opened by its author",
        "draft",
        {"payload": b64e(draft_body)},
        envelope=b64e(draft),
        reader="alice",
        sender_sig_pk=b64e(alice.sig_pk),
    )
    g.add(
        "draft read by someone else",
        "draft",
        {"error": "recipient"},
        envelope=b64e(draft),
        reader="bob",
        sender_sig_pk=b64e(alice.sig_pk),
    )
    g.add(
        "draft opened as a message",
        "message",
        {"error": "version"},
        envelope=b64e(draft),
        reader="alice",
        sender_sig_pk=b64e(alice.sig_pk),
    )
    g.add(
        "message opened as a draft",
        "draft",
        {"error": "version"},
        envelope=b64e(env),
        reader="alice",
        sender_sig_pk=b64e(alice.sig_pk),
    )


def _attachments(g: _Builder) -> None:
    rng = g.rng
    chunk = attachments.MIN_CHUNK
    data = rng(2 * chunk + 1000)
    enc = attachments.encrypt_file(data, name="statement.pdf", mime="application/pdf", chunk_size=chunk, rng=rng)
    desc = enc.descriptor.to_json()
    hashes = [b64e(h) for h in enc.hashes]
    blobs = [b64e(x) for x in enc.blobs]
    common = {"descriptor": desc, "chunk_hashes": hashes}
    for i in range(3):
        g.add(
            f"chunk {i}", "chunk", {"plain": b64e(data[i * chunk : (i + 1) * chunk])}, index=i, blob=blobs[i], **common
        )
    g.add("chunk tampered", "chunk", {"error": "manifest"}, index=1, blob=b64e(_flip(enc.blobs[1], 100)), **common)
    g.add("chunk given for another index", "chunk", {"error": "manifest"}, index=0, blob=blobs[1], **common)
    g.add("chunk with the wrong length", "chunk", {"error": "format"}, index=2, blob=blobs[1], **common)
    g.add("chunk index out of range", "chunk", {"error": "format"}, index=3, blob=blobs[2], **common)
    bad_hashes = [hashes[0], b64e(_flip(enc.hashes[1], 0)), hashes[2]]
    g.add(
        "chunk hash list tampered",
        "chunk",
        {"error": "manifest"},
        index=0,
        blob=blobs[0],
        descriptor=desc,
        chunk_hashes=bad_hashes,
    )
    # A chunk encrypted for index 1, presented as index 0 under a manifest that lists it there.
    moved = attachments.encrypt_chunk(
        enc.descriptor.file_key, enc.descriptor.file_id, 1, 3, len(data), chunk, data[:chunk], rng
    )
    moved_hashes = [attachments.chunk_hash(moved), enc.hashes[1], enc.hashes[2]]
    moved_desc = {**desc, "manifest_root": b64e(attachments.manifest_root(enc.descriptor.file_id, moved_hashes))}
    g.add(
        "chunk bound to another index",
        "chunk",
        {"error": "decrypt"},
        index=0,
        blob=b64e(moved),
        descriptor=moved_desc,
        chunk_hashes=[b64e(h) for h in moved_hashes],
    )

    g.add("file", "file", {"plain": b64e(data)}, blobs=blobs, **common)
    g.add("file missing its final chunk", "file", {"error": "truncated"}, blobs=blobs[:2], **common)
    g.add("file with chunks reordered", "file", {"error": "manifest"}, blobs=[blobs[1], blobs[0], blobs[2]], **common)
    g.add("file with a duplicated chunk", "file", {"error": "manifest"}, blobs=[blobs[0], blobs[0], blobs[2]], **common)
    g.add("file with an extra chunk", "file", {"error": "truncated"}, blobs=[*blobs, blobs[2]], **common)
    g.add(
        "file with the wrong sha256",
        "file",
        {"error": "sha256"},
        blobs=blobs,
        descriptor={**desc, "sha256": b64e(h256(b"other"))},
        chunk_hashes=hashes,
    )
    g.add(
        "file descriptor with a wrong chunk count",
        "file",
        {"error": "format"},
        blobs=blobs,
        descriptor={**desc, "n_chunks": 4},
        chunk_hashes=hashes,
    )
    empty = attachments.encrypt_file(b"", name="empty.txt", mime="text/plain", chunk_size=chunk, rng=rng)
    g.add(
        "empty file",
        "file",
        {"plain": ""},
        blobs=[b64e(empty.blobs[0])],
        descriptor=empty.descriptor.to_json(),
        chunk_hashes=[b64e(h) for h in empty.hashes],
    )


def main(argv: list[str] | None = None, *, out: Callable[[str], object] = print) -> int:
    parser = argparse.ArgumentParser(prog="python -m isecom.crypto.vectors", description=__doc__)
    parser.add_argument("--seed", default="python-v1")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    doc = generate(args.seed.encode())
    args.out.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    out(f"wrote {len(doc['cases'])} cases to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

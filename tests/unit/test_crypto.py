"""The Python implementation of docs/PROTOCOL.md: vectors, and bad input of every shape."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest

from isecom.crypto import attachments, envelope, keys, vectors
from isecom.crypto import payload as payloads
from isecom.crypto.encoding import b64d, b64e
from isecom.crypto.errors import CryptoError

VECTORS = Path(__file__).resolve().parents[1] / "vectors"


def test_committed_python_vectors_pass() -> None:
    doc = json.loads((VECTORS / "python-v1.json").read_text(encoding="utf-8"))
    assert doc["producer"] == "python" and len(doc["cases"]) >= 80
    assert vectors.check(doc) == []


def test_committed_browser_vectors_pass_in_python() -> None:
    """What libsodium.js produced (tests/browser writes a fresh one each run too) opens here."""
    doc = json.loads((VECTORS / "browser-v1.json").read_text(encoding="utf-8"))
    assert doc["producer"] == "browser" and len(doc["cases"]) >= 80
    assert vectors.check(doc) == []


def test_generation_is_reproducible_except_for_sealed_box_wraps() -> None:
    first, second = vectors.generate(b"repeat"), vectors.generate(b"repeat")
    assert first["members"] == second["members"]
    by_name = {c["name"]: c for c in second["cases"]}
    for case in first["cases"]:
        if case["kind"] in ("padme", "password", "login", "recovery_code", "bundle", "chunk", "file"):
            assert case == by_name[case["name"]], case["name"]
    assert vectors.check(first) == [] and vectors.check(second) == []


def test_a_checker_reports_a_wrong_expectation_instead_of_passing() -> None:
    doc = vectors.generate(b"negative")
    case = next(c for c in doc["cases"] if c["name"] == "message opened by bob")
    case["expect"] = {"error": "signature"}
    failures = vectors.check(doc)
    assert len(failures) == 1 and failures[0].startswith("message opened by bob")


@pytest.mark.parametrize("text", ["AA==", "A", "AB+/", "AB c", "AB", "AAB", "AAAAAB", None, 5])
def test_strict_base64(text: object) -> None:
    with pytest.raises(CryptoError) as caught:
        b64d(text)
    assert caught.value.check == "format"
    assert b64d("AA") == b"\x00" and b64e(b"\xfb\xff") == "-_8"


def test_random_garbage_never_escapes_as_anything_but_a_crypto_error() -> None:
    doc = vectors.generate(b"fuzz")
    bob = vectors._member(doc, "bob")
    alice = vectors._member(doc, "alice")
    env = b64d(next(c for c in doc["cases"] if c["name"] == "message opened by bob")["envelope"])
    rnd = random.Random(7)
    for _ in range(400):
        data = bytearray(env)
        for _ in range(rnd.randint(1, 8)):
            data[rnd.randrange(len(data))] = rnd.randrange(256)
        cut = rnd.choice([len(data), rnd.randrange(len(data) + 1)])
        with pytest.raises(CryptoError):
            envelope.open_envelope(bytes(data[:cut]), bob, alice.sig_pk)
    for size in (0, 1, 4, 5, 78, 79, 300):
        with pytest.raises(CryptoError):
            envelope.open_envelope(bytes(rnd.randrange(256) for _ in range(size)), bob, alice.sig_pk)


def test_payload_parser_refuses_lone_surrogates_and_constants() -> None:
    for bad in (b'{"v": NaN}', b'"\\ud800"', b"[]", b"{}", b'{"v":1}' * 2):
        with pytest.raises(CryptoError) as caught:
            payloads.parse(bad)
        assert caught.value.check == "payload"


def test_file_stream_reports_incomplete_only_at_the_end() -> None:
    data = bytes(range(256)) * 600
    enc = attachments.encrypt_file(data, name="x.bin", mime="application/octet-stream", chunk_size=65536)
    reader = attachments.open_file(enc.descriptor, enc.hashes, enc.blobs[:-1])
    assert next(reader) == data[:65536]  # streaming: plaintext flows before the end...
    with pytest.raises(CryptoError) as caught:
        list(reader)  # ...but the file is never reported complete without its final chunk
    assert caught.value.check == "truncated"


def test_chunk_hashes_are_blake2b_256_and_the_file_hash_is_sha256() -> None:
    # What an outside checker computes with standard tools: the server (or anyone) checks each
    # blob as BLAKE2b-256 with no key; an investigator checks the file with sha256sum.
    data = bytes(range(256)) * 600
    enc = attachments.encrypt_file(data, name="x.bin", mime="application/octet-stream", chunk_size=65536)
    assert enc.hashes == [hashlib.blake2b(blob, digest_size=32).digest() for blob in enc.blobs]
    assert enc.descriptor.sha256 == hashlib.sha256(data).digest()


def test_password_change_rewraps_the_same_identity() -> None:
    identity = keys.Identity.generate(bytes(16), 1)
    old = keys.derive_password_keys("old password", bytes(range(16)), keys.DEFAULT_PARAMS)
    new = keys.derive_password_keys("new password", bytes(range(16, 32)), keys.DEFAULT_PARAMS)
    wrapped = keys.wrap_bundle(identity, old.kek, kind=keys.WRAP_PASSWORD, version=1)
    opened, version = keys.unwrap_bundle(wrapped, old.kek, uid=identity.uid, kind=keys.WRAP_PASSWORD)
    rewrapped = keys.wrap_bundle(opened, new.kek, kind=keys.WRAP_PASSWORD, version=version + 1)
    again, version = keys.unwrap_bundle(rewrapped, new.kek, uid=identity.uid, kind=keys.WRAP_PASSWORD)
    assert again == identity and version == 2 and old.auth_pk != new.auth_pk


def test_login_proof_verifies_only_its_own_transcript() -> None:
    derived = keys.derive_password_keys("pw", bytes(16), keys.DEFAULT_PARAMS)
    args = {
        "origin": "https://isecom.example",
        "username": "a@isecom.example",
        "challenge_id": bytes(16),
        "challenge": bytes(32),
        "totp_code": "123456",
    }
    proof = keys.login_proof(derived.auth_seed, keys.login_transcript(**args))
    assert keys.verify_login_proof(derived.auth_pk, keys.login_transcript(**args), proof)
    for change in ({"origin": "https://evil.example"}, {"totp_code": "123457"}, {"challenge": b"\x01" * 32}):
        assert not keys.verify_login_proof(derived.auth_pk, keys.login_transcript(**{**args, **change}), proof)
    assert not keys.verify_login_proof(derived.auth_pk, keys.login_transcript(**args), proof[:63])


def test_fake_salts_are_stable_per_user_and_unlinkable() -> None:
    key = b"k" * 64
    assert keys.fake_salt(key, "A@x.example") == keys.fake_salt(key, "a@x.example")
    assert keys.fake_salt(key, "a@x.example") != keys.fake_salt(key, "b@x.example")
    assert len(keys.fake_salt(key, "a@x.example")) == 16

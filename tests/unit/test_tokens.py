from __future__ import annotations

from datetime import UTC, datetime

import nacl.encoding
import nacl.hash

from isecom.auth import two_factor
from isecom.crypto import tokens
from isecom.crypto.tokens import issue_token, new_token, token_digest

KEY = b"0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"


def test_token_digest_is_purpose_bound() -> None:
    token, digest = issue_token(purpose="activation", server_key=KEY)
    assert len(token) == 43
    assert token_digest(token, purpose="activation", server_key=KEY) == digest
    assert token_digest(token, purpose="session", server_key=KEY) != digest
    assert token_digest(token, purpose="activation", server_key=KEY.replace(b"0f", b"f0")) != digest


def test_malformed_tokens_have_no_digest() -> None:
    good = new_token()
    for bad in ("", "short", good + "A", good[:-1] + "!", good.replace(good[0], "+", 1)):
        assert token_digest(bad, purpose="activation", server_key=KEY) is None


def test_totp_accepts_a_step_once_and_tolerates_one_step_of_drift() -> None:
    secret = two_factor.new_secret()
    when = datetime(2026, 11, 28, 10, 0, 0, tzinfo=UTC)
    code = two_factor.code_at(secret, when)
    step = two_factor.verify(secret, code, when, last_step=None)
    assert step is not None
    assert two_factor.verify(secret, code, when, last_step=step) is None  # replay
    later = datetime(2026, 11, 28, 10, 0, 30, tzinfo=UTC)
    assert two_factor.verify(secret, code, later, last_step=None) == step  # one step of drift
    much_later = datetime(2026, 11, 28, 10, 2, 0, tzinfo=UTC)
    assert two_factor.verify(secret, code, much_later, last_step=None) is None
    for bad in ("", "12345", "1234567", "abcdef", "١٢٣٤٥٦"):
        assert two_factor.verify(secret, bad, when, last_step=None) is None


def test_digests_are_libsodiums_keyed_personal_blake2b_byte_for_byte() -> None:
    """Stored session and token digests must not change with the implementation: hashlib's
    BLAKE2b and libsodium's crypto_generichash_blake2b_salt_personal agree on every input."""
    server_key = bytes(range(32))
    sodium_key = nacl.hash.blake2b(server_key, digest_size=32, encoder=nacl.encoding.RawEncoder)
    for data, size, label in ((b"", 32, "session"), (bytes(range(32)), 32, "csrf"), (b"x" * 300, 16, "a" * 16)):
        expected = nacl.hash.blake2b(
            data,
            digest_size=size,
            key=sodium_key,
            person=label.encode().ljust(16, b"\0"),
            encoder=nacl.encoding.RawEncoder,
        )
        assert tokens.derive(server_key, label, data, size) == expected
    token, digest = tokens.issue_token(purpose="session", server_key=server_key)
    assert tokens.token_digest(token, purpose="session", server_key=server_key) == digest
    assert tokens.equal(digest, digest) and not tokens.equal(digest, bytes(32)) and not tokens.equal(digest, b"")

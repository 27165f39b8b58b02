"""Purpose-bound secret tokens (activation links, sessions, email confirmations).

A token is 32 random bytes sent to its holder as unpadded base64url (43
characters). The server keeps only ``BLAKE2b-256(token, key=server_key,
person=purpose)``: a database thief cannot use a stored digest, and a token
made for one purpose never matches a digest looked up for another.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac

import nacl.secret
import nacl.utils

TOKEN_BYTES = 32
_PURPOSE_MAX = 16  # BLAKE2b personalisation is at most 16 bytes


def new_token() -> str:
    return base64.urlsafe_b64encode(nacl.utils.random(TOKEN_BYTES)).rstrip(b"=").decode("ascii")


def issue_token(*, purpose: str, server_key: bytes) -> tuple[str, bytes]:
    """A new token for its holder and the digest the server stores."""
    raw = nacl.utils.random(TOKEN_BYTES)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii"), _digest(raw, purpose, server_key)


def token_digest(token: str, *, purpose: str, server_key: bytes) -> bytes | None:
    """The stored digest of ``token`` for ``purpose``; None when it is malformed."""
    raw = _decode(token)
    return None if raw is None else _digest(raw, purpose, server_key)


def _digest(raw: bytes, purpose: str, server_key: bytes) -> bytes:
    person = purpose.encode("ascii")
    if not 0 < len(person) <= _PURPOSE_MAX:
        raise ValueError("token purpose must be 1-16 ASCII characters")
    return _blake2b(raw, 32, server_key, person)


def _decode(token: str) -> bytes | None:
    if not isinstance(token, str) or len(token) != 43:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=")
    except (binascii.Error, ValueError):
        return None
    if len(raw) != TOKEN_BYTES or base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != token:
        return None
    return raw


def random_secret_hex(nbytes: int = 32) -> str:
    """A new random secret for a secret file, as hex."""
    return nacl.utils.random(nbytes).hex()


def derive(server_key: bytes, label: str, data: bytes = b"", size: int = 32) -> bytes:
    """A secret derived from the server key for one purpose (``label``) and input."""
    person = label.encode("ascii")
    if not 0 < len(person) <= _PURPOSE_MAX:
        raise ValueError("label must be 1-16 ASCII characters")
    return _blake2b(data, size, server_key, person)


def _blake2b(data: bytes, size: int, server_key: bytes, person: bytes) -> bytes:
    """Keyed, personalised BLAKE2b (RFC 7693): libsodium's ``crypto_generichash_blake2b_salt_personal``,
    byte for byte (tests/unit/test_tokens.py checks both), computed by ``hashlib``'s C code. Every
    request pays two of these (session digest, CSRF token); through PyNaCl they cost 13 % of the
    event loop's time at 700 sends/s (bench/mail)."""
    return hashlib.blake2b(
        data, digest_size=size, key=_mac_key(server_key), person=person.ljust(_PURPOSE_MAX, b"\0")
    ).digest()


@functools.lru_cache(maxsize=4)
def _mac_key(server_key: bytes) -> bytes:
    """The BLAKE2b key derived from the server key (unkeyed BLAKE2b-256 of it), computed once."""
    return hashlib.blake2b(server_key, digest_size=32).digest()


def seal_at_rest(server_key: bytes, plaintext: bytes) -> bytes:
    """Encrypt a server-held secret (a TOTP seed) so a database copy alone does not reveal it."""
    box = nacl.secret.SecretBox(derive(server_key, "at-rest"))
    return bytes(box.encrypt(plaintext))


def open_at_rest(server_key: bytes, sealed: bytes) -> bytes:
    box = nacl.secret.SecretBox(derive(server_key, "at-rest"))
    return bytes(box.decrypt(sealed))


def equal(a: bytes, b: bytes) -> bool:
    """Constant-time comparison (for equal lengths)."""
    return hmac.compare_digest(a, b)

"""Hashes and key derivation of docs/PROTOCOL.md §1, all from libsodium."""

from __future__ import annotations

import nacl.bindings as b

KDF_CONTEXT_BYTES = 8


def h256(data: bytes) -> bytes:
    out: bytes = b.crypto_generichash_blake2b_salt_personal(data, digest_size=32)
    return out


def h512(data: bytes) -> bytes:
    out: bytes = b.crypto_generichash_blake2b_salt_personal(data, digest_size=64)
    return out


def mac(key: bytes, data: bytes) -> bytes:
    """Keyed BLAKE2b-256."""
    out: bytes = b.crypto_generichash_blake2b_salt_personal(data, digest_size=32, key=key)
    return out


def kdf(size: int, subkey_id: int, context: bytes, key: bytes) -> bytes:
    """``crypto_kdf_derive_from_key`` (BLAKE2b, salt = LE64(id) ‖ 0⁸, personal = ctx ‖ 0⁸).

    PyNaCl does not expose crypto_kdf; this is the same libsodium BLAKE2b call
    that crypto_kdf makes, verified byte-for-byte against libsodium.js by the vectors.
    """
    if len(context) != KDF_CONTEXT_BYTES or len(key) != 32:
        raise ValueError("kdf context must be 8 bytes and the key 32 bytes")
    out: bytes = b.crypto_generichash_blake2b_salt_personal(
        b"",
        digest_size=size,
        key=key,
        salt=subkey_id.to_bytes(8, "little") + bytes(8),
        person=context + bytes(8),
    )
    return out


def sha256(data: bytes) -> bytes:
    out: bytes = b.crypto_hash_sha256(data)
    return out


def equal(a: bytes, b_: bytes) -> bool:
    """Constant-time comparison (sodium_memcmp)."""
    return len(a) == len(b_) and bool(b.sodium_memcmp(a, b_))


class H256Stream:
    """Streaming unkeyed BLAKE2b-256: ``update`` piece by piece, then ``digest`` equals ``h256(whole)``.

    For checking a chunk blob against its manifest hash (docs/PROTOCOL.md §8.2) while it is
    received, without holding it in memory.
    """

    __slots__ = ("_done", "_state")

    def __init__(self) -> None:
        self._state = b.crypto_generichash_blake2b_init(digest_size=32)
        self._done = False

    def update(self, data: bytes) -> None:
        if self._done:
            raise ValueError("the hash is already final")
        b.crypto_generichash_blake2b_update(self._state, data)

    def digest(self) -> bytes:
        if self._done:
            raise ValueError("the hash is already final")
        self._done = True
        out: bytes = b.crypto_generichash_blake2b_final(self._state)
        return out

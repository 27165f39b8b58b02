"""Evidence attachments: independent AEAD chunks, a manifest of BLAKE2b chunk hashes (docs/PROTOCOL.md §8)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import nacl.bindings as b
import nacl.exceptions

from isecom.crypto.encoding import b64d, b64e, be64
from isecom.crypto.errors import CryptoError
from isecom.crypto.hashing import equal, h256, sha256
from isecom.crypto.keys import Random, random_bytes

DEFAULT_CHUNK = 4 * 1024 * 1024
MIN_CHUNK = 64 * 1024
MAX_CHUNK = 16 * 1024 * 1024
MAX_FILE = 1 << 40
NONCE = 24  # a chunk blob starts with its nonce
OVERHEAD = NONCE + 16


@dataclass(frozen=True, slots=True)
class Descriptor:
    """What the signed message says about a file (§8.3)."""

    file_id: bytes
    name: str
    mime: str
    size: int
    chunk_size: int
    n_chunks: int
    file_key: bytes = field(repr=False)
    sha256: bytes
    manifest_root: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "file_id": b64e(self.file_id),
            "name": self.name,
            "mime": self.mime,
            "size": self.size,
            "chunk_size": self.chunk_size,
            "n_chunks": self.n_chunks,
            "file_key": b64e(self.file_key),
            "sha256": b64e(self.sha256),
            "manifest_root": b64e(self.manifest_root),
        }

    @classmethod
    def from_json(cls, value: Any) -> Descriptor:
        keys = {"file_id", "name", "mime", "size", "chunk_size", "n_chunks", "file_key", "sha256", "manifest_root"}
        if not isinstance(value, dict) or set(value) != keys:
            raise CryptoError("format")
        for name in ("size", "chunk_size", "n_chunks"):
            if not isinstance(value[name], int) or isinstance(value[name], bool):
                raise CryptoError("format")
        if not isinstance(value["name"], str) or not isinstance(value["mime"], str):
            raise CryptoError("format")
        descriptor = cls(
            file_id=b64d(value["file_id"], size=16),
            name=value["name"],
            mime=value["mime"],
            size=value["size"],
            chunk_size=value["chunk_size"],
            n_chunks=value["n_chunks"],
            file_key=b64d(value["file_key"], size=32),
            sha256=b64d(value["sha256"], size=32),
            manifest_root=b64d(value["manifest_root"], size=32),
        )
        descriptor.check()
        return descriptor

    def check(self) -> None:
        power_of_two = self.chunk_size & (self.chunk_size - 1) == 0
        if not (MIN_CHUNK <= self.chunk_size <= MAX_CHUNK and power_of_two and 0 <= self.size <= MAX_FILE):
            raise CryptoError("format")
        if self.n_chunks != chunk_count(self.size, self.chunk_size):
            raise CryptoError("format")

    def plain_length(self, index: int) -> int:
        if not 0 <= index < self.n_chunks:
            raise CryptoError("format")
        if index < self.n_chunks - 1:
            return self.chunk_size
        return self.size - self.chunk_size * (self.n_chunks - 1)


def chunk_count(size: int, chunk_size: int) -> int:
    return max(1, -(-size // chunk_size))


def chunk_ad(file_id: bytes, index: int, n_chunks: int, size: int, chunk_size: int) -> bytes:
    last = b"\x01" if index == n_chunks - 1 else b"\x00"
    return b"ISEC-chunk-v1" + file_id + be64(index) + be64(n_chunks) + be64(size) + be64(chunk_size) + last


def chunk_hash(blob: bytes) -> bytes:
    """h_i = H256(blob_i): unkeyed BLAKE2b-256 of the whole blob, nonce included (§8.1)."""
    return h256(blob)


def manifest_root(file_id: bytes, hashes: list[bytes]) -> bytes:
    return h256(b"ISEC-manifest-v1" + file_id + be64(len(hashes)) + b"".join(hashes))


def encrypt_chunk(
    file_key: bytes,
    file_id: bytes,
    index: int,
    n_chunks: int,
    size: int,
    chunk_size: int,
    plain: bytes,
    rng: Random = random_bytes,
) -> bytes:
    nonce = rng(24)
    ad = chunk_ad(file_id, index, n_chunks, size, chunk_size)
    ct: bytes = b.crypto_aead_xchacha20poly1305_ietf_encrypt(plain, ad, nonce, file_key)
    return nonce + ct


@dataclass(frozen=True, slots=True)
class EncryptedFile:
    descriptor: Descriptor
    blobs: list[bytes]
    hashes: list[bytes]


def encrypt_file(
    data: bytes, *, name: str, mime: str, chunk_size: int = DEFAULT_CHUNK, rng: Random = random_bytes
) -> EncryptedFile:
    """Encrypt a file held in memory (the browser and the client stream chunk by chunk instead)."""
    file_key, file_id = rng(32), rng(16)
    n_chunks = chunk_count(len(data), chunk_size)
    blobs = [
        encrypt_chunk(
            file_key, file_id, i, n_chunks, len(data), chunk_size, data[i * chunk_size : (i + 1) * chunk_size], rng
        )
        for i in range(n_chunks)
    ]
    hashes = [chunk_hash(blob) for blob in blobs]
    descriptor = Descriptor(
        file_id=file_id,
        name=name,
        mime=mime,
        size=len(data),
        chunk_size=chunk_size,
        n_chunks=n_chunks,
        file_key=file_key,
        sha256=sha256(data),
        manifest_root=manifest_root(file_id, hashes),
    )
    descriptor.check()
    return EncryptedFile(descriptor, blobs, hashes)


def check_manifest(descriptor: Descriptor, hashes: list[bytes]) -> None:
    if len(hashes) != descriptor.n_chunks or any(len(h) != 32 for h in hashes):
        raise CryptoError("manifest")
    if not equal(manifest_root(descriptor.file_id, hashes), descriptor.manifest_root):
        raise CryptoError("manifest")


def open_chunk(descriptor: Descriptor, hashes: list[bytes], index: int, blob: bytes) -> bytes:
    """One chunk, with random access: checks format, manifest and decrypt (§8.4 steps 1–3)."""
    descriptor.check()
    if len(blob) != OVERHEAD + descriptor.plain_length(index):
        raise CryptoError("format")
    check_manifest(descriptor, hashes)
    if not equal(chunk_hash(blob), hashes[index]):
        raise CryptoError("manifest")
    return decrypt_chunk(descriptor, index, blob)


def decrypt_chunk(descriptor: Descriptor, index: int, blob: bytes) -> bytes:
    """One chunk's format and decryption (§8.4 steps 1 and 3), for a streaming reader that
    does not hold the chunk hashes yet: it collects ``chunk_hash(blob)`` of every chunk, calls
    ``check_manifest`` and checks the SHA-256 at the end, and discards its output unless
    both pass (§8.4 step 5)."""
    descriptor.check()
    if len(blob) != OVERHEAD + descriptor.plain_length(index):
        raise CryptoError("format")
    ad = chunk_ad(descriptor.file_id, index, descriptor.n_chunks, descriptor.size, descriptor.chunk_size)
    try:
        plain: bytes = b.crypto_aead_xchacha20poly1305_ietf_decrypt(blob[24:], ad, blob[:24], descriptor.file_key)
    except nacl.exceptions.CryptoError:
        raise CryptoError("decrypt") from None
    return plain


def open_file(descriptor: Descriptor, hashes: list[bytes], blobs: Iterator[bytes] | list[bytes]) -> Iterator[bytes]:
    """Stream a whole file: yields plaintext chunks; raises at the end unless complete and hash-correct.

    A caller writing to disk must treat the file as incomplete until the iterator
    is exhausted without an error, and discard it otherwise (§8.4 step 5).
    """
    digest = hashlib.sha256()  # streaming SHA-256; PyNaCl has only the one-shot form
    count = 0
    for index, blob in enumerate(blobs):
        if index >= descriptor.n_chunks:
            raise CryptoError("truncated")
        plain = open_chunk(descriptor, hashes, index, blob)
        digest.update(plain)
        count += 1
        yield plain
    if count != descriptor.n_chunks:
        raise CryptoError("truncated")
    if not equal(digest.digest(), descriptor.sha256):
        raise CryptoError("sha256")

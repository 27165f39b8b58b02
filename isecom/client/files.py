"""Evidence attachments from a script: encrypt and upload a file, download and verify it (PROTOCOL.md §8).

A file is read one chunk at a time, twice, and never held whole in memory. The first pass
draws each chunk's random nonce and computes the chunk hashes the server needs before any
upload (the manifest); the second pass encrypts each chunk again with the same nonce and
uploads it. A chunk whose plaintext changed between the passes stops the upload before it
is encrypted, so a nonce is never used with two different plaintexts.

A download writes plaintext to ``NAME.part`` as it goes and renames it only after the
manifest and the plaintext SHA-256 both check; on any failure the partial file is removed.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from isecom.client.session import Client
from isecom.crypto import attachments
from isecom.crypto.attachments import Descriptor
from isecom.crypto.encoding import b64e
from isecom.crypto.errors import CryptoError
from isecom.crypto.hashing import equal, h256
from isecom.crypto.keys import Random, random_bytes

Progress = Callable[[int], None]  # called with the number of plaintext bytes just done


class FileChanged(Exception):
    """The file changed while it was being sent."""


@dataclass(frozen=True, slots=True)
class Prepared:
    path: Path
    descriptor: Descriptor
    hashes: list[bytes]
    nonces: list[bytes] = field(repr=False)
    plain_hashes: list[bytes] = field(repr=False)


def _fixed(nonce: bytes) -> Random:
    """The nonce drawn in the first pass, so the second pass makes the very same blob."""

    def draw(_: int) -> bytes:
        return nonce

    return draw


def _read_chunk(handle: BinaryIO, length: int) -> bytes:
    data = handle.read(length)
    if len(data) != length:
        raise FileChanged("the file changed while it was being sent")
    return data


def prepare(path: Path, *, chunk_size: int = attachments.DEFAULT_CHUNK, progress: Progress | None = None) -> Prepared:
    """First pass: key, id, nonces, chunk hashes, manifest root and plaintext SHA-256."""
    size = path.stat().st_size
    file_key, file_id = random_bytes(32), random_bytes(16)
    n_chunks = attachments.chunk_count(size, chunk_size)
    digest = hashlib.sha256()
    nonces: list[bytes] = []
    hashes: list[bytes] = []
    plain_hashes: list[bytes] = []
    with path.open("rb") as handle:
        for index in range(n_chunks):
            plain = _read_chunk(handle, min(chunk_size, size - index * chunk_size))
            digest.update(plain)
            nonce = random_bytes(24)
            blob = attachments.encrypt_chunk(
                file_key, file_id, index, n_chunks, size, chunk_size, plain, rng=_fixed(nonce)
            )
            nonces.append(nonce)
            hashes.append(attachments.chunk_hash(blob))
            plain_hashes.append(h256(plain))
            if progress:
                progress(len(plain))
        if handle.read(1):
            raise FileChanged("the file grew while it was being read")
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    descriptor = Descriptor(
        file_id=file_id,
        name=path.name,
        mime=mime,
        size=size,
        chunk_size=chunk_size,
        n_chunks=n_chunks,
        file_key=file_key,
        sha256=digest.digest(),
        manifest_root=attachments.manifest_root(file_id, hashes),
    )
    descriptor.check()
    return Prepared(path, descriptor, hashes, nonces, plain_hashes)


async def upload(client: Client, prepared: Prepared, *, progress: Progress | None = None) -> str:
    """Declare, upload the chunks the server is missing, commit; the file id (hex) for ``files``."""
    d = prepared.descriptor
    file_id = d.file_id.hex()
    declared = await client.post(
        "/api/v1/files",
        {
            "file_id": file_id,
            "n_chunks": d.n_chunks,
            "chunk_size": d.chunk_size,
            "plain_size": d.size,
            "chunk_hashes": [b64e(h) for h in prepared.hashes],
        },
    )
    missing = set(declared.get("missing", range(d.n_chunks)))
    with prepared.path.open("rb") as handle:
        for index in range(d.n_chunks):
            plain = _read_chunk(handle, d.plain_length(index))
            if index in missing:
                if h256(plain) != prepared.plain_hashes[index]:
                    raise FileChanged("the file changed while it was being sent")
                nonce = prepared.nonces[index]
                blob = attachments.encrypt_chunk(
                    d.file_key, d.file_id, index, d.n_chunks, d.size, d.chunk_size, plain, rng=_fixed(nonce)
                )
                await client.put_octets(f"/api/v1/files/{file_id}/chunks/{index}", blob)
            if progress:
                progress(len(plain))
    await client.post(f"/api/v1/files/{file_id}/commit", {})
    return file_id


@dataclass(frozen=True, slots=True)
class Saved:
    path: Path
    sha256: str


async def download(client: Client, descriptor: Descriptor, folder: Path, *, progress: Progress | None = None) -> Saved:
    """Fetch, decrypt and verify every chunk into ``folder``; raises ``CryptoError`` and leaves nothing
    behind unless the manifest root and the plaintext SHA-256 from the signed message both match."""
    name = Path(descriptor.name).name  # never a path from the sender
    if name in ("", ".", ".."):
        name = descriptor.file_id.hex()
    target = folder / name
    if target.exists():
        raise FileExistsError(f"{target} already exists; not overwritten")
    partial = folder / (name + ".part")
    file_id = descriptor.file_id.hex()
    digest = hashlib.sha256()
    hashes: list[bytes] = []
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            for index in range(descriptor.n_chunks):
                blob = await client.get_octets(f"/api/v1/files/{file_id}/chunks/{index}")
                plain = attachments.decrypt_chunk(descriptor, index, blob)
                hashes.append(attachments.chunk_hash(blob))
                digest.update(plain)
                out.write(plain)
                if progress:
                    progress(len(plain))
        attachments.check_manifest(descriptor, hashes)
        if not equal(digest.digest(), descriptor.sha256):
            raise CryptoError("sha256")
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(target)
    return Saved(target, descriptor.sha256.hex())

"""The command-line client's chunk-at-a-time attachments (PROTOCOL.md §8): two passes, one blob."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import pytest

from isecom.client import files
from isecom.crypto import attachments
from isecom.crypto.errors import CryptoError

CHUNK = attachments.MIN_CHUNK


def test_decrypt_chunk_checks_format_and_decryption_without_the_hash_list() -> None:
    data = random.Random(3).randbytes(2 * CHUNK + 17)
    enc = attachments.encrypt_file(data, name="a.bin", mime="application/octet-stream", chunk_size=CHUNK)
    plain = b"".join(attachments.decrypt_chunk(enc.descriptor, i, blob) for i, blob in enumerate(enc.blobs))
    assert plain == data
    flipped = bytearray(enc.blobs[1])
    flipped[-1] ^= 1
    with pytest.raises(CryptoError) as bad:
        attachments.decrypt_chunk(enc.descriptor, 1, bytes(flipped))
    assert bad.value.check == "decrypt"
    with pytest.raises(CryptoError) as short:
        attachments.decrypt_chunk(enc.descriptor, 2, enc.blobs[1])  # a full chunk where the short last one goes
    assert short.value.check == "format"
    with pytest.raises(CryptoError) as moved:
        attachments.decrypt_chunk(enc.descriptor, 0, enc.blobs[1])  # same length, other place: ad differs
    assert moved.value.check == "decrypt"


class FakeClient:
    def __init__(self) -> None:
        self.declared: dict[str, Any] = {}
        self.chunks: dict[int, bytes] = {}
        self.committed = False

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        if path.endswith("/commit"):
            self.committed = True
            return {}
        self.declared = body
        return {"missing": list(range(body["n_chunks"]))}

    async def put_octets(self, path: str, data: bytes) -> int:
        self.chunks[int(path.rsplit("/", 1)[1])] = data
        return 201


def test_second_pass_makes_the_declared_blobs_and_opens(tmp_path: Path) -> None:
    path = tmp_path / "evidence.pdf"
    data = random.Random(5).randbytes(3 * attachments.DEFAULT_CHUNK + 99)
    path.write_bytes(data)
    done: list[int] = []
    prepared = files.prepare(path, progress=done.append)
    assert sum(done) == len(data) and prepared.descriptor.mime == "application/pdf"
    client = FakeClient()
    file_id = asyncio.run(files.upload(client, prepared))  # type: ignore[arg-type]
    assert file_id == prepared.descriptor.file_id.hex() and client.committed
    blobs = [client.chunks[i] for i in range(prepared.descriptor.n_chunks)]
    assert [attachments.chunk_hash(b) for b in blobs] == prepared.hashes
    assert b"".join(attachments.open_file(prepared.descriptor, prepared.hashes, blobs)) == data


def test_a_file_changed_between_the_passes_is_not_encrypted_again(tmp_path: Path) -> None:
    path = tmp_path / "evidence.bin"
    path.write_bytes(b"\x00" * (CHUNK * 2))
    prepared = files.prepare(path, chunk_size=CHUNK)
    path.write_bytes(b"\x00" * CHUNK + b"\x01" * CHUNK)
    client = FakeClient()
    with pytest.raises(files.FileChanged):
        asyncio.run(files.upload(client, prepared))  # type: ignore[arg-type]
    assert list(client.chunks) == [0] and not client.committed  # the changed chunk never left

"""One-pass uploads through HTTP (PROTOCOL.md §8.2): a declaration without chunk hashes.

Each chunk's PUT brings its hash in ``X-Chunk-Hash``; the server checks the body against it,
keeps the hash and the nonce with the chunk, lists them to the owner for a resume, and at the
commit builds the manifest from the stored hashes, refusing it unless it recomputes the
``manifest_root`` the client will sign. Recipients then read the file exactly as a two-pass one.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from isecom.client import Client, ClientError
from isecom.crypto import attachments
from isecom.crypto.encoding import b64d, b64e
from tests.integration.conftest import Instance
from tests.integration.test_files import CHUNK, _blob_files, _declaration, _download, _encrypted, _plain, _put, _raw
from tests.integration.test_files import alice as alice
from tests.integration.test_files import bruno as bruno
from tests.integration.test_files import cfg as cfg


def _onepass(enc: attachments.EncryptedFile) -> dict[str, Any]:
    declared = _declaration(enc)
    del declared["chunk_hashes"]
    return declared


async def _put_hashed(client: Client, enc: attachments.EncryptedFile, index: int, digest: bytes | None = None) -> int:
    path = f"/api/v1/files/{enc.descriptor.file_id.hex()}/chunks/{index}"
    sent = enc.hashes[index] if digest is None else digest
    status, _ = await _raw(client, "PUT", path, enc.blobs[index], X_Chunk_Hash=b64e(sent))
    return status


def _root(enc: attachments.EncryptedFile) -> dict[str, str]:
    return {"manifest_root": b64e(enc.descriptor.manifest_root)}


async def test_chunks_bring_their_hashes_and_the_commit_checks_the_root(
    instance: Instance, alice: Client, bruno: Client
) -> None:
    enc = _encrypted(3 * CHUNK + 11, seed=21)
    fid = enc.descriptor.file_id.hex()
    created = await alice.post("/api/v1/files", _onepass(enc))
    assert created["missing"] == [0, 1, 2, 3]

    # Without its hash a chunk is refused; with a hash the body does not have, too.
    assert await _put(alice, enc, 0) == 400
    assert await _put_hashed(alice, enc, 0, enc.hashes[1]) == 400
    status, body = await _raw(alice, "PUT", f"/api/v1/files/{fid}/chunks/0", enc.blobs[0], X_Chunk_Hash="not base64!")
    assert status == 400 and b"X-Chunk-Hash" in body
    assert _blob_files(instance) == []

    for index in (3, 1, 0):
        assert await _put_hashed(alice, enc, index) == 201
    assert await _put_hashed(alice, enc, 1) == 204  # a retried PUT of the same bytes
    other = _encrypted(3 * CHUNK + 11, seed=22)  # same sizes, other bytes: chunk 1 cannot change
    status, body = await _raw(
        alice, "PUT", f"/api/v1/files/{fid}/chunks/1", other.blobs[1], X_Chunk_Hash=b64e(other.hashes[1])
    )
    assert status == 409 and b"already stored" in body

    # Declared without a resume record: nothing to resume from, so not listed.
    assert all(u["file_id"] != fid for u in (await alice.get("/api/v1/files"))["uploads"])
    with pytest.raises(ClientError) as early:
        await alice.post(f"/api/v1/files/{fid}/commit", _root(enc))
    assert early.value.status == 409 and "missing" in early.value.message
    assert await _put_hashed(alice, enc, 2) == 201

    with pytest.raises(ClientError) as rootless:
        await alice.post(f"/api/v1/files/{fid}/commit", {})
    assert rootless.value.status == 400 and "manifest_root" in rootless.value.message
    with pytest.raises(ClientError) as wrong:
        await alice.post(f"/api/v1/files/{fid}/commit", _root(other))
    assert wrong.value.status == 409 and "manifest_root" in wrong.value.message
    with pytest.raises(ClientError) as garbled:
        await alice.post(f"/api/v1/files/{fid}/commit", {"manifest_root": 7})
    assert garbled.value.status == 400 and "manifest_root" in garbled.value.message
    assert (await alice.get(f"/api/v1/files/{fid}"))["status"] == "uploading"

    committed = await alice.post(f"/api/v1/files/{fid}/commit", _root(enc))
    assert committed["status"] == "committed"
    assert (await alice.post(f"/api/v1/files/{fid}/commit", _root(enc)))["status"] == "committed"
    with pytest.raises(ClientError):
        await alice.post(f"/api/v1/files/{fid}/commit", _root(other))
    blobs = await _download(alice, enc)
    assert blobs == enc.blobs
    assert hashlib.sha256(_plain(enc, blobs)).digest() == enc.descriptor.sha256
    # The manifest the server built is the one a two-pass declaration would have given.
    async with instance.context.store.read() as tx:
        assert await tx.files.manifest(fid) == b"".join(enc.hashes)
    # Not Bruno's: the same 404 as for a file that does not exist.
    status, _ = await _raw(
        bruno, "PUT", f"/api/v1/files/{fid}/chunks/0", enc.blobs[0], X_Chunk_Hash=b64e(enc.hashes[0])
    )
    assert status == 404


async def test_a_resume_listing_gives_the_stored_hashes_and_nonces(alice: Client) -> None:
    enc = _encrypted(2 * CHUNK + 5, seed=23)
    fid = enc.descriptor.file_id.hex()
    await alice.post("/api/v1/files", {**_onepass(enc), "resume": b64e(b"r" * 512)})
    assert await _put_hashed(alice, enc, 2) == 201
    [listed] = [u for u in (await alice.get("/api/v1/files"))["uploads"] if u["file_id"] == fid]
    assert listed["chunk_hashes"] == []
    assert listed["missing"] == [0, 1]
    assert listed["stored"] == [{"index": 2, "hash": b64e(enc.hashes[2]), "nonce": b64e(enc.blobs[2][:24])}]
    assert b64d(listed["stored"][0]["nonce"]) == enc.blobs[2][:24]
    # Declaring it again (a reload) changes nothing; declared hashes for it are a conflict.
    again = await alice.post("/api/v1/files", _onepass(enc))
    assert again["missing"] == [0, 1]
    with pytest.raises(ClientError) as clash:
        await alice.post("/api/v1/files", _declaration(enc))
    assert clash.value.status == 409


async def test_a_declared_file_takes_a_matching_hash_header_and_an_optional_root(alice: Client) -> None:
    enc = _encrypted(CHUNK + 3, seed=24)
    fid = enc.descriptor.file_id.hex()
    await alice.post("/api/v1/files", _declaration(enc))
    assert await _put_hashed(alice, enc, 0, enc.hashes[1]) == 400  # not the declared hash
    assert await _put_hashed(alice, enc, 0) == 201
    assert await _put(alice, enc, 1) == 201  # the header stays optional here
    other = _encrypted(CHUNK + 3, seed=25)
    with pytest.raises(ClientError) as wrong:
        await alice.post(f"/api/v1/files/{fid}/commit", _root(other))
    assert wrong.value.status == 409
    assert (await alice.post(f"/api/v1/files/{fid}/commit", _root(enc)))["status"] == "committed"
    # An empty body commits too (clients that only ever declare their hashes).
    status, _ = await _raw(alice, "POST", f"/api/v1/files/{fid}/commit")
    assert status == 200

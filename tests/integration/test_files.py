"""Evidence attachments through HTTP (PROTOCOL.md §8): declare, chunk PUTs, resume, commit, download.

Real chunks from ``isecom.crypto.attachments.encrypt_file``; the server checks each one against
the declared manifest without any key, refuses anything else and leaves nothing behind, and
answers another member exactly as it answers for a file that does not exist.
"""

from __future__ import annotations

import asyncio
import io
import json
import random
import secrets
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from isecom import config
from isecom.client import Client, ClientError
from isecom.config import Config
from isecom.crypto import attachments
from isecom.crypto.encoding import b64e
from isecom.errors import InvalidInput
from isecom.services import files
from isecom.types import Email, MemberId
from tests.integration.conftest import Instance, signed_in_member

MIB = 1024 * 1024
CHUNK = attachments.MIN_CHUNK


@pytest.fixture
def cfg(data_dir: Path) -> Config:
    """Small limits, so over-size and over-quota are cheap to reach."""
    return replace(config.load(data_dir, env={}), max_file_bytes=40 * MIB, quota_bytes=64 * MIB)


@pytest.fixture
async def alice(instance: Instance) -> AsyncIterator[Client]:
    client = await signed_in_member(
        instance, "alice.martin@isecom.example", name="Alice Martin", country="FR", agency="PIAC", roles=[]
    )
    yield client
    await client.close()


@pytest.fixture
async def bruno(instance: Instance) -> AsyncIterator[Client]:
    client = await signed_in_member(
        instance, "bruno.costa@isecom.example", name="Bruno Costa", country="BR", agency="PF", roles=[]
    )
    yield client
    await client.close()


def _id(client: Client) -> MemberId:
    assert client.signed is not None
    return MemberId(client.signed.member["id"])


def _encrypted(size: int, chunk_size: int = CHUNK, seed: int = 8) -> attachments.EncryptedFile:
    data = random.Random(seed).randbytes(size)
    return attachments.encrypt_file(data, name="statement.pdf", mime="application/pdf", chunk_size=chunk_size)


def _declaration(enc: attachments.EncryptedFile) -> dict[str, Any]:
    d = enc.descriptor
    return {
        "file_id": d.file_id.hex(),
        "n_chunks": d.n_chunks,
        "chunk_size": d.chunk_size,
        "plain_size": d.size,
        "chunk_hashes": [b64e(h) for h in enc.hashes],
    }


async def _raw(
    client: Client, method: str, path: str, data: bytes | AsyncIterator[bytes] | None = None, **headers: str
) -> tuple[int, bytes]:
    """A request with the session cookie, Origin and CSRF token, as ``Client._call`` sends them."""
    sent = {"Origin": client.origin, "Accept": "application/json"}
    if client.csrf_token and method != "GET":
        sent["X-CSRF-Token"] = client.csrf_token
    if data is not None:
        sent["Content-Type"] = "application/octet-stream"
    sent.update({k.replace("_", "-"): v for k, v in headers.items()})
    body: object = io.BytesIO(data) if isinstance(data, bytes) else data  # large bytes: aiohttp warns
    async with client._http.request(method, client.origin + path, data=body, headers=sent) as response:
        return response.status, await response.read()


async def _put(client: Client, enc: attachments.EncryptedFile, index: int, blob: bytes | None = None) -> int:
    path = f"/api/v1/files/{enc.descriptor.file_id.hex()}/chunks/{index}"
    status, _ = await _raw(client, "PUT", path, enc.blobs[index] if blob is None else blob)
    return status


async def _download(client: Client, enc: attachments.EncryptedFile) -> list[bytes]:
    blobs = []
    for index in range(enc.descriptor.n_chunks):
        status, body = await _raw(client, "GET", f"/api/v1/files/{enc.descriptor.file_id.hex()}/chunks/{index}")
        assert status == 200
        blobs.append(body)
    return blobs


def _plain(enc: attachments.EncryptedFile, blobs: list[bytes]) -> bytes:
    return b"".join(attachments.open_file(enc.descriptor, enc.hashes, blobs))


def _blob_files(instance: Instance) -> list[Path]:
    return [p for p in instance.cfg.blob_dir.rglob("*") if p.is_file()]


async def test_chunks_upload_out_of_order_in_parallel_then_download_and_decrypt(
    instance: Instance, alice: Client
) -> None:
    enc = _encrypted(9 * CHUNK + 1234)
    fid = enc.descriptor.file_id.hex()
    declared = await alice.post("/api/v1/files", _declaration(enc))
    assert declared["status"] == "uploading" and declared["missing"] == list(range(10))
    order = list(range(10))
    random.Random(1).shuffle(order)
    assert await asyncio.gather(*(_put(alice, enc, i) for i in order)) == [201] * 10
    status = await alice.get(f"/api/v1/files/{fid}")
    assert status["missing"] == [] and status["status"] == "uploading"
    committed = await alice.post(f"/api/v1/files/{fid}/commit", {})
    assert committed["status"] == "committed" and committed["committed_at"]
    blobs = await _download(alice, enc)
    assert blobs == enc.blobs
    assert _plain(enc, blobs) == random.Random(8).randbytes(9 * CHUNK + 1234)
    assert len(_blob_files(instance)) == 10


async def test_a_16_mib_chunk_passes_the_8_mib_request_limit(instance: Instance, alice: Client) -> None:
    assert instance.cfg.max_request_bytes == 8 * MIB
    enc = _encrypted(16 * MIB + 5, chunk_size=attachments.MAX_CHUNK)
    await alice.post("/api/v1/files", _declaration(enc))
    assert [await _put(alice, enc, i) for i in range(2)] == [201, 201]
    await alice.post(f"/api/v1/files/{enc.descriptor.file_id.hex()}/commit", {})
    assert _plain(enc, await _download(alice, enc)) == random.Random(8).randbytes(16 * MIB + 5)


async def test_an_interrupted_upload_resumes_with_the_missing_chunks(instance: Instance, alice: Client) -> None:
    enc = _encrypted(5 * CHUNK)
    fid = enc.descriptor.file_id.hex()
    await alice.post("/api/v1/files", _declaration(enc))
    assert [await _put(alice, enc, i) for i in (0, 3)] == [201, 201]

    async def cut_off() -> AsyncIterator[bytes]:  # the network drops half-way through chunk 1
        yield enc.blobs[1][:1000]
        raise ConnectionResetError

    with pytest.raises(Exception):  # noqa: B017 - whatever the client library makes of it
        await _raw(alice, "PUT", f"/api/v1/files/{fid}/chunks/1", cut_off())
    with pytest.raises(ClientError) as early:
        await alice.post(f"/api/v1/files/{fid}/commit", {})
    assert early.value.status == 409 and "chunk 1" in early.value.message

    # A reload: the client declares the same file again and learns what is missing.
    again = await alice.post("/api/v1/files", _declaration(enc))
    assert again["missing"] == [1, 2, 4]
    assert (await alice.get(f"/api/v1/files/{fid}"))["missing"] == [1, 2, 4]
    assert [await _put(alice, enc, i) for i in again["missing"]] == [201, 201, 201]
    await alice.post(f"/api/v1/files/{fid}/commit", {})
    assert await _download(alice, enc) == enc.blobs
    assert len(_blob_files(instance)) == 5  # the cut-off chunk left no temp file


async def test_puts_are_idempotent_and_the_hash_is_fixed(alice: Client) -> None:
    enc = _encrypted(2 * CHUNK)
    fid = enc.descriptor.file_id.hex()
    await alice.post("/api/v1/files", _declaration(enc))
    assert await _put(alice, enc, 0) == 201
    assert await _put(alice, enc, 0) == 204  # the same bytes again
    other = _encrypted(2 * CHUNK)  # same sizes, other nonces and key: other hashes
    status, body = await _raw(alice, "PUT", f"/api/v1/files/{fid}/chunks/0", other.blobs[0])
    assert status == 400 and b"does not match its hash" in body
    assert await _put(alice, enc, 1) == 201
    await alice.post(f"/api/v1/files/{fid}/commit", {})
    assert (await alice.post(f"/api/v1/files/{fid}/commit", {}))["status"] == "committed"
    assert await _put(alice, enc, 1) == 204  # a retried PUT after the commit still succeeds
    assert await _download(alice, enc) == enc.blobs
    # Declaring the same id again with other values is a conflict; the same values are not.
    assert (await alice.post("/api/v1/files", _declaration(enc)))["status"] == "committed"
    with pytest.raises(ClientError) as clash:
        await alice.post("/api/v1/files", {**_declaration(other), "file_id": fid})
    assert clash.value.status == 409


async def test_anything_but_the_declared_chunk_is_refused_and_nothing_stays(instance: Instance, alice: Client) -> None:
    enc = _encrypted(2 * CHUNK + 7)
    fid = enc.descriptor.file_id.hex()
    await alice.post("/api/v1/files", _declaration(enc))
    base = f"/api/v1/files/{fid}/chunks"
    good = enc.blobs[0]
    flipped = good[:100] + bytes([good[100] ^ 1]) + good[101:]

    async def streamed(data: bytes) -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        for start in range(0, len(data), 10_000):
            yield data[start : start + 10_000]

    cases: list[tuple[str, bytes | AsyncIterator[bytes], dict[str, str], int, bytes]] = [
        ("0", good[:-1], {}, 400, b"exactly 65576 bytes"),
        ("0", good + b"x", {}, 400, b"exactly 65576 bytes"),
        ("0", streamed(good + b"x" * 5000), {}, 400, b"more arrived"),
        ("0", streamed(good[:-5]), {}, 400, b"exactly 65576 bytes"),
        ("0", flipped, {}, 400, b"does not match its hash"),
        ("2", enc.blobs[0], {}, 400, b"exactly 47 bytes"),  # the last chunk is short
        ("3", enc.blobs[2], {}, 400, b"chunks 0 to 2"),
        ("-1", enc.blobs[0], {}, 400, b"whole number"),
        ("x", enc.blobs[0], {}, 400, b"whole number"),
        ("0", good, {"Content-Type": "application/json"}, 400, b"application/octet-stream"),
        ("0", b"\0" * (attachments.MAX_CHUNK + 41), {}, 413, b"input.too_large"),
    ]
    for index, data, headers, expected, says in cases:
        status, body = await _raw(alice, "PUT", f"{base}/{index}", data, **headers)
        assert (status, says in body) == (expected, True), (index, status, body)
    assert (await alice.get(f"/api/v1/files/{fid}"))["missing"] == [0, 1, 2]
    assert _blob_files(instance) == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"chunk_size": 3 * CHUNK}, "chunk_size"),
        ({"chunk_size": CHUNK // 2, "n_chunks": 5}, "chunk_size"),
        ({"chunk_size": 32 * MIB}, "chunk_size"),
        ({"n_chunks": 4}, "n_chunks"),
        ({"plain_size": 5 * CHUNK}, "n_chunks"),
        ({"plain_size": -1}, "plain_size"),
        ({"n_chunks": True}, "n_chunks"),
        ({"chunk_hashes": ["AAAA"] * 3}, "chunk_hashes"),
        ({"chunk_hashes": []}, "chunk_hashes"),
        ({"chunk_hashes": "nope"}, "chunk_hashes"),
        ({"file_id": "ABCDEF" * 5 + "00"}, "file_id"),
        ({"file_id": "00" * 15}, "file_id"),
    ],
)
async def test_declarations_are_checked_against_the_protocol(alice: Client, change: dict[str, Any], field: str) -> None:
    """Each bad value is refused with 400 naming the field, and nothing is declared."""
    enc = _encrypted(2 * CHUNK + 1)
    with pytest.raises(ClientError) as refused:
        await alice.post("/api/v1/files", {**_declaration(enc), **change})
    assert refused.value.status == 400 and refused.value.code == "input.invalid"
    status, body = await _raw(
        alice,
        "POST",
        "/api/v1/files",
        json.dumps({**_declaration(enc), **change}).encode(),
        Content_Type="application/json",
    )
    assert status == 400 and json.loads(body)["error"]["field"] == field
    with pytest.raises(ClientError) as absent:
        await alice.get(f"/api/v1/files/{enc.descriptor.file_id.hex()}")
    assert absent.value.status == 404


def _fake(plain_size: int, chunk_size: int = MIB) -> dict[str, Any]:
    n = attachments.chunk_count(plain_size, chunk_size)
    return {
        "file_id": secrets.token_hex(16),
        "n_chunks": n,
        "chunk_size": chunk_size,
        "plain_size": plain_size,
        "chunk_hashes": [b64e(bytes(32))] * n,
    }


async def test_file_size_and_quota_limits(alice: Client, bruno: Client) -> None:
    with pytest.raises(ClientError) as big:
        await alice.post("/api/v1/files", _fake(40 * MIB + 1))
    assert big.value.status == 413 and "at most" in big.value.message
    await alice.post("/api/v1/files", _fake(40 * MIB))
    with pytest.raises(ClientError) as over:
        await alice.post("/api/v1/files", _fake(24 * MIB))  # 40 + 24 MiB plus chunk overheads > 64 MiB
    assert over.value.status == 413 and "quota" in over.value.message
    await bruno.post("/api/v1/files", _fake(24 * MIB))  # the quota is per member
    many = json.dumps(_fake(files.MAX_CHUNKS * CHUNK + 1, chunk_size=CHUNK)).encode()  # a server limit
    status, body = await _raw(alice, "POST", "/api/v1/files", many, Content_Type="application/json")
    assert status == 400 and b"larger chunks" in body


async def test_another_member_gets_the_same_404_for_every_file_endpoint(
    alice: Client, bruno: Client, instance: Instance
) -> None:
    enc = _encrypted(CHUNK + 3)
    fid = enc.descriptor.file_id.hex()
    await alice.post("/api/v1/files", _declaration(enc))
    await _put(alice, enc, 0)

    async def answers(target: str) -> list[tuple[int, bytes]]:
        return [
            await _raw(bruno, "GET", f"/api/v1/files/{target}"),
            await _raw(bruno, "PUT", f"/api/v1/files/{target}/chunks/1", enc.blobs[1]),
            await _raw(bruno, "PUT", f"/api/v1/files/{target}/chunks/0", enc.blobs[0]),
            await _raw(bruno, "GET", f"/api/v1/files/{target}/chunks/0"),
            await _raw(bruno, "GET", f"/api/v1/files/{target}/chunks/9"),
            await _raw(bruno, "POST", f"/api/v1/files/{target}/commit", b"{}", Content_Type="application/json"),
            await _raw(bruno, "DELETE", f"/api/v1/files/{target}"),
        ]

    theirs, nobodys = await answers(fid), await answers(secrets.token_hex(16))
    assert theirs == nobodys
    assert {status for status, _ in theirs} == {404}
    await _put(alice, enc, 1)
    await alice.post(f"/api/v1/files/{fid}/commit", {})
    assert await answers(fid) == nobodys  # committed but not granted: still nothing
    assert await _download(alice, enc) == enc.blobs  # and Alice's file is untouched

    # Once a message grants access, Bruno may read it, and still not change it.
    async with instance.context.store.transaction() as tx:
        await files.grant(tx, [fid], _id(alice), [_id(bruno)])
    assert (await bruno.get(f"/api/v1/files/{fid}"))["missing"] == []
    assert _plain(enc, await _download(bruno, enc)) == random.Random(8).randbytes(CHUNK + 3)
    status, _ = await _raw(bruno, "DELETE", f"/api/v1/files/{fid}")
    assert status == 404
    status, _ = await _raw(bruno, "POST", f"/api/v1/files/{fid}/commit", b"{}", Content_Type="application/json")
    assert status == 404


async def test_the_owner_can_abort_an_upload(instance: Instance, alice: Client) -> None:
    enc = _encrypted(3 * CHUNK)
    fid = enc.descriptor.file_id.hex()
    await alice.post("/api/v1/files", _declaration(enc))
    await _put(alice, enc, 0)
    await _put(alice, enc, 2)
    assert len(_blob_files(instance)) == 2
    assert (await _raw(alice, "DELETE", f"/api/v1/files/{fid}"))[0] == 204
    assert _blob_files(instance) == []
    assert (await _raw(alice, "GET", f"/api/v1/files/{fid}"))[0] == 404
    assert (await _raw(alice, "DELETE", f"/api/v1/files/{fid}"))[0] == 404
    # A committed file stays: messages may reference it.
    done = _encrypted(10)
    await alice.post("/api/v1/files", _declaration(done))
    await _put(alice, done, 0)
    await alice.post(f"/api/v1/files/{done.descriptor.file_id.hex()}/commit", {})
    assert (await _raw(alice, "DELETE", f"/api/v1/files/{done.descriptor.file_id.hex()}"))[0] == 409


async def test_grant_rules(instance: Instance, alice: Client, bruno: Client) -> None:
    carla = await signed_in_member(
        instance, "carla.diaz@isecom.example", name="Carla Diaz", country="ES", agency="ORGA", roles=[]
    )
    await carla.close()
    store = instance.context.store
    a, b = _id(alice), _id(bruno)
    async with store.read() as tx:
        found = await tx.members.by_email(Email.parse("carla.diaz@isecom.example"))
    assert found is not None
    c = found.id

    async def upload(client: Client, *, commit: bool = True) -> str:
        enc = _encrypted(100, seed=secrets.randbelow(1000))
        await client.post("/api/v1/files", _declaration(enc))
        await _put(client, enc, 0)
        if commit:
            await client.post(f"/api/v1/files/{enc.descriptor.file_id.hex()}/commit", {})
        return enc.descriptor.file_id.hex()

    mine, pending, brunos = await upload(alice), await upload(alice, commit=False), await upload(bruno)
    unknown = secrets.token_hex(16)
    for bad in (pending, brunos, unknown):
        with pytest.raises(InvalidInput) as refused:
            async with store.transaction() as tx:
                await files.grant(tx, [mine, bad], a, [b])
        assert bad in refused.value.message and refused.value.field == "attachments"
    with pytest.raises(InvalidInput):
        async with store.transaction() as tx:
            await files.grant(tx, ["not-an-id"], a, [b])
    assert (await _raw(bruno, "GET", f"/api/v1/files/{mine}"))[0] == 404  # the failed sends granted nothing

    async with store.transaction() as tx:
        await files.grant(tx, [mine, mine], a, [b])
        await files.grant(tx, [], a, [b])
    assert (await _raw(bruno, "GET", f"/api/v1/files/{mine}"))[0] == 200
    # A forward: Bruno received it, so he may pass it on; Carla did not, so she may not.
    async with store.transaction() as tx:
        await files.grant(tx, [mine], b, [c])
    with pytest.raises(InvalidInput):
        async with store.transaction() as tx:
            await files.grant(tx, [brunos], c, [a])

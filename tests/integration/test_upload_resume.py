"""The resume record of an unfinished upload (PROTOCOL.md §8.6) through HTTP.

The server keeps the sealed box given with the declaration and hands it back, with the declared
hashes and the missing chunks, to the owner only, until the file is committed or aborted.
"""

from __future__ import annotations

import secrets

import pytest

from isecom.client import Client, ClientError
from isecom.crypto.encoding import b64d, b64e
from tests.integration.conftest import Instance
from tests.integration.test_files import _declaration, _encrypted, _put
from tests.integration.test_mail import _three

CHUNK = 64 * 1024


async def _unfinished(client: Client) -> list[dict[str, object]]:
    found: list[dict[str, object]] = (await client.get("/api/v1/files"))["uploads"]
    return found


async def test_the_owner_alone_gets_the_sealed_record_back_until_the_commit(instance: Instance) -> None:
    a, b, c = await _three(instance)
    try:
        enc = _encrypted(3 * CHUNK + 9, chunk_size=CHUNK, seed=5)
        sealed = secrets.token_bytes(1024)  # opaque to the server: any sealed box of a sane size
        await a.post("/api/v1/files", {**_declaration(enc), "resume": b64e(sealed)})
        assert await _put(a, enc, 1) == 201
        file_id = enc.descriptor.file_id.hex()
        [listed] = await _unfinished(a)
        assert listed["file_id"] == file_id and b64d(listed["resume"]) == sealed
        assert listed["missing"] == [0, 2, 3]
        assert [b64d(h) for h in listed["chunk_hashes"]] == enc.hashes  # type: ignore[attr-defined]
        assert await _unfinished(b) == []  # not Bao's

        for index in (0, 2, 3):
            assert await _put(a, enc, index) == 201
        await a.post(f"/api/v1/files/{file_id}/commit", {})
        assert await _unfinished(a) == []

        # Without a record nothing is listed; a record of a silly size is refused.
        plain = _encrypted(100, chunk_size=CHUNK, seed=6)
        await a.post("/api/v1/files", _declaration(plain))
        assert await _unfinished(a) == []
        tiny = _encrypted(100, chunk_size=CHUNK, seed=7)
        for bad in (b64e(b"x" * 10), b64e(b"x" * 9000), "not base64!"):
            with pytest.raises(ClientError) as refused:
                await a.post("/api/v1/files", {**_declaration(tiny), "resume": bad})
            assert refused.value.status == 400 and "resume" in refused.value.message
    finally:
        for client in (a, b, c):
            await client.close()

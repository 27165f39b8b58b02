"""Evidence files leave the server with the last message that references them (PROTOCOL.md §8.5).

The blobs are looked for in the blob folder itself: after the last reference is deleted for good
no file there carries the file id, while a file another member's message still references
survives and still downloads. Abandoned uploads and orphan blobs are swept; referenced blobs never.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

from isecom.client import Client
from isecom.client import mail as mailclient
from isecom.crypto import attachments
from isecom.services import files
from isecom.types import MemberId
from tests.integration.conftest import Instance
from tests.integration.test_files import _declaration, _download, _encrypted, _id, _plain, _put, _raw
from tests.integration.test_mail import _ring, _three

CHUNK = 64 * 1024


def _blobs_of(instance: Instance, file_id: str) -> list[Path]:
    return sorted(p for p in instance.cfg.blob_dir.rglob(f"{file_id}*") if p.is_file())


async def _uploaded(client: Client, size: int = 3 * CHUNK + 5, *, commit: bool = True) -> attachments.EncryptedFile:
    enc = _encrypted(size, chunk_size=CHUNK, seed=secrets.randbelow(10_000))
    await client.post("/api/v1/files", _declaration(enc))
    for index in range(enc.descriptor.n_chunks):
        assert await _put(client, enc, index) == 201
    if commit:
        await client.post(f"/api/v1/files/{enc.descriptor.file_id.hex()}/commit", {})
    return enc


async def _delete_for_good(client: Client, msg_id: str) -> None:
    assert (await client.http_delete(f"/api/v1/messages/{msg_id}"))["result"] == "trash"
    assert (await client.http_delete(f"/api/v1/messages/{msg_id}"))["result"] == "deleted"


async def test_blobs_go_with_the_last_message_and_survive_while_another_members_message_holds_them(
    instance: Instance,
) -> None:
    a, b, c = await _three(instance)
    try:
        enc = await _uploaded(a)
        file_id = enc.descriptor.file_id.hex()
        assert len(_blobs_of(instance, file_id)) == 4
        draft = mailclient.Draft(
            to=["bao.nguyen@isecom.example"], subject="s", body="b", attachments=[enc.descriptor.to_json()]
        )
        first = await mailclient.send(a, _ring(instance), draft, files=[file_id])
        # Bao forwards it to Clara: a second message referencing the same file.
        onward = mailclient.Draft(
            to=["clara.weiss@isecom.example"], subject="fwd", body="b", attachments=[enc.descriptor.to_json()]
        )
        second = await mailclient.send(b, _ring(instance), onward, files=[file_id])

        await _delete_for_good(a, first)
        await _delete_for_good(b, first)  # no mailbox holds the first message any more
        async with instance.context.store.read() as tx:
            assert await tx.mail.envelope(first) is None
            assert await tx.files.get(file_id) is not None
        assert len(_blobs_of(instance, file_id)) == 4  # the forward still references it
        assert _plain(enc, await _download(c, enc)) == _plain(enc, enc.blobs)

        await _delete_for_good(b, second)
        assert len(_blobs_of(instance, file_id)) == 4  # Clara still holds the forward
        assert (await c.http_delete(f"/api/v1/messages/{second}"))["result"] == "trash"
        assert (await c.post("/api/v1/mailbox/trash/empty", {}))["deleted"] == 1

        assert _blobs_of(instance, file_id) == []  # the ciphertext chunks are gone from the blob folder
        ciphertext = enc.blobs[0][24:88]
        assert not any(ciphertext in p.read_bytes() for p in instance.cfg.blob_dir.rglob("*") if p.is_file())
        async with instance.context.store.read() as tx:
            assert await tx.mail.envelope(second) is None
            assert await tx.files.get(file_id) is None
            assert await tx.files.chunks(file_id) == {}
        for client in (a, b, c):
            status, _ = await _raw(client, "GET", f"/api/v1/files/{file_id}")
            assert status == 404
    finally:
        for client in (a, b, c):
            await client.close()


async def test_a_file_sent_twice_by_its_owner_stays_until_both_messages_are_gone(instance: Instance) -> None:
    a, b, c = await _three(instance)
    try:
        enc = await _uploaded(a)
        file_id = enc.descriptor.file_id.hex()
        sent = []
        for to in ("bao.nguyen@isecom.example", "clara.weiss@isecom.example"):
            draft = mailclient.Draft(to=[to], subject="s", body="b", attachments=[enc.descriptor.to_json()])
            sent.append(await mailclient.send(a, _ring(instance), draft, files=[file_id]))
        for owner, msg_id in ((a, sent[0]), (b, sent[0]), (a, sent[1])):
            await _delete_for_good(owner, msg_id)
        assert len(_blobs_of(instance, file_id)) == 4  # Clara's copy of the second message remains
        await _delete_for_good(c, sent[1])
        assert _blobs_of(instance, file_id) == []
    finally:
        for client in (a, b, c):
            await client.close()


async def test_the_sweep_removes_abandoned_uploads_and_orphans_but_never_a_referenced_blob(
    instance: Instance,
) -> None:
    a, b, c = await _three(instance)
    context = instance.context
    try:
        kept = await _uploaded(a)
        kept_id = kept.descriptor.file_id.hex()
        draft = mailclient.Draft(to=["bao.nguyen@isecom.example"], subject="s", body="b")
        await mailclient.send(a, _ring(instance), draft, files=[kept_id])
        committed_unsent = (await _uploaded(a)).descriptor.file_id.hex()
        abandoned = (await _uploaded(a, commit=False)).descriptor.file_id.hex()
        # A blob whose file row exists but whose chunk row is not written yet (a PUT in flight).
        in_flight = _encrypted(CHUNK * 2, chunk_size=CHUNK, seed=3)
        await a.post("/api/v1/files", _declaration(in_flight))
        flying = files.blob_id(in_flight.descriptor.file_id.hex(), 0)
        await context.blobs.put(flying, _once(in_flight.blobs[0]), max_bytes=CHUNK + 40)
        # An orphan: a crash after a commit that deleted its rows, before the blob was deleted.
        orphan = files.blob_id(secrets.token_hex(16), 0)
        await context.blobs.put(orphan, _once(b"x" * 100), max_bytes=100)
        async with context.store.read() as tx:
            used = await tx.files.usage(b_id := _member_id(a))

        swept = await files.sweep(
            context.store, context.blobs, instance.clock, abandon_after=timedelta(hours=24), orphan_seconds=0
        )
        assert swept.uploads == 0  # nothing is a day old yet
        assert not await context.blobs.exists(orphan)
        assert await context.blobs.exists(flying)

        instance.clock.advance(hours=25)
        swept = await files.sweep(
            context.store, context.blobs, instance.clock, abandon_after=timedelta(hours=24), orphan_seconds=0
        )
        assert swept.uploads == 2  # the abandoned upload and the in-flight one, now a day old
        assert _blobs_of(instance, abandoned) == [] and not await context.blobs.exists(flying)
        assert len(_blobs_of(instance, kept_id)) == 4 and len(_blobs_of(instance, committed_unsent)) == 4
        async with context.store.read() as tx:
            assert await tx.files.get(abandoned) is None
            assert await tx.files.usage(b_id) < used  # it no longer counts against the quota
    finally:
        for client in (a, b, c):
            await client.close()


def _member_id(client: Client) -> MemberId:
    return _id(client)


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data

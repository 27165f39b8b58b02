"""The encrypted message store through the API, with the Python client sealing and opening like the webmail."""

from __future__ import annotations

import asyncio
import json

import pytest

from isecom.client import Client, ClientError
from isecom.client import mail as mailclient
from isecom.client.keyring import KeyRing
from isecom.crypto import envelope, keys, payload
from isecom.crypto.encoding import b64e
from isecom.services import keydir
from tests.integration.conftest import Instance, signed_in_member

MARKER = "FICTIONAL-CASE-MARKER-7731"


async def _note(instance: Instance, sender: Client) -> str:
    """A short message from ``sender`` to Bao."""
    draft = mailclient.Draft(to=["bao.nguyen@isecom.example"], subject="s", body="b")
    return await mailclient.send(sender, _ring(instance), draft)


def _ring(instance: Instance) -> KeyRing:
    return KeyRing(root_pk=instance.cfg.root_pk, origin=instance.cfg.public_url)


async def _three(instance: Instance) -> list[Client]:
    people = [
        ("amara.diallo@isecom.example", "Amara Diallo", "SN"),
        ("bao.nguyen@isecom.example", "Bao Nguyen", "VN"),
        ("clara.weiss@isecom.example", "Clara Weiss", "AT"),
    ]
    clients = [
        await signed_in_member(instance, email, name=name, country=country, agency="Demo ARO", roles=[])
        for email, name, country in people
    ]
    await keydir.sign_checkpoint(instance.context.store, instance.clock, instance.context.authority)
    return clients


async def test_send_list_read_reply_all_across_jurisdictions(instance: Instance) -> None:
    a, b, c = await _three(instance)
    try:
        draft = mailclient.Draft(
            to=["bao.nguyen@isecom.example"],
            cc=["clara.weiss@isecom.example"],
            subject=f"Freeze request {MARKER}",
            body="Please freeze the accounts listed in the attachment (fictional).",
            handling="H2",
        )
        msg_id = await mailclient.send(a, _ring(instance), draft)
        inbox = await mailclient.folder(b, "inbox")
        assert [m["id"] for m in inbox["messages"]] == [msg_id] and inbox["messages"][0]["unread"] is True
        assert inbox["unread"] == {"inbox": 1}
        assert [m["id"] for m in (await mailclient.folder(a, "sent"))["messages"]] == [msg_id]
        opened = await mailclient.read(b, _ring(instance), msg_id)
        assert opened.payload["subject"] == f"Freeze request {MARKER}" and opened.payload["handling"] == "H2"
        assert opened.payload["from"]["name"] == "Amara Diallo"
        # Reply-all keeps every jurisdiction on the thread; threading is inside the payload.
        everyone = [p["email"] for p in opened.payload["to"] + opened.payload["cc"] + [opened.payload["from"]]]
        reply = mailclient.Draft(
            to=[e for e in everyone if e != "bao.nguyen@isecom.example"],
            subject="Re: " + opened.payload["subject"],
            body="Done on our side.",
            in_reply_to=msg_id,
            references=[msg_id],
        )
        reply_id = await mailclient.send(b, _ring(instance), reply)
        for client in (a, c):
            got = await mailclient.read(client, _ring(instance), reply_id)
            assert got.payload["in_reply_to"] == msg_id
        # Nothing of the content reached the server's disk: database, WAL, blobs, logs.
        for path in instance.cfg.data_dir.rglob("*"):
            if path.is_file():
                assert MARKER.encode() not in path.read_bytes(), path
    finally:
        for client in (a, b, c):
            await client.close()


async def test_flags_folders_trash_and_deletion_for_good(instance: Instance) -> None:
    a, b, c = await _three(instance)
    try:
        msg_id = await mailclient.send(
            a, _ring(instance), mailclient.Draft(to=["bao.nguyen@isecom.example"], subject="s", body="b")
        )
        path = f"/api/v1/messages/{msg_id}"
        changed = await b.http_patch(path, {"unread": False, "starred": True, "folder": "archive", "thread": "t-1"})
        assert changed["message"]["folder"] == "archive" and changed["message"]["starred"] is True
        assert (await mailclient.folder(b, "inbox"))["messages"] == []
        with pytest.raises(ClientError) as bad:
            await b.http_patch(path, {"folder": "spam"})
        assert bad.value.status == 400
        assert (await b.http_delete(path))["result"] == "trash"
        assert (await b.post("/api/v1/mailbox/trash/empty", {}))["deleted"] == 1
        with pytest.raises(ClientError) as gone:
            await b.get(path)
        assert gone.value.status == 404
        assert (await mailclient.read(a, _ring(instance), msg_id)).payload["subject"] == "s"  # the sender still has it
        assert (await a.http_delete(path))["result"] == "trash"
        assert (await a.http_delete(path))["result"] == "deleted"
        async with instance.context.store.read() as tx:
            assert await tx.mail.envelope(msg_id) is None  # no mailbox holds it: the ciphertext is gone
    finally:
        for client in (a, b, c):
            await client.close()


async def test_not_yours_looks_exactly_like_missing(instance: Instance) -> None:
    a, b, c = await _three(instance)
    try:
        msg_id = await mailclient.send(
            a, _ring(instance), mailclient.Draft(to=["bao.nguyen@isecom.example"], subject="s", body="b")
        )
        missing = "0" * 32
        for target in (msg_id, missing):
            for call in (
                lambda p: c.get(p),
                lambda p: c.http_patch(p, {"unread": False}),
                lambda p: c.http_delete(p),
            ):
                with pytest.raises(ClientError) as refused:
                    await call(f"/api/v1/messages/{target}")
                assert (refused.value.status, refused.value.code, refused.value.message) == (
                    404,
                    "not_found",
                    "No such message.",
                )
    finally:
        for client in (a, b, c):
            await client.close()


async def test_the_server_refuses_what_a_client_must_not_send(instance: Instance) -> None:
    a, b, c = await _three(instance)
    try:
        identity = a.signed.identity if a.signed else None
        assert identity is not None
        bao = await _ring(instance).fetch(a, email="bao.nguyen@isecom.example")
        body = payload.build(
            {
                "v": 1,
                "type": "mail",
                "from": {"uid": identity.uid.hex(), "name": "Amara Diallo", "email": "amara.diallo@isecom.example"},
                "to": [{"uid": bao.uid.hex(), "name": "Bao Nguyen", "email": "bao.nguyen@isecom.example"}],
                "cc": [],
                "subject": "x",
                "body": "y",
                "date": "2026-11-28T09:00:00Z",
                "in_reply_to": None,
                "references": [],
                "handling": "H1",
                "attachments": [],
                "forwarded": [],
            }
        )
        # Sealed to a key that is not Bao's current one: refused (409), nothing stored.
        stale = envelope.seal(identity, [envelope.Recipient(bao.uid, keys.random_bytes(32))], body, created_ms=1)
        with pytest.raises(ClientError) as refused:
            await a.post("/api/v1/messages", {"envelope": b64e(stale)})
        assert refused.value.status == 409 and "current key" in refused.value.message
        # Sent by Clara in Amara's name: refused.
        with pytest.raises(ClientError) as forged:
            good = envelope.seal(identity, [envelope.Recipient(bao.uid, bao.keys.enc_pk)], body, created_ms=1)
            await c.post("/api/v1/messages", {"envelope": b64e(good)})
        assert forged.value.status == 400 and "another sender" in forged.value.message
        # Not an envelope at all, and a retry of a committed send.
        with pytest.raises(ClientError) as junk:
            await a.post("/api/v1/messages", {"envelope": b64e(b"ISM1" + bytes(100))})
        assert junk.value.status == 400
        first = await a.post("/api/v1/messages", {"envelope": b64e(good)})
        again = await a.post("/api/v1/messages", {"envelope": b64e(good)})
        assert first["id"] == again["id"]
        assert len((await mailclient.folder(b, "inbox"))["messages"]) == 1
    finally:
        for client in (a, b, c):
            await client.close()


async def test_drafts_are_kept_encrypted_and_replaced(instance: Instance) -> None:
    a, b, c = await _three(instance)
    try:
        identity = a.signed.identity if a.signed else None
        assert identity is not None
        slot = "ab" * 16
        for subject in ("first", "second"):
            body = payload.build(
                {
                    "v": 1,
                    "type": "draft",
                    "from": {"uid": identity.uid.hex(), "name": "Amara Diallo", "email": "amara.diallo@isecom.example"},
                    "to": [],
                    "cc": [],
                    "subject": subject,
                    "body": MARKER,
                    "date": "2026-11-28T09:00:00Z",
                    "in_reply_to": None,
                    "references": [],
                    "handling": "H1",
                    "attachments": [],
                    "forwarded": [],
                }
            )
            sealed = envelope.seal(identity, [], body, created_ms=1, draft=True)
            await a.http_put(f"/api/v1/drafts/{slot}", {"envelope": b64e(sealed)})
        [kept] = (await a.get("/api/v1/drafts"))["drafts"]
        opened = envelope.open_envelope(keys_b64(kept["envelope"]), identity, identity.sig_pk, draft=True)
        assert opened.payload["subject"] == "second"
        assert (await b.get("/api/v1/drafts"))["drafts"] == []  # Bao sees none of Amara's drafts
        await a.http_delete(f"/api/v1/drafts/{slot}")
        assert (await a.get("/api/v1/drafts"))["drafts"] == []
    finally:
        for client in (a, b, c):
            await client.close()


def keys_b64(text: str) -> bytes:
    from isecom.crypto.encoding import b64d

    return b64d(text)


async def test_new_mail_is_announced_live_without_content(instance: Instance) -> None:
    a, b, c = await _three(instance)
    try:
        async with b._http.get(instance.url + "/api/v1/events", headers={"Origin": instance.url}) as stream:
            assert stream.status == 200 and stream.headers["Content-Type"].startswith("text/event-stream")
            assert (await stream.content.readline()).startswith(b"retry:")
            msg_id = await _note(instance, a)
            lines: list[bytes] = []
            async with asyncio.timeout(10):
                while not any(line.startswith(b"data:") for line in lines):
                    lines.append(await stream.content.readline())
        event = [line for line in lines if line.startswith(b"event:")]
        assert event == [b"event: mail\n"]
        data = json.loads(next(line for line in lines if line.startswith(b"data:"))[5:])
        assert data == {"type": "mail", "id": msg_id, "folder": "inbox"}  # no sender, no subject
    finally:
        for client in (a, b, c):
            await client.close()


async def test_an_evidence_file_travels_with_the_message_and_only_to_its_recipients(instance: Instance) -> None:
    from tests.integration.test_files import _declaration, _download, _encrypted, _plain, _put

    a, b, c = await _three(instance)
    try:
        enc = _encrypted(3 * 64 * 1024 + 5, chunk_size=64 * 1024)
        await a.post("/api/v1/files", _declaration(enc))
        for index in range(enc.descriptor.n_chunks):
            assert await _put(a, enc, index) in (200, 201, 204)
        file_id = enc.descriptor.file_id.hex()
        await a.post(f"/api/v1/files/{file_id}/commit", {})
        draft = mailclient.Draft(
            to=["bao.nguyen@isecom.example"],
            subject="Bank statements",
            body="Attached.",
            attachments=[enc.descriptor.to_json()],
        )
        msg_id = await mailclient.send(a, _ring(instance), draft, files=[file_id])
        opened = await mailclient.read(b, _ring(instance), msg_id)
        [descriptor] = opened.payload["attachments"]
        assert descriptor["file_id"] == b64e(enc.descriptor.file_id)
        assert _plain(enc, await _download(b, enc)) == _plain(enc, enc.blobs)  # Bao downloads and opens it
        with pytest.raises(AssertionError):
            await _download(c, enc)  # Clara was not addressed: 404
        # Clara cannot attach a file she neither uploaded nor received.
        note = mailclient.Draft(to=["bao.nguyen@isecom.example"], subject="s", body="b")
        with pytest.raises(ClientError) as refused:
            await mailclient.send(c, _ring(instance), note, files=[file_id])
        assert refused.value.status == 400 and file_id in refused.value.message
    finally:
        for client in (a, b, c):
            await client.close()

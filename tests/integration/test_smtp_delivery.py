"""Mail arriving over SMTP, sealed in memory, committed, then opened by the member (PROTOCOL.md §6.6).

A real ``smtplib`` client delivers a corpus of MIME messages (tests/fixtures/smtp,
fictional content only) through STARTTLS to a gateway on the instance's own loop;
the member opens each with the Python client and gets the original bytes back.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from isecom.client import Client
from isecom.client import mail as mailclient
from isecom.client.keyring import KeyProblem, KeyRing
from isecom.config import SmtpSettings
from isecom.crypto import envelope
from isecom.crypto.encoding import b64d, b64e
from isecom.crypto.errors import CryptoError
from isecom.crypto.gateway import Gateway, gateway_seed
from isecom.services import inbound
from isecom.smtp import gateway
from storage.mail import MailStore
from tests.integration.conftest import Instance, signed_in_member
from tests.smtpgateway import DOMAINS, FR_SENDER, HOSTNAME, Tls, fr_by_relay, make_tls

CORPUS = sorted((Path(__file__).parents[1] / "fixtures" / "smtp").glob("*.eml"))
MARKER = b"FICTIONAL-SMTP-MARKER-5d1c"
MEMBER = "camille.roux@isecom.example"


def _wire(path: Path) -> bytes:
    """The fixture as it travels: CRLF line endings (the files are stored with LF)."""
    return path.read_bytes().replace(b"\n", b"\r\n")


@dataclass
class Live:
    instance: Instance
    client: Client
    port: int
    tls: Tls

    def ring(self) -> KeyRing:
        return KeyRing(root_pk=self.instance.cfg.root_pk, origin=self.instance.cfg.public_url)

    async def deliver(self, message: bytes, rcpt: list[str] | None = None) -> tuple[int, bytes]:
        return await asyncio.to_thread(_deliver, self.port, self.tls, message, rcpt or [MEMBER])


def _deliver(port: int, tls: Tls, message: bytes, rcpt: list[str]) -> tuple[int, bytes]:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.ehlo("relay.police.example")
        smtp.starttls(context=tls.client_context())
        smtp.ehlo("relay.police.example")
        assert smtp.mail(FR_SENDER, ["BODY=8BITMIME", "SMTPUTF8"])[0] == 250
        for address in rcpt:
            assert smtp.rcpt(address)[0] == 250
        return smtp.data(message)


@pytest.fixture
async def live(instance: Instance, tmp_path: Path) -> AsyncIterator[Live]:
    client = await signed_in_member(instance, MEMBER, name="Camille Roux", country="FR", agency="Demo ARO", roles=[])
    tls = make_tls(tmp_path)
    settings = SmtpSettings(
        tls_cert_file=tls.cert_file, tls_key_file=tls.key_file, require_tls=True, senders=(fr_by_relay(),)
    )
    context = instance.context
    server = await gateway.start(
        context.store,
        settings,
        DOMAINS,
        "127.0.0.1",
        0,
        HOSTNAME,
        clock=instance.clock,
        gateway=context.gateway,
        publish=context.live.publish,
    )
    try:
        yield Live(instance, client, int(server.sockets[0].getsockname()[1]), tls)
    finally:
        server.close()
        await server.wait_closed()
        await client.close()


async def _inbox(live: Live) -> list[str]:
    return [m["id"] for m in (await mailclient.folder(live.client, "inbox"))["messages"]]


def _files_holding(folder: Path, needles: list[bytes]) -> list[str]:
    return [
        str(path)
        for path in folder.rglob("*")
        if path.is_file() and any(needle in path.read_bytes() for needle in needles)
    ]


async def test_a_mime_corpus_arrives_sealed_and_opens_byte_identical(
    live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    assert len(CORPUS) >= 7
    for path in CORPUS:
        code, reply = await live.deliver(_wire(path))
        assert code == 250, (path.name, reply)
    ids = await _inbox(live)
    assert len(ids) == len(CORPUS)
    ring = live.ring()
    opened = {}
    for msg_id in ids:
        message = await mailclient.read(live.client, ring, msg_id)
        assert message.smtp and message.entry["origin"] == "smtp"
        assert message.payload["smtp_from"] == FR_SENDER and message.payload["smtp_to"] == [MEMBER]
        assert message.raw is not None
        opened[message.raw] = message
    assert set(opened) == {_wire(path) for path in CORPUS}  # every byte as sent, dots and 8-bit included
    # Nothing of the content in the data directory (database, blobs, logs), nor in any log record.
    needles = [MARKER, *(b64e(_wire(p))[8:72].encode() for p in CORPUS)]
    data_dir = live.instance.cfg.data_dir
    assert _files_holding(data_dir, needles) == []
    with sqlite3.connect(str(data_dir / "isecom.db")) as db:
        dump = "\n".join(db.iterdump()).encode()
    assert not any(needle in dump for needle in needles)
    # Every logger at DEBUG (SQL parameters included) is free of the content; ours also of addresses.
    everything = "\n".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)
    assert not any(needle.decode() in everything for needle in needles)
    ours = [r for r in caplog.records if r.name.startswith(("isecom.", "mail."))]
    text = "\n".join(f"{r.getMessage()} {vars(r)}" for r in ours)
    assert FR_SENDER not in text and MEMBER not in text
    assert "inbound mail stored" in text


async def test_a_failing_store_gets_451_leaves_nothing_and_the_retry_delivers(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = _wire(CORPUS[0])

    add_many = MailStore.add_many

    async def crash(self: MailStore, *args: Any) -> None:
        await add_many(self, *args)  # the message and inbox rows are written, then the disk goes
        raise OSError("disk gone before the commit")

    with monkeypatch.context() as patch:
        patch.setattr(MailStore, "add_many", crash)
        code, _ = await live.deliver(message)
    assert 400 <= code < 500  # the sending server keeps the message and retries
    assert await _inbox(live) == []
    with sqlite3.connect(str(live.instance.cfg.data_dir / "isecom.db")) as db:  # rolled back with the rest
        assert db.execute("SELECT count(*) FROM messages").fetchone() == (0,)
    code, _ = await live.deliver(message)
    assert code == 250
    (msg_id,) = await _inbox(live)
    assert (await mailclient.read(live.client, live.ring(), msg_id)).raw == message


async def test_several_recipients_share_one_sealed_message_and_unknown_keys_get_451(live: Live) -> None:
    other = await signed_in_member(
        live.instance, "lina.moreau@isecom.example", name="Lina Moreau", country="FR", agency="Demo ARO", roles=[]
    )
    try:
        code, _ = await live.deliver(_wire(CORPUS[1]), [MEMBER, "lina.moreau@isecom.example"])
        assert code == 250
        (mine,) = await _inbox(live)
        theirs = (await mailclient.folder(other, "inbox"))["messages"]
        assert [m["id"] for m in theirs] == [mine]
        opened = await mailclient.read(other, live.ring(), mine)
        assert opened.raw == _wire(CORPUS[1])
        assert opened.payload["smtp_to"] == [MEMBER, "lina.moreau@isecom.example"]
    finally:
        await other.close()


async def test_a_gateway_certificate_from_another_key_is_refused(live: Live) -> None:
    """A server that signs SMTP mail with a key the log key did not certify is caught by the reader."""
    code, _ = await live.deliver(_wire(CORPUS[0]))
    assert code == 250
    impostor = Gateway(gateway_seed(b"\x01" * 32))
    body = await live.client.get(f"/api/v1/messages/{(await _inbox(live))[0]}")
    assert live.client.signed is not None
    with pytest.raises(CryptoError) as caught:
        envelope.open_smtp(b64d(body["envelope"]), live.client.signed.identity, impostor.sig_pk)
    assert caught.value.check == "sender_key"
    found = await inbound.gateway_key(
        live.instance.context.store,
        live.instance.cfg.public_url,
        live.instance.context.authority.log_keys[1],
        impostor,
    )
    ring = live.ring()

    async def forged(path: str) -> object:
        return {"origin": found.origin, "log_key": b64e(found.log_key), "certificate": b64e(found.certificate)}

    real_get = live.client.get
    live.client.get = forged  # type: ignore[method-assign]
    try:
        assert isinstance(await mailclient.gateway_key(live.client, ring), bytes)  # impostor chains to the log key
        tampered = found.certificate[:-1] + bytes([found.certificate[-1] ^ 1])

        async def broken(path: str) -> object:
            return {"origin": found.origin, "log_key": b64e(found.log_key), "certificate": b64e(tampered)}

        live.client.get = broken  # type: ignore[method-assign]
        with pytest.raises(KeyProblem):
            await mailclient.gateway_key(live.client, ring)
    finally:
        live.client.get = real_get  # type: ignore[method-assign]

"""Content-free new-mail notices: confirmed address, rate limit, daily digest, language, outbox health.

Members are created and signed in through the API; mail arrives by a real web send (the
Python client seals it) or through the inbound service that the SMTP gateway calls; the
notices are rendered by the real mailer into a folder sink and read back as .eml files.
"""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest

from isecom import app as composition
from isecom.client import Client, ClientError
from isecom.client import mail as mailclient
from isecom.client.keyring import KeyRing
from isecom.mailer.delivery import Mailer
from isecom.mailer.transport import DirectorySink
from isecom.services import inbound, keydir, members, notify
from isecom.types import Email, Language
from tests.integration.conftest import PASSWORD, Instance, signed_in_member

MARKER = "FICTIONAL-NOTICE-MARKER-4417"
SENDER = "amara.diallo@isecom.example"
READER = "bao.nguyen@isecom.example"
OUTSIDE = "bao.private@mail.example.org"
POLICY = notify.Policy()  # 15 minutes, digest at 07:00 UTC


class Sink:
    def __init__(self, instance: Instance, folder: Path) -> None:
        self.mailer: Mailer = composition.make_mailer(instance.context)
        self.mailer.transport = DirectorySink(folder)
        self.folder = folder

    async def mails(self) -> list[EmailMessage]:
        await self.mailer.deliver_due()
        found = []
        for path in sorted(self.folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns):
            found.append(email.message_from_bytes(path.read_bytes(), policy=default))
            path.unlink()
        return found  # type: ignore[return-value]


@pytest.fixture
def sink(instance: Instance, tmp_path: Path) -> Sink:
    return Sink(instance, tmp_path / "sink")


async def _member(instance: Instance, address: str, name: str, country: str, language: str = "en") -> Client:
    new = members.NewMember.parse(
        email=address, name=name, country=country, agency="Demo ARO", roles=[], language=language
    )
    invitation = await members.create_member(
        instance.context.store, instance.clock, instance.cfg.server_key, new, actor=None
    )
    client = instance.client()
    done = await client.activate(invitation.activation_token, PASSWORD, now=instance.clock.now())
    instance.clock.advance(seconds=30)
    await client.sign_in(address, PASSWORD, instance.code(done.totp_secret))
    return client


async def _pair(instance: Instance, language: str = "en") -> tuple[Client, Client]:
    sender = await _member(instance, SENDER, "Amara Diallo", "SN")
    reader = await _member(instance, READER, "Bao Nguyen", "VN", language)
    await keydir.sign_checkpoint(instance.context.store, instance.clock, instance.context.authority)
    return sender, reader


async def _confirmed(instance: Instance, reader: Client, sink: Sink, mode: str = "immediate") -> None:
    await reader.post("/api/v1/notifications/address", {"address": OUTSIDE})
    [confirm] = await sink.mails()
    token = re.search(r"/account/notifications#([A-Za-z0-9_-]+)", confirm.get_content())
    assert token is not None
    await reader.post("/api/v1/notifications/confirm", {"token": token.group(1)})
    await reader.post("/api/v1/notifications/mode", {"mode": mode})


async def _web_mail(instance: Instance, sender: Client) -> None:
    ring = KeyRing(root_pk=instance.cfg.root_pk, origin=instance.cfg.public_url)
    draft = mailclient.Draft(to=[READER], subject=f"Freeze {MARKER}", body=f"Account details {MARKER}")
    await mailclient.send(sender, ring, draft)


async def _smtp_mail(instance: Instance) -> None:
    raw = f"From: Officer <officer@police.example>\r\nSubject: {MARKER}\r\n\r\n{MARKER}\r\n".encode()
    admitted = inbound.Sender(Email.parse("officer@police.example"), frozenset({"VN"}))
    context = instance.context
    await inbound.deliver(context.store, instance.clock, context.gateway, admitted, [Email.parse(READER)], raw)


async def _send_due(instance: Instance) -> int:
    context = instance.context
    return await notify.send_due(
        context.store, instance.clock, instance.cfg.server_key, POLICY, base_url=instance.cfg.public_url
    )


def _assert_content_free(notice: EmailMessage, instance: Instance) -> None:
    wire = notice.as_string()
    assert notice["To"] == OUTSIDE
    assert notice["Subject"] == "You have new secure mail"
    assert notice.get_content().strip() == f"You have new secure mail.\n\n{instance.cfg.public_url}/mail"
    for leak in (MARKER, SENDER, "Amara", "officer@police.example", "Freeze", READER):
        assert leak not in wire


async def test_a_new_address_counts_only_once_its_member_opens_the_link(instance: Instance, sink: Sink) -> None:
    sender, reader = await _pair(instance)
    try:
        with pytest.raises(ClientError) as own:
            await reader.post("/api/v1/notifications/address", {"address": "bao.nguyen@isecom.example"})
        assert own.value.status == 400  # an isecom address is not an outside mailbox
        waiting = await reader.post("/api/v1/notifications/address", {"address": OUTSIDE})
        assert (waiting["address"], waiting["pending_address"], waiting["mode"]) == (None, OUTSIDE, "off")
        [confirm] = await sink.mails()
        assert confirm["To"] == OUTSIDE
        found = re.search(r"(https?://\S+)/account/notifications#([A-Za-z0-9_-]{20,})", confirm.get_content())
        assert found is not None and found.group(1) == instance.cfg.public_url
        token = found.group(2)
        assert READER not in confirm.as_string() and "Bao" not in confirm.as_string()  # nothing about the member
        with pytest.raises(ClientError) as foreign:
            await sender.post("/api/v1/notifications/confirm", {"token": token})
        assert foreign.value.status == 410  # another member's link: like an unknown one, and not used up
        with pytest.raises(ClientError) as early:
            await reader.post("/api/v1/notifications/mode", {"mode": "digest"})
        assert early.value.status == 400  # no confirmed address yet
        done = await reader.post("/api/v1/notifications/confirm", {"token": token})
        assert (done["address"], done["pending_address"], done["mode"]) == (OUTSIDE, None, "immediate")
        with pytest.raises(ClientError) as again:
            await reader.post("/api/v1/notifications/confirm", {"token": token})
        assert again.value.status == 410
        # A newer request replaces the older link: the old one no longer confirms anything.
        await reader.post("/api/v1/notifications/address", {"address": "first@mail.example.org"})
        [first] = await sink.mails()
        await reader.post("/api/v1/notifications/address", {"address": "second@mail.example.org"})
        await sink.mails()
        stale = re.search(r"#([A-Za-z0-9_-]{20,})", first.get_content())
        assert stale is not None
        with pytest.raises(ClientError) as replaced:
            await reader.post("/api/v1/notifications/confirm", {"token": stale.group(1)})
        assert replaced.value.status == 410
        assert (await reader.get("/api/v1/notifications"))["address"] == OUTSIDE
        removed = await reader.http_delete("/api/v1/notifications/address")
        assert (removed["address"], removed["mode"]) == (None, "off")
    finally:
        await sender.close()
        await reader.close()


async def test_web_and_smtp_mail_give_one_content_free_notice_per_interval(instance: Instance, sink: Sink) -> None:
    sender, reader = await _pair(instance)
    try:
        await _web_mail(instance, sender)
        assert await _send_due(instance) == 0  # no address yet: nothing waits, nothing is sent
        await _confirmed(instance, reader, sink)
        await _web_mail(instance, sender)
        assert await _send_due(instance) == 1
        [notice] = await sink.mails()
        _assert_content_free(notice, instance)
        await _smtp_mail(instance)  # within the interval: waits
        await _web_mail(instance, sender)
        assert await _send_due(instance) == 0
        assert await sink.mails() == []
        instance.clock.advance(minutes=15)
        assert await _send_due(instance) == 1  # one notice for both messages
        [second] = await sink.mails()
        _assert_content_free(second, instance)
        assert second.get_content() == notice.get_content()
        await reader.get("/api/v1/notifications")  # the session stays alive while the clock moves
        instance.clock.advance(minutes=20)
        assert await _send_due(instance) == 0  # nothing new arrived
        await _smtp_mail(instance)
        assert await _send_due(instance) == 1  # SMTP mail alone gives a notice too
        [third] = await sink.mails()
        _assert_content_free(third, instance)
        await reader.post("/api/v1/notifications/mode", {"mode": "off"})
        instance.clock.advance(minutes=20)
        await _smtp_mail(instance)
        assert await _send_due(instance) == 0
    finally:
        await sender.close()
        await reader.close()


async def test_the_daily_digest_is_the_same_mail_whatever_the_count(instance: Instance, sink: Sink) -> None:
    sender, reader = await _pair(instance)
    try:
        await _confirmed(instance, reader, sink, mode="digest")
        await _web_mail(instance, sender)  # 09:00 on day one
        assert await _send_due(instance) == 0  # waits for the next 07:00 UTC
        instance.clock.current = datetime(2026, 11, 29, 6, 59, tzinfo=UTC)  # day two, 06:59
        assert await _send_due(instance) == 0
        instance.clock.advance(minutes=2)
        assert await _send_due(instance) == 1
        [one] = await sink.mails()
        for _ in range(5):  # the sessions have ended by now: the mail comes by SMTP
            await _smtp_mail(instance)
        instance.clock.advance(hours=12)  # 19:01: mail that came after 07:00 waits for tomorrow
        assert await _send_due(instance) == 0
        instance.clock.advance(hours=12)
        assert await _send_due(instance) == 1
        [five] = await sink.mails()
        _assert_content_free(one, instance)
        _assert_content_free(five, instance)
        assert (five["Subject"], five.get_content()) == (one["Subject"], one.get_content())
        assert len(five.get_content()) == len(one.get_content())
    finally:
        await sender.close()
        await reader.close()


async def test_notices_are_queued_in_the_members_language(instance: Instance, sink: Sink) -> None:
    sender, reader = await _pair(instance, language="fr")
    try:
        await _confirmed(instance, reader, sink)
        await _web_mail(instance, sender)
        assert await _send_due(instance) == 1
        async with instance.context.store.read() as tx:
            [queued] = await tx.outbox.due(instance.clock.now(), 10)
        assert (queued.mail.template, queued.mail.language) == ("notify.new_mail", Language.FR)
        french = {
            "You have new secure mail": "Vous avez du nouveau courrier sécurisé",
            "You have new secure mail.\n\n%(link)s": "Vous avez du nouveau courrier sécurisé.\n\n%(link)s",
        }
        mailer = sink.mailer
        mailer.gettext_for = lambda lang: (lambda text: french.get(text, text)) if lang is Language.FR else str
        notice = mailer.compose(queued)
        assert notice["Subject"] == "Vous avez du nouveau courrier sécurisé"
        assert notice["Content-Language"] == "fr"
        assert notice.get_content().startswith("Vous avez du nouveau courrier sécurisé.")
    finally:
        await sender.close()
        await reader.close()


async def test_administrators_see_outbox_failures_without_addresses(instance: Instance, tmp_path: Path) -> None:
    class Down:
        async def send(self, message: EmailMessage) -> None:
            raise ConnectionRefusedError(f"relay refused {message['To']}")

    admin = await signed_in_member(
        instance, "ada.admin@isecom.example", name="Ada Admin", country="FR", agency="Demo Ops", roles=["admin"]
    )
    sender, reader = await _pair(instance)
    try:
        healthy = await admin.get("/api/v1/admin/outbox")
        assert (healthy["retrying"], healthy["given_up"], healthy["recent"]) == (0, 0, [])
        await reader.post("/api/v1/notifications/address", {"address": OUTSIDE})
        mailer: Mailer = composition.make_mailer(instance.context)
        mailer.transport = Down()
        assert await mailer.deliver_due() == 0
        health = await admin.get("/api/v1/admin/outbox")
        assert (health["retrying"], health["given_up"]) == (1, 0)
        [problem] = health["recent"]
        assert (problem["template"], problem["attempts"], problem["error"]) == (
            "notify.confirm",
            1,
            "ConnectionRefusedError",
        )
        assert problem["next_attempt_at"] is not None
        assert OUTSIDE not in str(health) and "relay refused" not in str(health)
        with pytest.raises(ClientError) as refused:
            await reader.get("/api/v1/admin/outbox")
        assert refused.value.status == 403
    finally:
        for client in (admin, sender, reader):
            await client.close()


async def test_confirmation_mails_to_outside_addresses_are_throttled(instance: Instance, sink: Sink) -> None:
    member = await signed_in_member(instance, READER, name="Bao Nguyen", country="VN", agency="Demo ARO", roles=[])
    try:
        for i in range(5):
            await member.post("/api/v1/notifications/address", {"address": f"box{i}@mail.example.org"})
        with pytest.raises(ClientError) as refused:
            await member.post("/api/v1/notifications/address", {"address": "box5@mail.example.org"})
        assert refused.value.status == 429
        assert len(await sink.mails()) == 5
        instance.clock.advance(minutes=16)
        await member.get("/api/v1/notifications")
        await member.post("/api/v1/notifications/address", {"address": "box6@mail.example.org"})
        assert [m["To"] for m in await sink.mails()] == ["box6@mail.example.org"]
    finally:
        await member.close()

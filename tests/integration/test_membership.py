"""Apply, confirm the address, nomination, authorization, activation — every step mailed."""

from __future__ import annotations

import email
import re
from datetime import timedelta
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest

from isecom import app as composition
from isecom.client import ClientError, approvals
from isecom.client.keyring import KeyRing
from isecom.crypto import keytrans
from isecom.mailer.delivery import Mailer
from isecom.mailer.transport import DirectorySink
from isecom.services import audit, keydir
from tests.integration.conftest import PASSWORD, Instance, signed_in_member

APPLICANT = "camille.roux@isecom.example"
FORM: dict[str, Any] = {
    "email": APPLICANT,
    "name": "Camille Roux",
    "phone": "+33 1 23 45 67 89",
    "agency": "Demo Asset Recovery Office",
    "country": "FR",
    "position": "Financial investigator",
    "languages": ["fr", "en"],
    "nominator_email": "paul.girard@isecom.example",
    "language": "fr",
}


class Sink:
    def __init__(self, instance: Instance, folder: Path) -> None:
        self.mailer = composition.make_mailer(instance.context)
        self.mailer.transport = DirectorySink(folder)
        self.folder = folder

    async def mails(self) -> list[EmailMessage]:
        await self.mailer.deliver_due()
        found = []
        for path in sorted(self.folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns):
            found.append(email.message_from_bytes(path.read_bytes(), policy=default))
            path.unlink()
        return found  # type: ignore[return-value]


def link(message: EmailMessage) -> tuple[str, str]:
    body = message.get_content()
    found = re.search(r"(https?://\S+?)#([A-Za-z0-9_-]{43})", body)
    assert found, body
    return found.group(1), found.group(2)


@pytest.fixture
def sink(instance: Instance, tmp_path: Path) -> Sink:
    return Sink(instance, tmp_path / "sink")


async def test_the_whole_path_from_application_to_first_sign_in(instance: Instance, sink: Sink) -> None:
    head = await signed_in_member(
        instance,
        "paul.girard@isecom.example",
        name="Paul Girard",
        country="FR",
        agency="Demo Asset Recovery Office",
        roles=["agency_head"],
    )
    instance.clock.advance(seconds=30)
    ncb = await signed_in_member(
        instance, "lina.moreau@isecom.example", name="Lina Moreau", country="FR", agency="Demo NCB", roles=["ncb_head"]
    )
    other_head = await signed_in_member(
        instance,
        "wanjiru.kamau@isecom.example",
        name="Wanjiru Kamau",
        country="KE",
        agency="Demo Ethics Commission",
        roles=["agency_head"],
    )
    await sink.mails()
    try:
        async with instance.client() as anonymous:
            assert (await anonymous._call("POST", "/api/v1/applications", FORM))["status"] == "check_your_mail"
        [confirm] = await sink.mails()
        assert confirm["To"] == APPLICANT and confirm["Content-Language"] == "fr"
        assert "Confirmez" in confirm["Subject"] or "confirm" in confirm["Subject"].lower()
        url, token = link(confirm)
        assert url.endswith("/apply/confirm")
        async with instance.client() as anonymous:
            assert (await anonymous._call("POST", "/api/v1/applications/confirm", {"token": token}))[
                "status"
            ] == "pending_nomination"
            with pytest.raises(ClientError):  # single use
                await anonymous._call("POST", "/api/v1/applications/confirm", {"token": token})
        [to_nominate] = await sink.mails()
        assert to_nominate["To"] == "paul.girard@isecom.example" and "Camille Roux" in to_nominate.get_content()

        pending = await head._call("GET", "/api/v1/applications/pending")
        [application] = pending["nomination"]
        assert application["position"] == "Financial investigator"
        assert (await other_head._call("GET", "/api/v1/applications/pending"))["nomination"] == []
        with pytest.raises(ClientError) as caught:  # another country's agency head cannot decide
            await other_head._call("POST", f"/api/v1/applications/{application['id']}/nomination", {"endorse": True})
        assert caught.value.status == 404
        await approvals.nominate(head, application["id"], endorse=True, reason="Known to our unit.")
        [to_authorize] = await sink.mails()
        assert to_authorize["To"] == "lina.moreau@isecom.example"

        [waiting] = (await ncb._call("GET", "/api/v1/applications/pending"))["authorization"]
        await approvals.authorize(ncb, waiting["id"], approve=True, term_days=365)
        [approved] = await sink.mails()
        assert approved["To"] == APPLICANT
        base, activation_token = link(approved)
        async with instance.client() as applicant:
            done = await applicant.activate(activation_token, PASSWORD, now=instance.clock.now())
        instance.clock.advance(seconds=30)
        async with instance.client() as applicant:
            signed = await applicant.sign_in(APPLICANT, PASSWORD, instance.code(done.totp_secret))
        assert signed.member["status"] == "active" and base.endswith("/activate")
        # The key log holds the nomination and authorization the two heads signed with their keys,
        # and a client accepts the applicant's keys on that chain alone (no platform approval).
        await keydir.sign_checkpoint(instance.context.store, instance.clock, instance.context.authority)
        ring = KeyRing(root_pk=instance.cfg.root_pk, origin=instance.cfg.public_url)
        verified = await ring.fetch(head, email=APPLICANT)
        assert verified.keys.sig_pk == done.identity.sig_pk
        assert verified.approval.kind is keytrans.ApprovalKind.AUTHORIZATION
        assert verified.approval.name == "Camille Roux" and verified.approval.country == "FR"
    finally:
        for client in (head, ncb, other_head):
            await client.close()
    async with instance.context.store.transaction() as tx:
        actions = [e.action for e in reversed(await tx.audit.recent(50))]
    for step in (
        "application.submitted",
        "application.confirmed",
        "application.nominated",
        "application.authorized",
        "member.activated",
    ):
        assert step in actions
    assert (await audit.verify(instance.context.store)).intact
    database = (instance.cfg.data_dir / "isecom.db").read_bytes()
    for wal in instance.cfg.data_dir.glob("isecom.db-wal"):
        database += wal.read_bytes()
    assert activation_token.encode() not in database and token.encode() not in database


async def test_rejection_needs_a_reason_and_tells_the_applicant(instance: Instance, sink: Sink) -> None:
    head = await signed_in_member(
        instance,
        "paul.girard@isecom.example",
        name="Paul Girard",
        country="FR",
        agency="Demo Asset Recovery Office",
        roles=["agency_head"],
    )
    try:
        async with instance.client() as anonymous:
            await anonymous._call("POST", "/api/v1/applications", {**FORM, "language": "en"})
            _, token = link((await sink.mails())[-1])
            await anonymous._call("POST", "/api/v1/applications/confirm", {"token": token})
        await sink.mails()
        [application] = (await head._call("GET", "/api/v1/applications/pending"))["nomination"]
        with pytest.raises(ClientError) as caught:
            await head._call("POST", f"/api/v1/applications/{application['id']}/nomination", {"endorse": False})
        assert caught.value.status == 400 and caught.value.code == "input.invalid"
        await head._call(
            "POST",
            f"/api/v1/applications/{application['id']}/nomination",
            {"endorse": False, "reason": "Not part of our agency."},
        )
        [rejected] = await sink.mails()
        assert rejected["To"] == APPLICANT and "Not part of our agency." in rejected.get_content()
        assert "nomination" in rejected.get_content()
    finally:
        await head.close()


async def test_applying_with_a_members_address_reveals_nothing(instance: Instance, sink: Sink) -> None:
    head = await signed_in_member(
        instance,
        "paul.girard@isecom.example",
        name="Paul Girard",
        country="FR",
        agency="Demo Asset Recovery Office",
        roles=["agency_head"],
    )
    await head.close()
    await sink.mails()
    async with instance.client() as anonymous:
        known = await anonymous._call("POST", "/api/v1/applications", {**FORM, "email": "paul.girard@isecom.example"})
        fresh = await anonymous._call("POST", "/api/v1/applications", FORM)
    assert known == fresh
    mails = await sink.mails()
    assert {m["To"] for m in mails} == {"paul.girard@isecom.example", APPLICANT}
    notice = next(m for m in mails if m["To"] == "paul.girard@isecom.example")
    assert "already belongs to an account" in notice.get_content()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"email": "not-an-address"}, "email"),
        ({"phone": "call me"}, "phone"),
        ({"country": "XX"}, "country"),
        ({"languages": []}, "languages"),
        ({"name": "a\nb"}, "name"),
        ({"nominator_email": "x@y"}, "nominator_email"),
    ],
)
async def test_bad_applications_get_a_clear_error(instance: Instance, change: dict[str, Any], field: str) -> None:
    async with instance.client() as anonymous:
        with pytest.raises(ClientError) as caught:
            await anonymous._call("POST", "/api/v1/applications", {**FORM, **change})
    assert caught.value.status == 400


async def test_a_relay_failure_is_retried_and_nothing_is_lost(instance: Instance, tmp_path: Path) -> None:
    class Flaky:
        def __init__(self) -> None:
            self.calls = 0
            self.delivered: list[EmailMessage] = []

        async def send(self, message: EmailMessage) -> None:
            self.calls += 1
            if self.calls == 1:
                raise ConnectionRefusedError("relay down")
            self.delivered.append(message)

    flaky = Flaky()
    mailer: Mailer = composition.make_mailer(instance.context)
    mailer.transport = flaky
    async with instance.client() as anonymous:
        await anonymous._call("POST", "/api/v1/applications", FORM)
    assert await mailer.deliver_due() == 0  # the relay refused: kept for later
    assert await mailer.deliver_due() == 0  # not due yet (backoff)
    async with instance.context.store.transaction() as tx:
        [stuck] = await tx.outbox.stuck(10)
    assert stuck.attempts == 1
    instance.clock.advance(minutes=2)
    assert await mailer.deliver_due() == 1
    assert [m["To"] for m in flaky.delivered] == [APPLICANT]


async def test_terms_warn_then_expire_and_renewal_extends(instance: Instance, sink: Sink) -> None:
    from isecom.services import applications

    ncb = await signed_in_member(
        instance,
        "lina.moreau@isecom.example",
        name="Lina Moreau",
        country="FR",
        agency="Demo NCB",
        roles=["ncb_head"],
    )
    instance.clock.advance(seconds=30)
    head = await signed_in_member(
        instance,
        "paul.girard@isecom.example",
        name="Paul Girard",
        country="FR",
        agency="Demo Asset Recovery Office",
        roles=["agency_head"],
    )
    try:
        async with instance.client() as anonymous:
            await anonymous._call("POST", "/api/v1/applications", FORM)
            _, token = link((await sink.mails())[-1])
            await anonymous._call("POST", "/api/v1/applications/confirm", {"token": token})
        [application] = (await head._call("GET", "/api/v1/applications/pending"))["nomination"]
        path = f"/api/v1/applications/{application['id']}"
        await approvals.nominate(head, application["id"], endorse=True)
        await head.close()
        await approvals.authorize(ncb, application["id"], approve=True, term_days=60)
        _, activation = link((await sink.mails())[-1])
        async with instance.client() as applicant:
            await applicant.activate(activation, PASSWORD, now=instance.clock.now())
        await sink.mails()
        with pytest.raises(ClientError) as caught:  # the route checks its input
            await ncb._call("POST", f"{path}/renewal", {"term_days": 5000})
        assert caught.value.status == 400
        args = (instance.context.store, instance.clock, instance.cfg.server_key)
        assert await applications.sweep_terms(*args, base_url=instance.url) == (0, 0)
        instance.clock.advance(days=31)
        assert await applications.sweep_terms(*args, base_url=instance.url) == (1, 0)
        assert await applications.sweep_terms(*args, base_url=instance.url) == (0, 0)  # warned once
        assert {m["To"] for m in await sink.mails()} == {APPLICANT, "lina.moreau@isecom.example"}
        with pytest.raises(ClientError):  # a month later the head's session has long ended
            await ncb._call("POST", f"{path}/renewal", {"term_days": 365})
        from isecom.types import Email, MemberId

        async with instance.context.store.transaction() as tx:
            head = await tx.members.by_email(Email.parse("lina.moreau@isecom.example"))
        assert head is not None
        ends = await applications.renew(*args, head, MemberId(application["id"]), term=timedelta(days=365))
        assert ends - instance.clock.now() > timedelta(days=365)  # counted from the old end, not from today
        instance.clock.advance(days=40)
        assert await applications.sweep_terms(*args, base_url=instance.url) == (0, 0)
        instance.clock.advance(days=400)
        assert await applications.sweep_terms(*args, base_url=instance.url) == (0, 1)
    finally:
        await ncb.close()


async def test_one_person_cannot_both_nominate_and_authorize(instance: Instance, sink: Sink) -> None:
    admin = await signed_in_member(
        instance,
        "ada.admin@isecom.example",
        name="Ada Admin",
        country="FR",
        agency="Demo Platform Operations",
        roles=["admin"],
    )
    try:
        async with instance.client() as anonymous:
            await anonymous._call("POST", "/api/v1/applications", FORM)
            _, token = link((await sink.mails())[-1])
            await anonymous._call("POST", "/api/v1/applications/confirm", {"token": token})
        [application] = (await admin._call("GET", "/api/v1/applications/pending"))["nomination"]
        path = f"/api/v1/applications/{application['id']}"
        await admin._call("POST", f"{path}/nomination", {"endorse": True})
        with pytest.raises(ClientError) as caught:
            await admin._call("POST", f"{path}/authorization", {"approve": True})
        assert caught.value.status == 403
    finally:
        await admin.close()

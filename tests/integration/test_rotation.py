"""Key rotation (PROTOCOL.md §4.2): a new encryption key in both wraps and in the key log.

Old keys stay in the bundle so old mail opens; the recovery code restores the new key too;
other members' key rings see seqno 1 with the new key after the next checkpoint; every
refusal leaves the credentials and the log as they were.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

import pytest

from isecom.auth import two_factor
from isecom.client import Client, ClientError
from isecom.client.keyring import KeyRing
from isecom.client.session import Activated
from isecom.crypto import envelope, keys, keytrans
from isecom.crypto import payload as payloads
from isecom.crypto.encoding import b64d, b64e
from isecom.services import keyaudit, keydir, members
from isecom.types import MemberId
from tests.integration.conftest import PASSWORD, Instance

MEI = "mei.tan@isecom.example"


async def _activate(instance: Instance, email: str, name: str, country: str) -> Activated:
    new = members.NewMember.parse(email=email, name=name, country=country, agency="Demo FIB", roles=[])
    invitation = await members.create_member(
        instance.context.store, instance.clock, instance.cfg.server_key, new, actor=None
    )
    async with instance.client() as client:
        done = await client.activate(invitation.activation_token, PASSWORD, now=instance.clock.now())
    instance.clock.advance(seconds=30)
    return done


async def _signed_in(instance: Instance, done: Activated) -> Client:
    client = instance.client()
    await client.sign_in(done.member["email"], PASSWORD, instance.code(done.totp_secret))
    instance.clock.advance(seconds=30)
    return client


def _message_to(sender: Activated, reader: Activated) -> bytes:
    def party(who: Activated) -> dict[str, str]:
        return {"uid": who.member["id"], "name": who.member["name"], "email": who.member["email"]}

    body = payloads.build(
        {
            "v": 1,
            "type": "mail",
            "from": party(sender),
            "to": [party(reader)],
            "cc": [],
            "subject": "Freezing order, case 42 (fictional)",
            "body": "Sent before the rotation.",
            "date": "2026-11-28T09:00:00Z",
            "in_reply_to": None,
            "references": [],
            "handling": "H2",
            "attachments": [],
            "forwarded": [],
        }
    )
    recipient = envelope.Recipient(bytes.fromhex(reader.member["id"]), reader.identity.current.pk)
    return envelope.seal(sender.identity, [recipient], body, created_ms=1_795_000_000_000)


@dataclass(frozen=True)
class State:
    bundle_version: int
    enc_pk: bytes
    wrapped_password: bytes
    wrapped_recovery: bytes
    keys_idx: int | None
    rotated_events: int


async def _state(instance: Instance, member_id: str) -> State:
    async with instance.context.store.transaction() as tx:
        credentials = await tx.credentials.get(MemberId(member_id))
        entry = await tx.keylog.entry(MemberId(member_id))
        events = [e.action for e in await tx.audit.recent(200)]
    assert credentials is not None and entry is not None
    return State(
        credentials.bundle_version,
        credentials.enc_pk,
        credentials.wrapped_password,
        credentials.wrapped_recovery,
        entry.keys_idx,
        events.count("keys.rotated"),
    )


async def test_rotation_adds_a_key_that_sign_in_recovery_and_contacts_see(instance: Instance) -> None:
    mei = await _activate(instance, MEI, "Mei Tan", "SG")
    ana = await _activate(instance, "ana.silva@isecom.example", "Ana Silva", "PT")
    await keydir.sign_checkpoint(instance.context.store, instance.clock, instance.context.authority)
    old_mail = _message_to(ana, mei)
    ring = KeyRing(root_pk=instance.cfg.root_pk, origin=instance.cfg.public_url)
    async with await _signed_in(instance, ana) as ana_client:
        before = await ring.fetch(ana_client, email=MEI)
    assert before.keys.seqno == 0 and before.keys.enc_pk == mei.identity.current.pk

    async with await _signed_in(instance, mei) as laptop, await _signed_in(instance, mei) as phone:
        rotated = await laptop.rotate_keys(PASSWORD, mei.recovery_code, instance.code(mei.totp_secret))
        assert rotated.enc_keys[:-1] == mei.identity.enc_keys and len(rotated.enc_keys) == 2
        assert rotated.sig_seed == mei.identity.sig_seed and rotated.current.pk != mei.identity.current.pk
        assert laptop.signed is not None and laptop.signed.identity == rotated and laptop.signed.bundle_version == 2
        await laptop.session()  # no session ends: signing in did not change
        await phone.session()
    state = await _state(instance, mei.member["id"])
    assert (state.bundle_version, state.enc_pk, state.rotated_events) == (2, rotated.current.pk, 1)

    instance.clock.advance(seconds=30)
    async with instance.client() as client:
        again = await client.sign_in(MEI, PASSWORD, instance.code(mei.totp_secret))
    assert again.identity == rotated and again.bundle_version == 2
    opened = envelope.open_envelope(old_mail, again.identity, ana.identity.sig_pk)  # old mail still opens
    assert opened.payload["body"] == "Sent before the rotation."

    # Another member's key ring: the new key after the next checkpoint, chained to the old one.
    await keydir.sign_checkpoint(instance.context.store, instance.clock, instance.context.authority)
    async with await _signed_in(instance, ana) as ana_client:
        after = await ring.fetch(ana_client, email=MEI)
    assert after.keys.seqno == 1 and after.keys.enc_pk == rotated.current.pk
    assert after.keys.sig_pk == before.keys.sig_pk and after.keys.prev == before.keys.hash

    # The recovery code, unchanged, restores the bundle with the new key.
    instance.clock.advance(seconds=30)
    async with instance.client() as client:
        recovered = await client.recover(
            MEI, mei.recovery_code, "another long fictional passphrase", instance.code(mei.totp_secret)
        )
    assert recovered.identity == rotated

    async with instance.context.store.transaction() as tx:
        mails = [q.mail.template for q in await tx.outbox.due(instance.clock.now(), 50)]
    assert mails.count("security.keys_rotated") == 1
    verdict = await keyaudit.audit_log(instance.context.store, instance.context.authority)
    assert verdict.intact, verdict.problem


async def test_rotation_refusals_change_nothing(instance: Instance) -> None:
    mei = await _activate(instance, MEI, "Mei Tan", "SG")
    member_id = mei.member["id"]
    untouched = await _state(instance, member_id)

    async def refused(client: Client, body: dict[str, str]) -> ClientError:
        with pytest.raises(ClientError) as caught:
            await client.post("/api/v1/account/rotate", body)
        assert await _state(instance, member_id) == untouched
        return caught.value

    async with await _signed_in(instance, mei) as client:
        code = instance.code(mei.totp_secret)
        # A proof not made with the password's login key.
        prepared = await client.prepare_rotation(PASSWORD, mei.recovery_code, code)
        _, other_sk = keytrans.signing_keypair(bytes(range(32)))
        forged = b64e(keys.login_proof(bytes(range(32)), b"not the transcript"))
        error = await refused(client, {**prepared.body, "proof": forged})
        assert (error.status, error.code) == (401, "auth.required")
        assert "password or the authentication code" in error.message

        # A wrong authentication code, signed inside a valid proof.
        later = instance.clock.now() + timedelta(minutes=10)
        wrong = two_factor.code_at(mei.totp_secret, later)
        prepared = await client.prepare_rotation(PASSWORD, mei.recovery_code, wrong)
        error = await refused(client, prepared.body)
        assert (error.status, error.code) == (401, "auth.required")

        # A key statement signed by another signing key (it would need a fresh approval).
        prepared = await client.prepare_rotation(PASSWORD, mei.recovery_code, code)
        current = keytrans.parse_key_statement(b64d(prepared.body["key_statement"]))
        foreign = keytrans.key_statement(
            other_sk,
            uid=current.uid,
            email=current.email,
            seqno=current.seqno,
            prev=current.prev,
            enc_pk=current.enc_pk,
            created=current.created,
        )
        error = await refused(client, {**prepared.body, "key_statement": b64e(foreign)})
        assert (error.status, error.code) == (400, "input.invalid")
        assert "signing key needs a fresh approval" in error.message

        # Only the password wrap: the recovery code would restore a bundle without the new key.
        error = await refused(client, {**prepared.body, "wrapped_recovery": ""})
        assert (error.status, error.code) == (400, "input.invalid")

        # A stale bundle version: two rotations prepared from the same state, the second is late.
        first = await client.prepare_rotation(PASSWORD, mei.recovery_code, code)
        second = await client.prepare_rotation(PASSWORD, mei.recovery_code, code)
        await client.send_rotation(first)
        untouched = await _state(instance, member_id)
        assert (untouched.bundle_version, untouched.rotated_events) == (2, 1)
        error = await refused(client, second.body)
        assert (error.status, error.code) == (400, "input.invalid")
        assert "bundle version 3" in error.message

    # The failed attempts are security events of the member's own.
    async with instance.context.store.transaction() as tx:
        actions = [e.action for e in await tx.audit.recent(50)]
    assert actions.count("keys.rotate_failed") == 2


async def test_the_client_refuses_a_wrong_password_or_recovery_code_before_sending(instance: Instance) -> None:
    mei = await _activate(instance, MEI, "Mei Tan", "SG")
    untouched = await _state(instance, mei.member["id"])
    async with await _signed_in(instance, mei) as client:
        code = instance.code(mei.totp_secret)
        with pytest.raises(ClientError) as caught:
            await client.rotate_keys("not my password at all", mei.recovery_code, code)
        assert caught.value.code == "rotation.password"
        with pytest.raises(ClientError) as caught:
            await client.rotate_keys(PASSWORD, keys.new_recovery_code(), code)
        assert caught.value.code == "recovery.code"
    assert await _state(instance, mei.member["id"]) == untouched


async def test_rotation_needs_a_session_and_the_csrf_token(instance: Instance) -> None:
    mei = await _activate(instance, MEI, "Mei Tan", "SG")
    async with instance.client() as anonymous:
        with pytest.raises(ClientError) as caught:
            await anonymous.get("/api/v1/account/rotate")
        assert caught.value.status == 401
    async with await _signed_in(instance, mei) as client:
        prepared = await client.prepare_rotation(PASSWORD, mei.recovery_code, instance.code(mei.totp_secret))
        client.csrf_token = None
        with pytest.raises(ClientError) as caught:
            await client.post("/api/v1/account/rotate", prepared.body)
        assert caught.value.status == 403
        client.csrf_token = client.signed.csrf_token if client.signed else None
        await client.send_rotation(prepared)


async def test_two_rotations_at_once_install_exactly_one(instance: Instance) -> None:
    mei = await _activate(instance, MEI, "Mei Tan", "SG")
    async with await _signed_in(instance, mei) as first, await _signed_in(instance, mei) as second:
        now = instance.clock.now()
        a = await first.prepare_rotation(PASSWORD, mei.recovery_code, two_factor.code_at(mei.totp_secret, now))
        b = await second.prepare_rotation(
            PASSWORD, mei.recovery_code, two_factor.code_at(mei.totp_secret, now + timedelta(seconds=30))
        )
        results = await asyncio.gather(first.send_rotation(a), second.send_rotation(b), return_exceptions=True)
    won = [r for r in results if isinstance(r, keys.Identity)]
    lost = [r for r in results if isinstance(r, ClientError)]
    assert len(won) == 1 and len(lost) == 1, results
    assert lost[0].status in (400, 401, 409)
    state = await _state(instance, mei.member["id"])
    assert (state.bundle_version, state.enc_pk, state.rotated_events) == (2, won[0].current.pk, 1)
    async with instance.context.store.transaction() as tx:
        current = await keydir.next_statement(tx, MemberId(mei.member["id"]))
    assert current[0] == 2  # exactly one statement was appended after seqno 0

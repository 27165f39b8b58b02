"""The keyserver end to end: publication at activation, look-ups with proofs, checkpoints, tamper scenarios.

Each tamper scenario is caught twice: by the client's checks (``isecom.client.keyring``,
the same rules the browser applies) and by ``isecom kt verify``'s whole-log audit.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from sqlalchemy import delete, update

from isecom.client import Client, revocations
from isecom.client.keyring import KeyProblem, KeyRing
from isecom.client.session import Activated, ClientError
from isecom.crypto import keytrans, merkle
from isecom.crypto.encoding import b64d, b64e
from isecom.services import admin, keyaudit, keydir, members
from isecom.types import Email, MemberId
from storage import tables as t
from tests.conftest import run_cli
from tests.integration.conftest import PASSWORD, Instance


async def _activate(
    instance: Instance, email: str, name: str, country: str, roles: list[str] | None = None
) -> Activated:
    new = members.NewMember.parse(email=email, name=name, country=country, agency="Demo FIB", roles=roles or [])
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


async def _checkpoint(instance: Instance) -> int | None:
    return await keydir.sign_checkpoint(instance.context.store, instance.clock, instance.context.authority)


def _ring(instance: Instance) -> KeyRing:
    return KeyRing(root_pk=instance.cfg.root_pk, origin=instance.cfg.public_url)


async def _world(instance: Instance) -> tuple[Activated, Activated, Client]:
    alice = await _activate(instance, "ana.silva@isecom.example", "Ana Silva", "PT")
    bob = await _activate(instance, "bruno.costa@isecom.example", "Bruno Costa", "BR", roles=["ncb_head"])
    await _checkpoint(instance)
    return alice, bob, await _signed_in(instance, alice)


async def test_a_member_fetches_and_verifies_another_members_keys(instance: Instance) -> None:
    alice, bob, client = await _world(instance)
    async with client:
        ring = _ring(instance)
        verified = await ring.fetch(client, email="bruno.costa@isecom.example")
        assert verified.keys.enc_pk == bob.identity.current.pk
        assert verified.keys.sig_pk == bob.identity.sig_pk
        assert verified.approval.name == "Bruno Costa" and verified.approval.country == "BR"
        assert [c.role for c in verified.certificates] == [keytrans.CertRole.NCB_HEAD]
        by_id = await ring.fetch(client, member_id=bob.member["id"])
        assert by_id.keys == verified.keys
        listing = await client.get("/keys/v1/directory?country=BR")
        assert [m["email"] for m in listing["members"]] == ["bruno.costa@isecom.example"]
        number = keytrans.safety_number(
            (bytes.fromhex(alice.member["id"]), alice.identity.sig_pk), (verified.uid, verified.keys.sig_pk)
        )
        assert len(number) == 60 and number.isdigit()
        assert number == keytrans.safety_number(
            (verified.uid, verified.keys.sig_pk), (bytes.fromhex(alice.member["id"]), alice.identity.sig_pk)
        )


async def test_keys_are_for_members_only_and_unknown_members_look_absent(instance: Instance) -> None:
    _, _, client = await _world(instance)
    async with instance.client() as anonymous:
        with pytest.raises(ClientError) as refused:
            await anonymous.get("/keys/v1/lookup?email=bruno.costa%40isecom.example")
        assert refused.value.status == 401
    async with client:
        with pytest.raises(ClientError) as absent:
            await client.get("/keys/v1/lookup?email=nobody%40isecom.example")
        assert absent.value.status == 404
        with pytest.raises(ClientError) as bad:
            await client.get("/keys/v1/leaves?start=5&end=1")
        assert bad.value.status == 400 and bad.value.code == "input.invalid"


async def test_a_new_key_waits_for_the_next_checkpoint(instance: Instance) -> None:
    _, _, client = await _world(instance)
    await _activate(instance, "carla.diaz@isecom.example", "Carla Diaz", "ES")
    async with client:
        ring = _ring(instance)
        await ring.fetch(client, email="bruno.costa@isecom.example")
        with pytest.raises(KeyProblem) as pending:
            await ring.fetch(client, email="carla.diaz@isecom.example")
        assert pending.value.check == "pending"
        old = ring.checkpoint
        await _checkpoint(instance)
        await ring.fetch(client, email="carla.diaz@isecom.example")
        assert ring.checkpoint is not None and old is not None and ring.checkpoint.size > old.size


async def test_the_server_swapping_a_key_is_caught(instance: Instance) -> None:
    _, bob, client = await _world(instance)
    # The server replaces Bruno's key statement by one for a key it controls, signed by that key.
    pk, sk = keytrans.signing_keypair(bytes(range(32)))
    forged = keytrans.key_statement(
        sk,
        uid=bytes.fromhex(bob.member["id"]),
        email="bruno.costa@isecom.example",
        seqno=0,
        prev=keytrans.ZERO32,
        enc_pk=pk,
        created=1,
    )
    entry = await _entry(instance, bob.member["id"])
    async with client:
        answer = await client.get("/keys/v1/lookup?email=bruno.costa%40isecom.example")
        for item in answer["entries"]:
            if item["index"] == entry.keys_idx:
                item["leaf"] = b64e(keytrans.leaf(keytrans.Kind.KEYS, bytes.fromhex(bob.member["id"]), 1, forged))
        with pytest.raises(KeyProblem) as caught:
            await _ring(instance).verify(client, answer)
        assert caught.value.check == "proof"
    await _rewrite_leaf(instance, entry.keys_idx, forged)
    verdict = await keyaudit.audit_log(instance.context.store, instance.context.authority)
    assert not verdict.intact and "does not match the leaves" in (verdict.problem or "")


async def test_a_fork_and_an_older_checkpoint_are_caught(instance: Instance) -> None:
    _, _, client = await _world(instance)
    async with client:
        ring = _ring(instance)
        await ring.fetch(client, email="bruno.costa@isecom.example")
        seen = ring.checkpoint
        assert seen is not None
        await _activate(instance, "carla.diaz@isecom.example", "Carla Diaz", "ES")
        await _checkpoint(instance)
        await ring.fetch(client, email="carla.diaz@isecom.example")
        # An older checkpoint: the server answers with the state the device saw before.
        stale = _ring(instance)
        stale.checkpoint, stale.log_pk = ring.checkpoint, ring.log_pk
        answer = await client.get("/keys/v1/lookup?email=bruno.costa%40isecom.example")
        answer["checkpoint"] = b64e(seen.raw)
        answer["entries"] = [
            {**e, "proof": [b64e(p) for p in _proof_at(await _leaf_hashes(instance), e["index"], seen.size)]}
            for e in answer["entries"]
        ]
        with pytest.raises(KeyProblem) as rollback:
            await stale.verify(client, answer)
        assert rollback.value.check == "log"
        # A fork: a second checkpoint of the same size with another root, signed by the log key.
        _, log_sk = instance.context.authority.log_keys
        fork = keytrans.checkpoint(log_sk, origin=instance.cfg.public_url, size=seen.size, root=bytes(32), time=2)
        forked = replace(seen, root=bytes(32), raw=fork)
        with pytest.raises(KeyProblem) as caught:
            await stale.advance(client, forked)
        assert caught.value.check == "log"
    # The same fork in the server's own store: kt verify names it.
    async with instance.context.store.transaction() as tx:
        await tx.keylog.add_checkpoint(seen.size - 1, fork)
    verdict = await keyaudit.audit_log(instance.context.store, instance.context.authority)
    assert not verdict.intact and "checkpoint" in (verdict.problem or "")


async def test_removing_an_entry_is_caught(instance: Instance) -> None:
    _, bob, client = await _world(instance)
    entry = await _entry(instance, bob.member["id"])
    async with client:
        answer = await client.get("/keys/v1/lookup?email=bruno.costa%40isecom.example")
        answer["entries"] = [e for e in answer["entries"] if e["index"] != entry.approval_idx]
        with pytest.raises(KeyProblem) as caught:
            await _ring(instance).verify(client, answer)
        assert caught.value.check == "chain"
    async with instance.context.store.transaction() as tx:
        await tx.keylog._conn.execute(delete(t.kt_leaves).where(t.kt_leaves.c.idx == entry.approval_idx))  # type: ignore[attr-defined]
    verdict = await keyaudit.audit_log(instance.context.store, instance.context.authority)
    assert not verdict.intact and "missing" in (verdict.problem or "")


async def test_a_forged_or_dropped_certificate_is_caught(instance: Instance) -> None:
    _, bob, client = await _world(instance)
    entry = await _entry(instance, bob.member["id"])
    _not_root_pk, not_root = keytrans.signing_keypair(bytes(32))
    forged = keytrans.certificate(
        not_root,
        role=keytrans.CertRole.NCB_HEAD,
        uid=bytes.fromhex(bob.member["id"]),
        email="bruno.costa@isecom.example",
        name="Bruno Costa",
        country="BR",
        agency="Demo FIB",
        sig_pk=bob.identity.sig_pk,
        not_after=2**40,
        made=1,
    )
    with pytest.raises(keytrans.CryptoError) as bad:
        keytrans.parse_certificate(forged, instance.cfg.root_pk)
    assert bad.value.check == "signature"
    async with client:
        answer = await client.get("/keys/v1/lookup?email=bruno.costa%40isecom.example")
        dropped = {**answer, "entries": [e for e in answer["entries"] if e["index"] != entry.cert_idx]}
        verified = await _ring(instance).verify(client, dropped)
        assert verified.certificates == ()  # without its certificate Bruno is no NCB head to the client
    assert entry.cert_idx is not None
    await _rewrite_leaf(instance, entry.cert_idx, forged, kind=keytrans.Kind.CERT)
    verdict = await keyaudit.audit_log(instance.context.store, instance.context.authority)
    assert not verdict.intact


async def test_a_revoked_key_is_refused_and_its_replay_caught(instance: Instance) -> None:
    _, _bob, client = await _world(instance)
    async with client:
        ring = _ring(instance)
        before = await client.get("/keys/v1/lookup?email=bruno.costa%40isecom.example")
        await ring.verify(client, before)
        async with instance.context.store.transaction() as tx:
            member = await tx.members.by_email(Email.parse("bruno.costa@isecom.example"))
            assert member is not None
            assert await keydir.revoke_by_platform(tx, instance.context.authority, member, instance.clock.now())
        await _checkpoint(instance)
        with pytest.raises(KeyProblem) as revoked:
            await ring.fetch(client, email="bruno.costa@isecom.example")
        assert revoked.value.check == "revoked"
        # The server replays the answer from before the revocation.
        with pytest.raises(KeyProblem) as replay:
            await ring.verify(client, before)
        assert replay.value.check in {"replay", "log"}
    verdict = await keyaudit.audit_log(instance.context.store, instance.context.authority)
    assert verdict.intact, verdict.problem


async def test_a_verified_contact_whose_key_changes_is_blocked(instance: Instance) -> None:
    _, bob, client = await _world(instance)
    async with client:
        ring = _ring(instance)
        ring.mark_verified(await ring.fetch(client, email="bruno.costa@isecom.example"))
        ring.verified[bytes.fromhex(bob.member["id"])] = bytes(32)  # as if Bruno's key had been another
        with pytest.raises(KeyProblem) as changed:
            await ring.fetch(client, email="bruno.costa@isecom.example")
        assert changed.value.check == "changed"


async def test_kt_verify_passes_on_an_honest_log(instance: Instance) -> None:
    _, _, client = await _world(instance)
    await client.close()
    verdict = await keyaudit.audit_log(instance.context.store, instance.context.authority)
    assert verdict.intact, verdict.problem
    assert verdict.leaves == 6 and verdict.checkpoints == 1  # log key, 2 approvals, 1 certificate, 2 statements


# --- helpers -----------------------------------------------------------------------------------


async def _entry(instance: Instance, member_id: str) -> keydir.DirectoryEntry:
    async with instance.context.store.transaction() as tx:
        entry = await tx.keylog.entry(MemberId(member_id))
    assert entry is not None and entry.keys_idx is not None
    return entry


async def _rewrite_leaf(instance: Instance, index: int, obj: bytes, kind: keytrans.Kind = keytrans.Kind.KEYS) -> None:
    async with instance.context.store.transaction() as tx:
        (data,) = await tx.keylog.leaves(index, index + 1)
        old = keytrans.parse_leaf(data)
        new = keytrans.leaf(kind, old.uid, old.logged, obj)
        await tx.keylog._conn.execute(update(t.kt_leaves).where(t.kt_leaves.c.idx == index).values(data=new))  # type: ignore[attr-defined]


async def _leaf_hashes(instance: Instance) -> list[bytes]:
    async with instance.context.store.transaction() as tx:
        size = await tx.keylog.size()
        return [merkle.leaf_hash(d) for d in await tx.keylog.leaves(0, size)]


def _proof_at(leaves: list[bytes], index: int, size: int) -> list[bytes]:
    return merkle.inclusion_proof(index, leaves[:size]) if index < size else []


def test_b64_roundtrip_of_leaves() -> None:
    data = keytrans.leaf(keytrans.Kind.KEYS, bytes(16), 0, b"x")
    assert b64d(b64e(data)) == data


async def test_isecom_kt_verify_command(instance: Instance) -> None:
    _, bob, client = await _world(instance)
    await client.close()
    env = {"ISECOM_SERVER_PUBLIC_URL": instance.cfg.public_url}  # the fixture's port, as served
    ok = await asyncio.to_thread(run_cli, "kt", "verify", data=instance.cfg.data_dir, env=env)
    assert ok.returncode == 0, ok.stderr
    assert "key log intact: 6 leaves, 1 checkpoints" in ok.stdout
    entry = await _entry(instance, bob.member["id"])
    assert entry.keys_idx is not None
    async with instance.context.store.transaction() as tx:
        await tx.keylog._conn.execute(  # type: ignore[attr-defined]
            update(t.kt_nodes).where(t.kt_nodes.c.level == 0, t.kt_nodes.c.idx == entry.keys_idx).values(hash=bytes(32))
        )
    broken = await asyncio.to_thread(run_cli, "kt", "verify", data=instance.cfg.data_dir, env=env)
    assert broken.returncode == 1
    assert f"the stored hash of leaves {entry.keys_idx}–{entry.keys_idx} is wrong" in broken.stdout


async def test_new_keys_after_a_reset_are_a_fresh_approved_statement(instance: Instance) -> None:
    _, bob, client = await _world(instance)
    reset = await admin.reset_keys(
        instance.context.store,
        instance.clock,
        instance.cfg.server_key,
        None,
        MemberId(bob.member["id"]),
        reason="lost laptop and recovery code (fictional)",
        base_url=instance.url,
        authority=instance.context.authority,
    )
    await _checkpoint(instance)
    async with client:
        ring = _ring(instance)
        with pytest.raises(KeyProblem) as revoked:
            await ring.fetch(client, email="bruno.costa@isecom.example")
        assert revoked.value.check == "revoked"
        token = await _activation_token(instance, reset.email)
        async with instance.client() as bob_again:
            again = await bob_again.activate(token, PASSWORD, now=instance.clock.now())
        await _checkpoint(instance)
        verified = await ring.fetch(client, email="bruno.costa@isecom.example")
        assert verified.keys.seqno == 1 and verified.keys.sig_pk == again.identity.sig_pk != bob.identity.sig_pk
    verdict = await keyaudit.audit_log(instance.context.store, instance.context.authority)
    assert verdict.intact, verdict.problem


async def test_revoking_a_membership_revokes_the_key_in_the_log(instance: Instance) -> None:
    _, _, client = await _world(instance)
    await admin.change_membership(
        instance.context.store,
        instance.clock,
        None,
        action="revoke",
        email=Email.parse("bruno.costa@isecom.example"),
        reason="left the agency (fictional)",
        authority=instance.context.authority,
    )
    await _checkpoint(instance)
    async with client:
        with pytest.raises(KeyProblem) as revoked:
            await _ring(instance).fetch(client, email="bruno.costa@isecom.example")
        assert revoked.value.check == "revoked"


async def _activation_token(instance: Instance, email: Email) -> str:
    """The newest activation link mailed to ``email`` (from the outbox, as the member would click it)."""
    from isecom.app import make_mailer

    await make_mailer(instance.context).deliver_due()
    sink = sorted(instance.cfg.mail_sink.glob("*.eml"), key=lambda p: p.stat().st_mtime)
    for path in reversed(sink):
        text = path.read_text(encoding="utf-8")
        if str(email) in text and "/activate#" in text:
            return text.split("/activate#", 1)[1].split()[0]
    raise AssertionError("no activation link was mailed")


async def test_a_member_revokes_their_own_keys(instance: Instance) -> None:
    alice, bob, client = await _world(instance)
    async with client:
        await revocations.revoke(client, alice.member["id"], reason="laptop stolen (fictional)")
        with pytest.raises(ClientError) as again:
            await revocations.revoke(client, alice.member["id"])
        assert again.value.status == 409
        await _checkpoint(instance)
        async with await _signed_in(instance, bob) as bob_client:
            with pytest.raises(KeyProblem) as refused:
                await _ring(instance).fetch(bob_client, email="ana.silva@isecom.example")
            assert refused.value.check == "revoked"
    verdict = await keyaudit.audit_log(instance.context.store, instance.context.authority)
    assert verdict.intact, verdict.problem


async def test_the_ncb_head_of_the_country_revokes_a_members_keys_and_nobody_else_can(instance: Instance) -> None:
    alice, bob, client = await _world(instance)  # Bruno is the NCB head of BR; Ana is in PT
    carla = await _activate(instance, "carla.lima@isecom.example", "Carla Lima", "BR")
    await client.close()
    async with await _signed_in(instance, bob) as head, await _signed_in(instance, alice) as other:
        with pytest.raises(ClientError) as not_yours:
            await revocations.revoke(other, carla.member["id"], reason="not my member")
        assert not_yours.value.status == 404  # not yours looks absent
        with pytest.raises(ClientError) as no_reason:
            await revocations.revoke(head, carla.member["id"])
        assert no_reason.value.status == 400 and no_reason.value.code == "input.invalid"
        await revocations.revoke(head, carla.member["id"], reason="left the service (fictional)")
        await _checkpoint(instance)
        answer = await other.get(f"/keys/v1/members/{carla.member['id']}")
        with pytest.raises(KeyProblem) as refused:
            await _ring(instance).verify(other, answer)
        assert refused.value.check == "revoked"
        # Without the NCB head's certificate, the revocation is not accepted as such: chain.
        entry = await _entry(instance, bob.member["id"])
        answer["entries"] = [e for e in answer["entries"] if e["index"] != entry.cert_idx]
        with pytest.raises(KeyProblem) as broken:
            await _ring(instance).verify(other, answer)
        assert broken.value.check == "chain"
    verdict = await keyaudit.audit_log(instance.context.store, instance.context.authority)
    assert verdict.intact, verdict.problem


def test_every_keyserver_route_is_in_the_openapi_document() -> None:
    import json
    from pathlib import Path

    from keyserver.app import routes

    doc = json.loads((Path(__file__).parents[2] / "keyserver" / "openapi.json").read_text(encoding="utf-8"))
    served = {(route.method.lower(), route.path) for route in routes}  # type: ignore[attr-defined]
    documented = {(method, path) for path, item in doc["paths"].items() for method in item}
    assert served == documented

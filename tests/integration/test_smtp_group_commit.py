"""Inbound SMTP storing goes through the group commit: concurrent deliveries share one commit,
each is answered only from that commit, and a refused one is refused alone (nothing of it stored)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from isecom.crypto import envelope, payload
from isecom.crypto.encoding import b64e
from isecom.errors import Conflict
from isecom.services import inbound, keydir, mailbox
from isecom.types import Email, MemberId
from storage.store import SqlStore
from tests.integration.conftest import Instance, signed_in_member
from tests.smtpgateway import FR_SENDER

MEMBER = "camille.roux@isecom.example"
N = 6


def _message(n: int) -> bytes:
    return (
        f"From: <{FR_SENDER}>\r\nTo: <{MEMBER}>\r\nSubject: Grouped message {n} (fictional)\r\n"
        f"Message-ID: <grouped.{n}@police.example>\r\n\r\nFictional text {n}.\r\n"
    ).encode()


@pytest.fixture
def batches_of(instance: Instance) -> Iterator[SqlStore]:
    """The store with its group commit closing a batch only when it holds ``N`` items (no timing)."""
    store = instance.context.store
    assert isinstance(store, SqlStore)
    wait, size = store.group.max_wait, store.group.max_batch
    store.group.max_wait, store.group.max_batch = 30.0, N
    try:
        yield store
    finally:
        store.group.max_wait, store.group.max_batch = wait, size


async def _stored(store: SqlStore, member: MemberId) -> list[str]:
    async with store.read() as tx:
        return [e.msg_id for e in await tx.mail.page(member, "inbox", None, 100)]


async def test_concurrent_deliveries_share_one_commit_and_all_arrive(instance: Instance, batches_of: SqlStore) -> None:
    client = await signed_in_member(instance, MEMBER, name="Camille Roux", country="FR", agency="Demo ARO", roles=[])
    await client.close()
    store, context = batches_of, instance.context
    sender = inbound.Sender(Email.parse(FR_SENDER), frozenset({"FR"}))
    before = (store.group.batches, store.group.items)
    sent = await asyncio.gather(
        *(
            inbound.deliver(store, instance.clock, context.gateway, sender, [Email.parse(MEMBER)], _message(n))
            for n in range(N)
        )
    )
    assert (store.group.batches - before[0], store.group.items - before[1]) == (1, N)
    assert len({s.msg_id for s in sent}) == N and all(s.created for s in sent)
    (member,) = {r for s in sent for r in s.recipients}
    assert sorted(await _stored(store, member)) == sorted(s.msg_id for s in sent)


async def test_a_taken_id_in_a_batch_is_refused_alone(instance: Instance, batches_of: SqlStore) -> None:
    client = await signed_in_member(instance, MEMBER, name="Camille Roux", country="FR", agency="Demo ARO", roles=[])
    await client.close()
    store, context = batches_of, instance.context
    async with store.read() as tx:
        found = await tx.members.by_email(Email.parse(MEMBER))
        assert found is not None
        current = await keydir.current_statement(tx, found.id)
    assert current is not None
    recipient = envelope.Recipient(bytes.fromhex(found.id.value), current[1].enc_pk)

    def sealed(n: int) -> bytes:
        body = payload.build(
            {
                "v": 1,
                "type": "smtp",
                "smtp_from": FR_SENDER,
                "smtp_to": [MEMBER],
                "received": "2026-01-01T00:00:00.000000Z",
                "raw": b64e(_message(n)),
            }
        )
        return envelope.seal_smtp(context.gateway, [recipient], body, created_ms=1)

    twice = sealed(0)
    others = [sealed(n) for n in range(1, N - 1)]
    outcomes = await asyncio.gather(
        *(mailbox.store_smtp(store, instance.clock, e) for e in [twice, twice, *others]), return_exceptions=True
    )
    refused = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(refused) == 1 and isinstance(refused[0], Conflict)
    stored = [o for o in outcomes if isinstance(o, mailbox.Sent)]
    assert len(stored) == N - 1
    assert sorted(await _stored(store, found.id)) == sorted(s.msg_id for s in stored)

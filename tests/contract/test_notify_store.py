"""The notice settings repository on SQLite and PostgreSQL: upsert, the waiting mark, what is due."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from isecom.services.notify_ports import NotifySettings
from isecom.types import Email
from storage.store import SqlStore
from tests.conftest import FakeClock
from tests.contract.test_repositories import a_member


async def test_waiting_marks_and_due_rows(store: SqlStore, clock: FakeClock) -> None:
    now = clock.now()
    people = [a_member(clock, f"member{i}@isecom.example") for i in range(4)]
    outside = Email.parse("someone@mail.example.org")
    async with store.transaction() as tx:
        for person in people:
            await tx.members.add(person)
        immediate, digest, off, unconfirmed = (p.id for p in people)
        await tx.notify.save(NotifySettings(immediate, "immediate", outside), now)
        await tx.notify.save(NotifySettings(digest, "digest", outside, last_sent_at=now - timedelta(days=1)), now)
        await tx.notify.save(NotifySettings(off, "off", outside), now)
        await tx.notify.save(NotifySettings(unconfirmed, "off", pending_address=outside, pending_token=bytes(32)), now)
    async with store.transaction() as tx:
        await tx.notify.mark_pending([p.id for p in people], now)
        await tx.notify.mark_pending([immediate], now + timedelta(minutes=1))  # an earlier wait is kept
    async with store.read() as tx:
        found = {s.member_id: s for s in await tx.notify.due(now, now + timedelta(seconds=1), 10)}
        assert set(found) == {immediate, digest}
        assert found[immediate].pending_since == now and found[immediate].address == outside
        assert await tx.notify.due(now, now, 10) == [found[immediate]]  # the digest waits since `now`
        stored = await tx.notify.get(unconfirmed)
        assert stored is not None and stored.pending_since is None and stored.pending_token == bytes(32)
        assert await tx.notify.get(a_member(clock).id) is None
    async with store.transaction() as tx:
        await tx.notify.save(replace(found[immediate], pending_since=None, last_sent_at=now), now)
        await tx.notify.mark_pending([immediate], now + timedelta(minutes=5))
    async with store.read() as tx:
        # Sent at `now`: due again only once the interval (here: before now + 10 min) has passed.
        assert immediate not in {s.member_id for s in await tx.notify.due(now - timedelta(minutes=10), now, 10)}
        assert immediate in {s.member_id for s in await tx.notify.due(now, now, 10)}

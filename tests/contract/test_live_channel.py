"""Live updates across processes: the PostgreSQL LISTEN/NOTIFY channel behind the hub.

Two channels with hubs of their own stand for two ``isecom serve`` processes on one database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import asyncpg
import pytest

from isecom.services import live
from isecom.types import MemberId
from storage import live_pg
from tests.conftest import pg_schema, postgres_url

A, B = MemberId("a" * 32), MemberId("b" * 32)


def test_a_notification_carries_ids_and_the_event_kind_only() -> None:
    event = {"type": "mail", "id": "c" * 32, "folder": "inbox", "subject": "never relayed", "size": 9}
    [payload] = live_pg.encode("origin", [A, B], event)
    assert json.loads(payload) == {
        "o": "origin",
        "m": [A.value, B.value],
        "e": {"type": "mail", "id": "c" * 32, "folder": "inbox"},
    }
    assert live_pg.decode(payload) == ("origin", [A, B], {"type": "mail", "id": "c" * 32, "folder": "inbox"})


def test_many_recipients_are_split_under_the_payload_limit() -> None:
    members = [MemberId(f"{n:032x}") for n in range(250)]
    payloads = live_pg.encode("o", members, {"type": "mail", "id": "d" * 32, "folder": "inbox"})
    assert len(payloads) == 3
    assert all(len(p.encode()) < 8000 for p in payloads)
    assert [m for p in payloads for m in json.loads(p)["m"]] == [m.value for m in members]


@pytest.mark.parametrize(
    "payload",
    ["", "[]", "{}", '{"o": "x", "m": ["not an id"], "e": {"type": "mail"}}', '{"o": "x", "m": [], "e": {}}'],
)
def test_malformed_notifications_are_dropped(payload: str) -> None:
    assert live_pg.decode(payload) is None


def test_a_schema_gets_a_channel_of_its_own() -> None:
    dsn, settings, channel = live_pg.connect_args("postgresql+asyncpg://u:pw@127.0.0.1:5432/db?schema=t_1")
    assert dsn == "postgresql://u:pw@127.0.0.1:5432/db"
    assert settings == {"search_path": "t_1"}
    assert channel == "isecom_live_t_1"
    assert live_pg.connect_args("postgresql+asyncpg://u@h/db")[2] == "isecom_live"


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    base = postgres_url()
    if not base:
        pytest.skip("PostgreSQL tests need ISECOM_TEST_DATABASE_URL (CI sets it; see README)")
    async with pg_schema(base) as url:
        yield url


async def next_event(stream: object) -> object:
    return await asyncio.wait_for(anext(stream), timeout=10)  # type: ignore[call-overload]


async def subscribed(*hubs_and_counts: tuple[live.Hub, int]) -> None:
    """Let the waiting readers register (a bounded number of turns of the loop)."""
    for _ in range(500):
        if all(hub.connections() == n for hub, n in hubs_and_counts):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the readers never subscribed")


@pytest.mark.postgres
async def test_an_event_published_in_one_process_reaches_the_member_in_another(pg_url: str) -> None:
    hub_1, hub_2 = live.Hub(), live.Hub()
    one, two = live_pg.LiveChannel(pg_url, hub_1), live_pg.LiveChannel(pg_url, hub_2)
    await one.start()
    await two.start()
    try:
        here, there, other = hub_1.subscribe(A), hub_2.subscribe(A), hub_2.subscribe(B)
        waiting_here = asyncio.ensure_future(next_event(here))
        waiting_there = asyncio.ensure_future(next_event(there))
        waiting_other = asyncio.ensure_future(next_event(other))
        await subscribed((hub_1, 1), (hub_2, 2))
        hub_1.publish([A], {"type": "mail", "id": "e" * 32, "folder": "inbox"})
        assert await waiting_here == {"type": "mail", "id": "e" * 32, "folder": "inbox"}
        assert await waiting_there == {"type": "mail", "id": "e" * 32, "folder": "inbox"}
        await one.drain()
        # The publisher does not get its own event twice, and B (not a recipient) got nothing.
        again = asyncio.ensure_future(next_event(here))
        hub_2.publish([A], {"type": "mail", "id": "f" * 32, "folder": "sent"})
        assert await again == {"type": "mail", "id": "f" * 32, "folder": "sent"}
        assert not waiting_other.done()
        waiting_other.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiting_other
        for stream in (here, there, other):
            await stream.aclose()
    finally:
        await one.close()
        await two.close()
    assert hub_1.relay is None and hub_2.relay is None


@pytest.mark.postgres
async def test_instances_in_other_schemas_hear_nothing(pg_url: str) -> None:
    base = postgres_url()
    assert base
    async with pg_schema(base) as elsewhere:
        hub_1, hub_2 = live.Hub(), live.Hub()
        one, two = live_pg.LiveChannel(pg_url, hub_1), live_pg.LiveChannel(elsewhere, hub_2)
        await one.start()
        await two.start()
        try:
            there = hub_2.subscribe(A)
            waiting = asyncio.ensure_future(next_event(there))
            await subscribed((hub_2, 1))
            hub_1.publish([A], {"type": "mail", "id": "e" * 32, "folder": "inbox"})
            await one.drain()
            # A marker through the second channel arrives; the first event never did.
            hub_2_peer = live.Hub()
            three = live_pg.LiveChannel(elsewhere, hub_2_peer)
            await three.start()
            hub_2_peer.publish([A], {"type": "marker"})
            assert await waiting == {"type": "marker"}
            await three.close()
            await there.aclose()
        finally:
            await one.close()
            await two.close()


@pytest.mark.postgres
async def test_an_unreachable_database_stops_the_start_clearly() -> None:
    channel = live_pg.LiveChannel("postgresql+asyncpg://nobody@127.0.0.1:1/none", live.Hub())
    with pytest.raises(OSError):
        await channel.start()


@pytest.mark.postgres
async def test_a_lost_listening_connection_comes_back_and_connected_browsers_reload(pg_url: str) -> None:
    hub, other_hub = live.Hub(), live.Hub()
    channel = live_pg.LiveChannel(pg_url, hub)
    await channel.start()
    dsn, _settings, name = live_pg.connect_args(pg_url)
    admin = await asyncpg.connect(dsn)
    try:
        listening = await admin.fetch(
            "SELECT pid FROM pg_stat_activity WHERE query = $1 AND pid <> pg_backend_pid()", f'LISTEN "{name}"'
        )
        assert len(listening) == 1
        other = live_pg.LiveChannel(pg_url, other_hub)
        await other.start()
        stream = hub.subscribe(A)
        waiting = asyncio.ensure_future(next_event(stream))
        await subscribed((hub, 1))
        await admin.execute("SELECT pg_terminate_backend($1)", listening[0]["pid"])
        assert await waiting is None  # re-opened: this browser reloads, it may have missed events
        again = hub.subscribe(A)
        arrived = asyncio.ensure_future(next_event(again))
        await subscribed((hub, 1))
        other_hub.publish([A], {"type": "mail", "id": "e" * 32, "folder": "inbox"})
        assert await arrived == {"type": "mail", "id": "e" * 32, "folder": "inbox"}
        await stream.aclose()
        await again.aclose()
        await other.close()
    finally:
        await admin.close()
        await channel.close()

"""The live-update hub: events reach only the member's connections, slow readers are cut off."""

from __future__ import annotations

import asyncio
import contextlib

from isecom.services import live
from isecom.types import MemberId

A, B = MemberId("a" * 32), MemberId("b" * 32)


async def test_events_go_to_the_members_connections_only_and_leave_no_subscription() -> None:
    hub = live.Hub()
    stream_a, stream_b = hub.subscribe(A), hub.subscribe(B)
    pending_a = asyncio.ensure_future(anext(stream_a))
    pending_b = asyncio.ensure_future(anext(stream_b))
    await asyncio.sleep(0)
    assert hub.connections() == 2
    hub.publish([A], {"type": "mail", "id": "1"})
    assert await pending_a == {"type": "mail", "id": "1"}
    await asyncio.sleep(0)
    assert not pending_b.done()
    pending_b.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await pending_b
    await stream_a.aclose()
    await stream_b.aclose()
    assert hub.connections() == 0


async def test_a_reader_that_falls_behind_is_told_to_reload() -> None:
    hub = live.Hub()
    stream = hub.subscribe(A)
    first = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)
    hub.publish([A], {"n": 0})
    assert await first == {"n": 0}
    for n in range(live.QUEUE + 5):  # nobody reads
        hub.publish([A], {"n": n})
    received = [event async for event in stream]
    assert received == [None]  # what it missed is gone; it reloads
    assert hub.connections() == 0

"""Live updates for connected members: "something changed in your mailbox", nothing more.

Events carry no content, only what the member's own client needs to refresh: the
kind of change and the message id. This is the in-process hub (one process, the
default). With several processes on one PostgreSQL database, the composition root
sets ``relay`` to a LISTEN/NOTIFY channel (``storage/live_pg.py``): ``publish``
delivers here and hands the event to the relay, and the channel calls ``deliver``
in every other process.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import Any

from isecom.types import MemberId

QUEUE = 256  # events waiting per connection before the slowest reader is cut off


@dataclass
class Hub:
    _subscribers: dict[str, set[asyncio.Queue[dict[str, Any] | None]]] = field(default_factory=dict)
    # Hands every published event to the other processes (None: this process is alone).
    relay: Callable[[list[MemberId], dict[str, Any]], None] | None = None

    def publish(self, member_ids: list[MemberId], event: dict[str, Any]) -> None:
        """Tell the members' connections, here and (through ``relay``) in every other process."""
        self.deliver(member_ids, event)
        if self.relay is not None:
            self.relay(member_ids, event)

    def deliver(self, member_ids: list[MemberId], event: dict[str, Any]) -> None:
        """Tell the members' connections to this process only."""
        for member_id in member_ids:
            for queue in list(self._subscribers.get(member_id.value, ())):
                try:
                    queue.put_nowait(event)
                except asyncio.QueueFull:
                    # A reader that stopped reading is told to reload instead of holding memory:
                    # what it missed is dropped, and "reload" is the one thing left for it.
                    self._drop(member_id.value, queue)
                    while not queue.empty():
                        queue.get_nowait()
                    queue.put_nowait(None)

    async def subscribe(self, member_id: MemberId) -> AsyncGenerator[dict[str, Any] | None, None]:
        """Events for ``member_id`` until the caller stops; ``None`` means "reload everything"."""
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(QUEUE)
        self._subscribers.setdefault(member_id.value, set()).add(queue)
        try:
            while True:
                event = await queue.get()
                yield event
                if event is None:
                    return
        finally:
            self._drop(member_id.value, queue)

    def reload_all(self) -> None:
        """Every connection here reloads (events from other processes may have been missed)."""
        for member_id, queues in list(self._subscribers.items()):
            for queue in list(queues):
                self._drop(member_id, queue)
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(None)

    def connections(self) -> int:
        return sum(len(s) for s in self._subscribers.values())

    def _drop(self, member_id: str, queue: asyncio.Queue[dict[str, Any] | None]) -> None:
        found = self._subscribers.get(member_id)
        if found is not None:
            found.discard(queue)
            if not found:
                del self._subscribers[member_id]

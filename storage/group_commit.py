"""Group commit: many small write transactions committed together, each still acknowledged only
after the commit that holds it.

A durable commit costs one fsync (SQLite ``synchronous=FULL``, PostgreSQL's WAL flush) — about
10 ms on our disks — so one transaction per send caps a server at ~100 sends/s whatever the CPU.
Callers hand an item and a *handler* to ``GroupCommit.run``; one writer task takes the items queued
so far (at most ``max_batch``, waiting at most ``max_wait`` seconds for more once the first arrived),
gives each handler its items in one transaction — so it can write them with a few bulk statements —
commits once, and then resolves every caller with its own outcome: a result, or the exception the
handler reported for that item alone (a handler validates each item before writing any of it).

If a handler raises instead, or the commit fails, the batch is rolled back and each of its items is
tried again alone, in a transaction of its own: one bad item never fails the others, and nobody is
ever told "done" for a write that is not durable.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

I = TypeVar("I")  # noqa: E741 - the item type
R = TypeVar("R")
# Writes ``items`` in ``tx``; one outcome per item, in order: its result or the exception for it.
Handler = Callable[[Any, Sequence[Any]], Awaitable[Sequence[Any]]]
Begin = Callable[[], AbstractAsyncContextManager[Any]]
# Runs a batch's transaction somewhere (storage/writer_loop.py: on a loop of its own).
RunIn = Callable[[Callable[[], Awaitable[list[Any]]]], Awaitable[list[Any]]]
_Entry = tuple[Handler, Any, "asyncio.Future[Any]"]


class GroupCommit:
    def __init__(
        self, begin: Begin, *, max_batch: int = 64, max_wait: float = 0.002, run_in: RunIn | None = None
    ) -> None:
        self._begin = begin
        self._run_in = run_in
        self.max_batch = max_batch
        self.max_wait = max_wait
        self._queue: list[_Entry] = []
        self._full: asyncio.Future[None] | None = None  # set when a full batch is waiting
        self._writer: asyncio.Task[None] | None = None
        self.batches = 0  # commits made (for benchmarks and tests)
        self.items = 0  # items committed in them

    async def run(self, handler: Callable[[Any, Sequence[I]], Awaitable[Sequence[R | Exception]]], item: I) -> R:
        """Write ``item`` with ``handler`` in the next batch; its result once that batch is committed."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((handler, item, future))
        if len(self._queue) >= self.max_batch and self._full is not None and not self._full.done():
            self._full.set_result(None)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain(), name="group-commit")
        # A caller that goes away does not stop the batch: its write is committed (or not) with
        # the others, and a retry of the same request is answered from what was stored.
        return await asyncio.shield(future)

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._queue:
            if len(self._queue) < self.max_batch and self.max_wait > 0:
                self._full = loop.create_future()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full, self.max_wait)
                self._full = None
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            try:
                await self._commit(batch)
            except Exception:
                for entry in batch:  # alone, so that one bad item cannot fail the others
                    try:
                        await self._commit([entry])
                    except Exception as exc:
                        _settle(entry[2], False, exc)
            except BaseException as exc:
                for _, _, future in batch:
                    _settle(future, False, asyncio.CancelledError() if not isinstance(exc, Exception) else exc)
                raise

    async def _commit(self, batch: list[_Entry]) -> None:
        work = [(handler, item) for handler, item, _ in batch]
        outcomes = await (self._run_in(lambda: self._write(work)) if self._run_in else self._write(work))
        self.batches += 1
        self.items += len(batch)
        for (_, _, future), outcome in zip(batch, outcomes, strict=True):
            _settle(future, not isinstance(outcome, Exception), outcome)

    async def _write(self, work: list[tuple[Handler, Any]]) -> list[Any]:
        """The batch's transaction: each handler with its items; one outcome per item, in order.
        Touches no future: it may run on another loop (``run_in``)."""
        outcomes: list[Any] = [None] * len(work)
        groups: dict[Handler, list[int]] = {}
        for at, (handler, _) in enumerate(work):
            groups.setdefault(handler, []).append(at)
        async with self._begin() as tx:
            for handler, positions in groups.items():
                results = await handler(tx, [work[at][1] for at in positions])
                if len(results) != len(positions):
                    raise RuntimeError("a group-commit handler must give one outcome per item")
                for at, result in zip(positions, results, strict=True):
                    outcomes[at] = result
        return outcomes

    async def close(self) -> None:
        """Finish what is queued, then stop."""
        if self._writer is not None and not self._writer.done():
            await self._writer


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.done():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)

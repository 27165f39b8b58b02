"""Live updates across processes: PostgreSQL LISTEN/NOTIFY behind the in-process hub.

Every ``isecom serve`` process on one PostgreSQL database listens on one channel. When a
process publishes an event (``Hub.publish``: a send committed through the API, a mail
accepted by the SMTP gateway), it delivers it to its own connections and hands it to
``LiveChannel.send``, which NOTIFYs the channel; every other process ``deliver``s it to
its connections. A notification carries no content: the sending process's random id, the
member ids and the event (its kind, the message id and the folder), the same fields the
server-sent event already carries, as JSON well under PostgreSQL's 8000-byte limit.

Two dedicated asyncpg connections per process (one listens, one notifies), outside the
SQLAlchemy pool. A lost listening connection is re-opened after a pause, and every local
connection is told to reload, because events may have been missed meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from typing import Any

import asyncpg
from sqlalchemy import make_url

from isecom.services.live import Hub
from isecom.types import MemberId

log = logging.getLogger("isecom.live")

CHANNEL = "isecom_live"
EVENT_KEYS = ("type", "id", "folder")  # everything an event may carry (no content)
MEMBERS_PER_NOTIFY = 100  # 100 ids of 32 hex digits: ~3.6 KB, well under 8000 bytes
BACKLOG = 10_000  # notifications waiting to be sent before new ones are dropped (and logged)
RETRY_SECONDS = 1.0


def connect_args(url: str) -> tuple[str, dict[str, str], str]:
    """asyncpg's DSN, server settings and channel name for a SQLAlchemy PostgreSQL URL.

    A URL with ``?schema=NAME`` (``storage/db.py``) gets a channel of its own, so
    instances that share a database but not a schema never see each other's events.
    """
    parsed = make_url(url)
    schema = parsed.query.get("schema")
    settings: dict[str, str] = {}
    channel = CHANNEL
    if isinstance(schema, str):
        settings["search_path"] = schema
        channel = f"{CHANNEL}_{schema}"[:63]
    dsn = parsed.set(drivername="postgresql").difference_update_query(["schema"])
    return dsn.render_as_string(hide_password=False), settings, channel


def encode(origin: str, member_ids: list[MemberId], event: dict[str, Any]) -> list[str]:
    """The NOTIFY payloads for one event (one per group of members)."""
    kept = {key: event[key] for key in EVENT_KEYS if isinstance(event.get(key), str)}
    ids = [m.value for m in member_ids]
    return [
        json.dumps({"o": origin, "m": ids[i : i + MEMBERS_PER_NOTIFY], "e": kept}, separators=(",", ":"))
        for i in range(0, len(ids), MEMBERS_PER_NOTIFY)
    ]


def decode(payload: str) -> tuple[str, list[MemberId], dict[str, Any]] | None:
    """Origin, members and event of a payload; None for anything malformed."""
    try:
        value = json.loads(payload)
        origin, raw_ids, raw_event = value["o"], value["m"], value["e"]
        members = [MemberId.parse(item) for item in raw_ids]
    except Exception:  # a bad payload is dropped, never raised into asyncpg
        return None
    if not isinstance(origin, str) or not isinstance(raw_event, dict):
        return None
    event = {key: raw_event[key] for key in EVENT_KEYS if isinstance(raw_event.get(key), str)}
    return (origin, members, event) if "type" in event else None


class LiveChannel:
    """Feeds ``hub`` from, and relays its events to, every process on the same database."""

    def __init__(self, url: str, hub: Hub) -> None:
        self.dsn, self.settings, self.channel = connect_args(url)
        self.hub = hub
        self.origin = secrets.token_hex(8)
        self._outgoing: asyncio.Queue[str] = asyncio.Queue(BACKLOG)
        self._tasks: list[asyncio.Task[None]] = []
        self._listening = asyncio.Event()

    async def start(self) -> None:
        """Listen before returning (a process that serves must not miss what follows)."""
        self._tasks = [
            asyncio.create_task(self._listen(), name="live-listen"),
            asyncio.create_task(self._notify(), name="live-notify"),
        ]
        listening = asyncio.create_task(self._listening.wait())
        done, _ = await asyncio.wait([listening, self._tasks[0]], return_when=asyncio.FIRST_COMPLETED)
        if listening not in done:
            listening.cancel()
            await self.close()
            self._tasks[0].result()  # raise what stopped the listener
        self.hub.relay = self.send

    def send(self, member_ids: list[MemberId], event: dict[str, Any]) -> None:
        """Queue the NOTIFYs for an event (the hub's ``relay``; never blocks the caller)."""
        for payload in encode(self.origin, member_ids, event):
            try:
                self._outgoing.put_nowait(payload)
            except asyncio.QueueFull:
                log.warning("live update not relayed: too many waiting", extra={"waiting": BACKLOG})

    async def close(self) -> None:
        self.hub.relay = None
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def drain(self) -> None:
        """Wait until every queued notification was sent (tests and shutdown)."""
        await self._outgoing.join()

    async def _connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.dsn, server_settings=self.settings)

    def _received(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        found = decode(payload)
        if found is None:
            log.warning("malformed live notification dropped")
            return
        origin, members, event = found
        if origin != self.origin:  # our own events were delivered when published
            self.hub.deliver(members, event)

    async def _listen(self) -> None:
        first = True
        while True:
            lost = asyncio.Event()
            try:
                conn = await self._connect()
            except (OSError, asyncpg.PostgresError):
                if first:
                    raise
                await asyncio.sleep(RETRY_SECONDS)
                continue
            try:
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                await conn.add_listener(self.channel, self._received)
                if not first:
                    log.warning("live updates channel re-opened; connected browsers reload")
                    self.hub.reload_all()
                first = False
                self._listening.set()
                await lost.wait()
                log.warning("live updates channel lost; re-opening")
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.shield(conn.close(timeout=2))
            await asyncio.sleep(RETRY_SECONDS)

    async def _notify(self) -> None:
        conn: asyncpg.Connection | None = None
        try:
            while True:
                payload = await self._outgoing.get()
                for _attempt in range(3):
                    try:
                        if conn is None or conn.is_closed():
                            conn = await self._connect()
                        await conn.execute("SELECT pg_notify($1, $2)", self.channel, payload)
                        break
                    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                        conn = None
                        await asyncio.sleep(RETRY_SECONDS)
                else:
                    log.warning("live update not relayed: database unreachable")
                self._outgoing.task_done()
        finally:
            if conn is not None:
                with contextlib.suppress(Exception):
                    await asyncio.shield(conn.close(timeout=2))

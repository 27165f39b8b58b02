"""Sending and inbox paging on the server: sends/s with p50/p99, inbox first page p95 at 1,000 and 100,000.

One run, on loopback, bounded in count and time:
  * a fresh instance (SQLite in a temporary folder, or ISECOM_BENCH_DATABASE_URL) served in this
    process by the real aiohttp application on 127.0.0.1;
  * SENDERS + 3 members activated through the API with the Python client; each sender signs in once;
  * envelopes sealed beforehand with ``isecom.crypto.envelope.seal`` (≈ 4 KiB, to the 3 recipients
    and the sender's own copy), so the client's crypto is not timed;
  * the load comes from a second process (bench/mail/load.py), SENDERS connections, one request at a
    time each: first an aiohttp hello-world on 127.0.0.1 fed the same bodies, then
    POST /api/v1/messages — at most SENDS requests or SECONDS each;
  * one member's inbox filled to 1,000 and then 100,000 messages by bulk SQL inserts (SQLAlchemy Core
    on the store's engine, batches of BATCH rows: a real 4 KiB envelope row per message, a mailbox
    row each, 2 % unread), then GET /api/v1/mailbox/inbox?limit=50 from one connection, PAGES
    requests or PAGE_SECONDS at each size, timed inside the server and by the client.

    .venv/bin/python bench/mail/run.py      # ISECOM_BENCH_DATABASE_URL=postgresql+asyncpg://…?schema=… for PostgreSQL
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from aiohttp import web
from sqlalchemy import func, insert, select

from isecom import app as composition
from isecom import config, instance
from isecom.auth import two_factor
from isecom.client import Client
from isecom.context import Context
from isecom.crypto import envelope, keys, payload
from isecom.crypto.encoding import b64e
from isecom.services import files, mailbox, members, sessions
from isecom.types import MemberId
from storage import tables as t
from storage.blobs import FileBlobStore
from storage.db import make_engine
from storage.store import SqlStore
from tests.conftest import FakeClock, free_port

SENDERS = 64  # concurrent clients, one member each
SENDS = 20_000
SECONDS = 30.0
WARMUP = 2  # requests per client before the timing starts
ENVELOPE_BYTES = 4096  # aimed at; Padmé buckets decide the exact size
SIZES = (1_000, 100_000)
PAGES = 2_000
PAGE_SECONDS = 15.0
BATCH = 10_000
SPLIT = 500  # sequential service calls for the split
UNREAD_EVERY = 50
PASSWORD = "a fictional benchmark passphrase"
DATABASE_URL = os.environ.get("ISECOM_BENCH_DATABASE_URL", "")
LOAD = Path(__file__).with_name("load.py")


@dataclass
class Account:
    email: str
    identity: keys.Identity
    headers: dict[str, str]  # session cookie, Origin and CSRF token of its signed-in session


class ServerTimer:
    """An outermost middleware: how long the application took for each request to ``path``."""

    def __init__(self) -> None:
        self.path = ""
        self.times: list[float] = []

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        t0 = time.perf_counter()
        try:
            return await handler(request)
        finally:
            if request.path == self.path:
                self.times.append(time.perf_counter() - t0)

    def start(self, path: str) -> None:
        self.path, self.times = path, []


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


async def load(spec: dict[str, Any], folder: Path) -> dict[str, Any]:
    path = folder / "spec.json"
    path.write_text(json.dumps(spec))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    child = await asyncio.create_subprocess_exec(sys.executable, str(LOAD), str(path), stdout=asyncio.subprocess.PIPE)
    out, _ = await child.communicate()
    if child.returncode != 0:
        raise RuntimeError("the load generator failed")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result: dict[str, Any] = json.loads(out)
    result["cpu"] = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime  # the generator's CPU s
    return result


async def make_member(store: SqlStore, clock: FakeClock, cfg: config.Config, i: int, role: str) -> tuple[str, Any]:
    email = f"{role}{i:03d}.{os.getpid()}@isecom.example"
    new = members.NewMember.parse(email=email, name=f"Bench {role} {i}", country="FR", agency="Bench", roles=[])
    invitation = await members.create_member(store, clock, cfg.server_key, new, actor=None)
    async with Client(cfg.public_url) as client:
        done = await client.activate(invitation.activation_token, PASSWORD, now=clock.now())
    return email, done


async def sign_in(cfg: config.Config, clock: FakeClock, email: str, secret: str) -> dict[str, str]:
    async with Client(cfg.public_url) as client:
        await client.sign_in(email, PASSWORD, two_factor.code_at(secret, clock.now()))
        cookies = "; ".join(f"{k}={v}" for k, v in client.session_cookies().items())
        assert client.csrf_token is not None
        return {
            "Cookie": cookies,
            "Origin": client.origin,
            "X-CSRF-Token": client.csrf_token,
            "Content-Type": "application/json",
            "Accept": "application/json",
        }


def mail_payload(sender: Account, recipients: list[Account], body: str) -> bytes:
    def party(a: Account) -> dict[str, str]:
        return {"uid": a.identity.uid.hex(), "name": "Bench", "email": a.email}

    return payload.build(
        {
            "v": 1,
            "type": "mail",
            "from": party(sender),
            "to": [party(r) for r in recipients[:1]],
            "cc": [party(r) for r in recipients[1:]],
            "subject": "Benchmark message (fictional)",
            "body": body,
            "date": "2026-11-28T09:00:00Z",
            "in_reply_to": None,
            "references": [],
            "handling": "H1",
            "attachments": [],
            "forwarded": [],
        }
    )


def seal_all(senders: list[Account], recipients: list[Account], per_sender: int, bodies: Path) -> int:
    """Seal ``per_sender`` envelopes for each sender into ``bodies``; the size of one envelope."""
    wanted = ENVELOPE_BYTES - (envelope.FIXED + envelope.ENTRY * 4 + envelope.TAIL + 4 + 64 + 16)
    base = len(mail_payload(senders[0], recipients, ""))
    text = b64e(os.urandom(wanted))[: max(0, wanted - base - 128)]  # stays in the bucket below the aim
    to = [envelope.Recipient(r.identity.uid, r.identity.current.pk) for r in recipients]
    size = 0
    with bodies.open("wb") as out:
        for i, sender in enumerate(senders):
            body = mail_payload(sender, recipients, text)
            for _ in range(per_sender):
                sealed = envelope.seal(sender.identity, to, body, created_ms=int(time.time() * 1000))
                size = len(sealed)
                out.write(f"{i}\t".encode() + json.dumps({"envelope": b64e(sealed), "files": []}).encode() + b"\n")
    return size


async def hello_world(port: int) -> web.AppRunner:
    async def hello(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"hello": "world"}, status=201)

    app = web.Application()
    app.router.add_post("/hello", hello)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def fill(
    store: SqlStore, owner: str, sender: str, envelope_bytes: bytes, start: int, stop: int, when: Any
) -> None:
    """Bulk SQL: messages ``start``..``stop`` into ``owner``'s inbox (no service call, no per-row commit)."""
    for lo in range(start, stop, BATCH):
        hi = min(stop, lo + BATCH)
        ids = [f"{owner[:8]}{n:024x}" for n in range(lo, hi)]
        async with store.engine.begin() as conn:
            await conn.execute(
                insert(t.messages),
                [
                    {
                        "id": i,
                        "sender_id": sender,
                        "origin": "web",
                        "size": len(envelope_bytes),
                        "envelope": envelope_bytes,
                        "created_at": when + timedelta(seconds=n),
                    }
                    for n, i in zip(range(lo, hi), ids, strict=True)
                ],
            )
            await conn.execute(
                insert(t.mailbox),
                [
                    {
                        "member_id": owner,
                        "msg_id": i,
                        "folder": "inbox",
                        "unread": int(n % UNREAD_EVERY == 0),
                        "starred": 0,
                        "thread": None,
                        "received_at": when + timedelta(seconds=n),
                    }
                    for n, i in zip(range(lo, hi), ids, strict=True)
                ],
            )


async def storage_split(store: SqlStore, owner: str) -> tuple[float, float]:
    """p95 of the two queries behind a page, called directly (no HTTP, no session check)."""
    member = MemberId(owner)
    page_t: list[float] = []
    count_t: list[float] = []
    for _ in range(200):
        async with store.read() as tx:
            t0 = time.perf_counter()
            await tx.mail.page(member, "inbox", None, 50)
            t1 = time.perf_counter()
            await tx.mail.unread_counts(member)
            count_t.append(time.perf_counter() - t1)
            page_t.append(t1 - t0)
    return pct(page_t, 0.95), pct(count_t, 0.95)


async def service_split(
    store: SqlStore, clock: FakeClock, cfg: config.Config, sender: Account, recipients: list[Account]
) -> tuple[float, float, float, float, float]:
    """One at a time, no HTTP: ms per ``sessions.authenticate`` and per ``mailbox.send``, and sends/s."""
    to = [envelope.Recipient(r.identity.uid, r.identity.current.pk) for r in recipients]
    body = mail_payload(sender, recipients, "x" * 3000)
    sealed = [envelope.seal(sender.identity, to, body, created_ms=0) for _ in range(SPLIT)]
    cookie = sender.headers["Cookie"].split("=", 1)[1].split(";")[0]
    limits = sessions.Limits(idle=cfg.session_idle, absolute=cfg.session_absolute)
    t0, c0 = time.perf_counter(), time.thread_time()
    for _ in range(SPLIT):
        current = await sessions.authenticate(store, clock, cfg.server_key, cookie, limits)
    auth_ms = (time.perf_counter() - t0) / SPLIT * 1000
    auth_cpu = (time.thread_time() - c0) / SPLIT * 1000
    t1, c1 = time.perf_counter(), time.thread_time()
    for data in sealed:
        await mailbox.send(store, clock, current.member, data, max_bytes=cfg.max_request_bytes, grant=files.grant)
    send_s = (time.perf_counter() - t1) / SPLIT
    send_cpu = (time.thread_time() - c1) / SPLIT * 1000
    return auth_ms, send_s * 1000, 1 / send_s, auth_cpu, send_cpu


async def main() -> None:
    total_started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data = folder / "data"
        instance.create(data)
        port, hello_port = free_port(), free_port()
        cfg = replace(config.load(data, env={}), public_url=f"http://127.0.0.1:{port}")
        if DATABASE_URL:  # e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test?schema=bench
            cfg = replace(cfg, database_url=DATABASE_URL)
        await composition.check_database(cfg, upgrade=True)
        clock = FakeClock()
        store = SqlStore(make_engine(cfg.database_url))
        context = Context(config=cfg, store=store, blobs=FileBlobStore(cfg.blob_dir), clock=clock)
        timer = ServerTimer()
        app = composition.build_web_app(context)
        app.middlewares.insert(0, timer.middleware)
        runner = web.AppRunner(app, access_log_class=composition.AccessLogger)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        hello = await hello_world(hello_port)
        try:
            print(f"activating {SENDERS} senders, 3 recipients and 1 inbox owner …", flush=True)
            # One at a time on PostgreSQL: concurrent audit-log appends collide there (uq_audit_log_seq).
            gate = asyncio.Semaphore(1 if DATABASE_URL.startswith("postgresql") else 4)

            async def made(i: int, role: str) -> tuple[str, Any]:
                async with gate:
                    return await make_member(store, clock, cfg, i, role)

            done = await asyncio.gather(
                *(made(i, "sender") for i in range(SENDERS)),
                *(made(i, "recipient") for i in range(3)),
                made(0, "owner"),
            )
            clock.advance(seconds=30)  # the activation codes are spent; sign-ins need the next step

            async def signed(email: str, secret: str) -> dict[str, str]:
                async with gate:
                    return await sign_in(cfg, clock, email, secret)

            headers = await asyncio.gather(*(signed(email, d.totp_secret) for email, d in done))
            accounts = [Account(email, d.identity, h) for (email, d), h in zip(done, headers, strict=True)]
            senders, recipients, owner = accounts[:SENDERS], accounts[SENDERS : SENDERS + 3], accounts[-1]

            per_sender = (SENDS + SENDERS - 1) // SENDERS + WARMUP
            bodies = folder / "bodies.txt"
            t0 = time.perf_counter()
            size = await asyncio.to_thread(seal_all, senders, recipients, per_sender, bodies)
            print(
                f"sealed {per_sender * SENDERS:,} envelopes of {size:,} bytes in {time.perf_counter() - t0:.1f} s "
                "(not timed)",
                flush=True,
            )
            clients = [{"headers": a.headers} for a in senders]
            base = {"method": "POST", "clients": clients, "bodies": str(bodies), "count": SENDS,
                    "seconds": SECONDS, "warmup": WARMUP}  # fmt: skip
            hello_result = await load({**base, "url": f"http://127.0.0.1:{hello_port}/hello"}, folder)
            timer.start("/api/v1/messages")
            cpu0, loop0 = resource.getrusage(resource.RUSAGE_SELF), time.thread_time()
            send_result = await load({**base, "url": f"{cfg.public_url}/api/v1/messages"}, folder)
            cpu1, loop1 = resource.getrusage(resource.RUSAGE_SELF), time.thread_time()
            served = max(1, len(send_result["latencies"]))
            process_cpu = (cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime) / served * 1000
            loop_cpu = (loop1 - loop0) / served * 1000
            send_server = list(timer.times)
            async with store.read() as tx:
                stored = await tx.mail.page(MemberId(recipients[0].identity.uid.hex()), "inbox", None, 1)
            async with store.engine.connect() as conn:
                rows = (await conn.execute(select(func.count()).select_from(t.mailbox))).scalar_one()

            service = await service_split(store, clock, cfg, senders[0], recipients)

            # Inbox first page at each size.
            sample = envelope.seal(
                senders[0].identity,
                [envelope.Recipient(owner.identity.uid, owner.identity.current.pk)],
                mail_payload(senders[0], [owner], "x" * 3000),
                created_ms=0,
            )
            owner_id, sender_id = owner.identity.uid.hex(), senders[0].identity.uid.hex()
            pages: list[dict[str, Any]] = []
            have = 0
            for target in SIZES if "--sends-only" not in sys.argv else ():
                t1 = time.perf_counter()
                await fill(store, owner_id, sender_id, sample, have, target, clock.now())
                filled = time.perf_counter() - t1
                have = target
                timer.start("/api/v1/mailbox/inbox")
                result = await load(
                    {
                        "method": "GET",
                        "url": f"{cfg.public_url}/api/v1/mailbox/inbox?limit=50",
                        "clients": [{"headers": owner.headers}],
                        "bodies": None,
                        "count": PAGES,
                        "seconds": PAGE_SECONDS,
                        "warmup": 20,
                    },
                    folder,
                )
                split = await storage_split(store, owner_id)
                pages.append({"size": target, "fill_s": filled, "server": list(timer.times), "load": result,
                              "split": split})  # fmt: skip
        finally:
            await hello.cleanup()
            await runner.cleanup()
            await store.close()

    backend = "PostgreSQL" if DATABASE_URL else "SQLite (WAL, synchronous=FULL)"
    print(f"bench/mail — server side, {backend}, one server process, load from a second process, loopback")
    for name, result in (("aiohttp hello-world", hello_result), ("POST /api/v1/messages", send_result)):
        lat = result["latencies"]
        print(
            f"  {name:<22} {len(lat) / result['wall']:>8,.0f} req/s  p50 {pct(lat, 0.5):6.1f} ms  "
            f"p99 {pct(lat, 0.99):6.1f} ms  ({len(lat):,} requests in {result['wall']:.1f} s, "
            f"{SENDERS} clients, statuses {result['statuses']})"
        )
    sends = len(send_result["latencies"]) / send_result["wall"]
    hellos = len(hello_result["latencies"]) / hello_result["wall"]
    print(f"  envelope               {size:,} bytes, 3 recipients + the sender's copy: 1 message row, 4 mailbox rows")
    print(f"  inside the server      send p50 {pct(send_server, 0.5):.1f} ms  p99 {pct(send_server, 0.99):.1f} ms "
          "(middleware to response, queueing for the single writer included)")  # fmt: skip
    print(
        f"  one at a time, no HTTP sessions.authenticate {service[0]:.2f} ms + mailbox.send {service[1]:.2f} ms "
        f"(= {service[2]:,.0f} sends/s on one connection; {SPLIT} each); event-loop thread CPU "
        f"{service[3]:.2f} ms + {service[4]:.2f} ms"
    )
    print(
        f"  server CPU per send    {process_cpu:.2f} ms in all, {loop_cpu:.2f} ms on the event-loop thread; "
        f"the load generator's {send_result['cpu'] / max(1, len(send_result['latencies'])) * 1000:.2f} ms per request "
        f"({send_result['cpu'] / send_result['wall']:.2f} of a core)"
    )
    print(f"  ratio                  sends / hello-world = {sends / hellos:.2f}")
    print(
        f"  stored                 {rows:,} mailbox rows; recipient's newest: {stored[0].size if stored else 0} bytes"
    )
    print(f"  target ≥ 1,500 durable sends/s: {'met' if sends >= 1500 else 'NOT met'} ({sends:,.0f}/s)")
    if not pages:
        print(f"  whole run {time.monotonic() - total_started:.0f} s (--sends-only: no inbox figures)")
        return
    for p in pages:
        lat = p["load"]["latencies"]
        print(
            f"  inbox first page at {p['size']:>7,}: server p95 {pct(p['server'], 0.95):5.2f} ms "
            f"(p50 {pct(p['server'], 0.5):.2f}), client p95 {pct(lat, 0.95):5.2f} ms, "
            f"{len(lat) / p['load']['wall']:,.0f} pages/s on 1 connection, {len(lat):,} requests; "
            f"queries p95: page {p['split'][0]:.2f} ms, unread counts {p['split'][1]:.2f} ms; "
            f"filled in {p['fill_s']:.0f} s"
        )
    small, large = pct(pages[0]["server"], 0.95), pct(pages[-1]["server"], 0.95)
    print(f"  target server p95 ≤ 10 ms at {SIZES[-1]:,}: {'met' if large <= 10 else 'NOT met'} ({large:.2f} ms)")
    ratio = large / small
    print(f"  target {SIZES[-1] // 1000}k/{SIZES[0] // 1000}k p95 ratio ≤ 1.3: {'met' if ratio <= 1.3 else 'NOT met'} "
          f"({ratio:.2f})")  # fmt: skip
    print(f"  whole run {time.monotonic() - total_started:.0f} s")


if __name__ == "__main__":
    asyncio.run(main())

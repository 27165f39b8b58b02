"""Inbound SMTP: 10 KiB messages over 16 parallel STARTTLS sessions, sealed and committed — messages/s and p99.

One run, on loopback, bounded in count and time:
  * a fresh instance (SQLite in a temporary folder, or ISECOM_BENCH_DATABASE_URL) served in this
    process: the aiohttp application (to activate the member through the API with the Python
    client) and the SMTP gateway (``isecom.smtp.gateway.start``, as ``isecom serve`` starts it) on
    127.0.0.1, with a trustme certificate, STARTTLS required and the sender policy of the tests
    (police.example admitted for FR members from 127.0.0.1);
  * one FR member with published keys;
  * the load from a second process (bench/smtp/load.py): SESSIONS smtplib sessions, each one
    connection with STARTTLS, then messages of SIZE bytes one after the other, at most MESSAGES
    or SECONDS; each latency runs from MAIL FROM to the 250 after DATA, which the gateway answers
    only after the message is sealed to the member's key and committed;
  * the same work one message at a time without SMTP (``inbound.deliver``), to split the cost;
  * one stored message opened with the member's keys, outside the timing, to check it is the one sent;
  * Postfix's accept rate only where ``postfix`` is installed; otherwise the run says it skipped it.

    .venv/bin/python bench/smtp/run.py
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from aiohttp import web
from sqlalchemy import func, select

from isecom import app as composition
from isecom import config, instance
from isecom.client import Client
from isecom.config import SenderRule, SmtpSettings
from isecom.context import Context
from isecom.crypto import envelope
from isecom.crypto.encoding import b64d
from isecom.services import inbound, members
from isecom.smtp import gateway
from isecom.types import Country, Email, MemberId
from storage import tables as t
from storage.blobs import FileBlobStore
from storage.db import make_engine
from storage.store import SqlStore
from tests.conftest import FakeClock, free_port
from tests.smtpgateway import make_tls

SESSIONS = 16
MESSAGES = 10_000
SECONDS = 30.0
SIZE = 10 * 1024
WARMUP = 2  # messages per session before the timing starts
SPLIT = 300  # sequential inbound.deliver calls
SENDER = "officer@police.example"
HELO = "relay.police.example"
DOMAIN = "isecom.example"
PASSWORD = "a fictional benchmark passphrase"
DATABASE_URL = os.environ.get("ISECOM_BENCH_DATABASE_URL", "")
LOAD = Path(__file__).with_name("load.py")
sys.path.insert(0, str(LOAD.parent))

from load import message  # bench/smtp/load.py: the same messages as the load generator


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


async def load(spec: dict[str, Any], folder: Path) -> dict[str, Any]:
    path = folder / "spec.json"
    path.write_text(json.dumps(spec))
    child = await asyncio.create_subprocess_exec(sys.executable, str(LOAD), str(path), stdout=asyncio.subprocess.PIPE)
    out, _ = await child.communicate()
    if child.returncode != 0:
        raise RuntimeError("the load generator failed")
    result: dict[str, Any] = json.loads(out)
    return result


def postfix_installed() -> bool:
    return bool(shutil.which("postfix")) or Path("/usr/sbin/postfix").exists()


async def main() -> None:
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data = folder / "data"
        instance.create(data)
        port = free_port()
        cfg = replace(config.load(data, env={}), public_url=f"http://127.0.0.1:{port}")
        if DATABASE_URL:
            cfg = replace(cfg, database_url=DATABASE_URL)
        await composition.check_database(cfg, upgrade=True)
        clock = FakeClock()
        store = SqlStore(make_engine(cfg.database_url))
        context = Context(config=cfg, store=store, blobs=FileBlobStore(cfg.blob_dir), clock=clock)
        runner = web.AppRunner(composition.build_web_app(context), access_log_class=composition.AccessLogger)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        tls = make_tls(folder)
        cafile = folder / "ca.pem"
        tls.ca.cert_pem.write_to_path(str(cafile))
        settings = SmtpSettings(
            tls_cert_file=tls.cert_file,
            tls_key_file=tls.key_file,
            require_tls=True,
            senders=(
                SenderRule(Country("FR"), frozenset({"police.example"}), (ipaddress.ip_network("127.0.0.1/32"),)),
            ),
        )
        smtp = await gateway.start(
            store, settings, (DOMAIN,), "127.0.0.1", 0, f"mx.{DOMAIN}",
            clock=clock, gateway=context.gateway, publish=context.live.publish,
        )  # fmt: skip
        smtp_port = int(smtp.sockets[0].getsockname()[1])
        try:
            email = f"camille.roux.{os.getpid()}@{DOMAIN}"
            new = members.NewMember.parse(email=email, name="Camille Roux", country="FR", agency="Bench", roles=[])
            invitation = await members.create_member(store, clock, cfg.server_key, new, actor=None)
            async with Client(cfg.public_url) as client:
                done = await client.activate(invitation.activation_token, PASSWORD, now=clock.now())
            spec = {"port": smtp_port, "cafile": str(cafile), "sessions": SESSIONS, "count": MESSAGES,
                    "seconds": SECONDS, "size": SIZE, "sender": SENDER, "rcpt": email, "helo": HELO,
                    "warmup": WARMUP}  # fmt: skip
            result = await load(spec, folder)
            async with store.engine.connect() as conn:
                stored = (await conn.execute(select(func.count()).select_from(t.messages))).scalar_one()

            # The same work without SMTP, one message at a time.
            sender = inbound.Sender(Email.parse(SENDER), frozenset({"FR"}))
            rcpt = [Email.parse(email)]
            t0 = time.perf_counter()
            for n in range(SPLIT):
                await inbound.deliver(
                    store, clock, context.gateway, sender, rcpt, message(10**6 + n, SIZE, SENDER, email)
                )
            deliver_ms = (time.perf_counter() - t0) / SPLIT * 1000

            # One message as the member's client opens it (outside the timing).
            async with store.read() as tx:
                newest = await tx.mail.page(MemberId(done.identity.uid.hex()), "inbox", None, 1)
                sealed = await tx.mail.envelope(newest[0].msg_id)
            assert sealed is not None
            opened = envelope.open_smtp(sealed, done.identity, context.gateway.sig_pk)
            raw = b64d(opened.payload["raw"])
            check = raw == message(10**6 + SPLIT - 1, SIZE, SENDER, email)
        finally:
            smtp.close()
            await smtp.wait_closed()
            await runner.cleanup()
            await store.close()

    lat = result["latencies"]
    rate = len(lat) / result["wall"] if lat else 0.0
    backend = "PostgreSQL" if DATABASE_URL else "SQLite (WAL, synchronous=FULL)"
    print(f"bench/smtp — SMTP gateway, {backend}, one server process, smtplib load from a second process, loopback")
    print(
        f"  sealed and committed   {rate:,.0f} messages/s  p50 {pct(lat, 0.5):.1f} ms  p99 {pct(lat, 0.99):.1f} ms  "
        f"({len(lat):,} messages of {SIZE:,} bytes in {result['wall']:.1f} s, {SESSIONS} STARTTLS sessions, "
        f"1 recipient; errors {len(result['errors'])}{': ' + result['errors'][0] if result['errors'] else ''})"
    )
    print(
        f"  one at a time, no SMTP inbound.deliver {deliver_ms:.2f} ms (seal + commit; {1000 / deliver_ms:,.0f}/s; "
        f"{SPLIT} messages)"
    )
    print(f"  stored                 {stored:,} messages; the newest opened with the member's keys: "
          f"{'byte-identical to what was sent' if check else 'DIFFERENT from what was sent'}")  # fmt: skip
    if postfix_installed():
        print("  Postfix                installed, but this bench does not drive it yet: comparison not made")
    else:
        print("  Postfix                not installed (no `postfix` on PATH or in /usr/sbin): comparison skipped")
    print(f"  target ≥ 300 messages/s sealed and committed: {'met' if rate >= 300 else 'NOT met'} ({rate:,.0f}/s)")
    print(f"  whole run {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    asyncio.run(main())

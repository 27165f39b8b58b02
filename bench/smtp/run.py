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
  * the server's CPU per message (this process's user + system time during the load);
  * the same work one message at a time without SMTP (``inbound.deliver``), to split the cost;
  * one stored message opened with the member's keys, outside the timing, to check it is the one sent;
  * where Postfix is installed (/usr/sbin/postfix), the SAME load (same load.py, message, sessions,
    bounds) against a private Postfix started for the run (bench/smtp/postfix.py: its own
    configuration and queue in a temporary folder, 127.0.0.1 only, STARTTLS required with the same
    certificate, every message accepted, queued durably and discarded, never relayed), stopped and
    removed afterwards; both rates, p50/p99 and the ratio ours/Postfix. Otherwise the run says how
    to install it (``--install-postfix`` does, as root).

    .venv/bin/python bench/smtp/run.py [--install-postfix] [--no-postfix] [--profile FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import subprocess
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

import postfix  # bench/smtp/postfix.py: the private Postfix instance
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


def summary(result: dict[str, Any]) -> tuple[float, str]:
    lat = result["latencies"]
    rate = len(lat) / result["wall"] if lat else 0.0
    errors = result["errors"]
    return rate, (
        f"{rate:,.0f} messages/s  p50 {pct(lat, 0.5):.1f} ms  p99 {pct(lat, 0.99):.1f} ms  "
        f"({len(lat):,} messages of {SIZE:,} bytes in {result['wall']:.1f} s, {SESSIONS} STARTTLS sessions, "
        f"1 recipient; errors {len(errors)}{': ' + errors[0] if errors else ''})"
    )


def busy() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min), {os.cpu_count()} cores"


async def main(args: argparse.Namespace) -> None:
    started = time.monotonic()
    if args.install_postfix and not postfix.installed():
        postfix.install()
    load_before = busy()
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
            cpu0 = time.process_time()  # this process: the server (all its threads), not the load
            if args.profile:  # pyinstrument (pip install pyinstrument into .venv; not a project dependency)
                from pyinstrument import Profiler

                with Profiler(async_mode="disabled", interval=0.0005) as profiler:
                    result = await load(spec, folder)
                report = profiler.output_text(unicode=True, show_all=False)
                await asyncio.to_thread(Path(args.profile).write_text, report)
            else:
                result = await load(spec, folder)
            server_cpu = time.process_time() - cpu0
            batches, items = store.group.batches, store.group.items
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

        # The same load against a private Postfix on this machine, in this run.
        theirs: dict[str, Any] | None = None
        version = pf_failed = ""
        if postfix.installed() and not args.no_postfix:
            pf_port = free_port()
            try:
                with postfix.private_postfix(pf_port, Path(tls.cert_file), Path(tls.key_file), DOMAIN) as pf:
                    version = pf.version
                    theirs = await load({**spec, "port": pf_port}, folder)
            except (RuntimeError, OSError, subprocess.SubprocessError) as exc:  # our figures are still printed
                pf_failed = f"{type(exc).__name__}: {exc}"
    load_after = busy()

    rate, line = summary(result)
    backend = "PostgreSQL" if DATABASE_URL else "SQLite (WAL, synchronous=FULL)"
    print(f"bench/smtp — SMTP gateway, {backend}, one server process, smtplib load from a second process, loopback")
    print(f"  sealed and committed   {line}")
    served = len(result["latencies"]) + SESSIONS * WARMUP
    print(f"  server CPU             {server_cpu * 1000 / max(served, 1):.2f} ms a message (user + system)")
    print(
        f"  group commit           {items:,} messages in {batches:,} commits ({items / max(batches, 1):.1f} a commit)"
    )
    print(
        f"  one at a time, no SMTP inbound.deliver {deliver_ms:.2f} ms (seal + commit; {1000 / deliver_ms:,.0f}/s; "
        f"{SPLIT} messages)"
    )
    print(f"  stored                 {stored:,} messages; the newest opened with the member's keys: "
          f"{'byte-identical to what was sent' if check else 'DIFFERENT from what was sent'}")  # fmt: skip
    if theirs is not None:
        pf_rate, pf_line = summary(theirs)
        print(f"  Postfix {version:<14} {pf_line}")
        print("                         (private instance: queued durably, then discarded; same load, same run)")
        ratio = f"{rate / pf_rate:.2f}" if pf_rate else "n/a"
        print(f"  ratio ours / Postfix   {ratio}")
    elif pf_failed:
        print(f"  Postfix                could not be measured ({pf_failed}; it needs root)")
    elif args.no_postfix:
        print("  Postfix                not measured (--no-postfix)")
    else:
        print(
            f"  Postfix                not installed (no {postfix.POSTFIX}): comparison skipped; {postfix.INSTALL_HINT}"
        )
    print(f"  target ≥ 300 messages/s sealed and committed: {'met' if rate >= 300 else 'NOT met'} ({rate:,.0f}/s)")
    print(f"  machine                before: {load_before}; after: {load_after}")
    print(f"  whole run {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--install-postfix", action="store_true", help="apt-get install postfix first (root only)")
    parser.add_argument("--profile", metavar="FILE", help="profile the server during the load (needs pyinstrument)")
    parser.add_argument("--no-postfix", action="store_true", help="skip the Postfix comparison")
    asyncio.run(main(parser.parse_args()))

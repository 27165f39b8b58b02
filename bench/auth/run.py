"""Server-side sign-in throughput: verifications per second, the client's Argon2id excluded.

One run, on loopback, bounded in count and time:
  * a fresh SQLite instance served by the real aiohttp application on 127.0.0.1;
  * MEMBERS members activated through the API (the Python client), their login keys derived once;
  * ROUNDS rounds in which every member signs in once, CONCURRENCY requests at a time; only the
    POST /api/v1/auth/login requests are timed (challenge consumed, Ed25519 proof checked, TOTP
    checked and recorded, session created, audit entry chained, all committed). The server's clock
    moves 30 s between rounds so each member has a fresh TOTP step, as in real life;
  * then the Argon2id time in Chromium at the protocol's parameters (median of 5, in the worker).

    .venv/bin/python bench/auth/run.py
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from isecom import app as composition
from isecom import config, instance
from isecom.auth import two_factor
from isecom.client import Client
from isecom.context import Context
from isecom.crypto import keys
from isecom.crypto.encoding import b64d, b64e
from isecom.services import members
from storage.blobs import FileBlobStore
from storage.db import make_engine
from storage.store import SqlStore
from tests.conftest import FakeClock, free_port

MEMBERS = 40
ROUNDS = 5
CONCURRENCY = 8
TIME_LIMIT = 120.0
PASSWORD = "a fictional benchmark passphrase"
DATABASE_URL = os.environ.get("ISECOM_BENCH_DATABASE_URL", "")


async def main() -> None:
    from aiohttp.test_utils import TestServer

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        instance.create(data)
        port = free_port()
        cfg = replace(config.load(data, env={}), public_url=f"http://127.0.0.1:{port}")
        if DATABASE_URL:  # e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test?schema=bench
            cfg = replace(cfg, database_url=DATABASE_URL)
        await composition.check_database(cfg, upgrade=True)
        clock = FakeClock()
        store = SqlStore(make_engine(cfg.database_url))
        context = Context(config=cfg, store=store, blobs=FileBlobStore(cfg.blob_dir), clock=clock)
        server = TestServer(composition.build_web_app(context), host="127.0.0.1", port=port)
        await server.start_server()
        try:
            accounts = []
            for i in range(MEMBERS):
                email = f"bench{i:03d}.{os.getpid()}@isecom.example"
                new = members.NewMember.parse(email=email, name=f"Bench {i}", country="FR", agency="Bench", roles=[])
                invitation = await members.create_member(store, clock, cfg.server_key, new, actor=None)
                async with Client(cfg.public_url) as client:
                    done = await client.activate(invitation.activation_token, PASSWORD, now=clock.now())
                accounts.append((email, done.totp_secret))
            derived: dict[str, keys.PasswordKeys] = {}
            semaphore = asyncio.Semaphore(CONCURRENCY)
            latencies: list[float] = []
            started = time.monotonic()
            timed = 0.0
            for _ in range(ROUNDS):
                clock.advance(seconds=30)
                if time.monotonic() - started > TIME_LIMIT:
                    break
                bodies = []
                async with Client(cfg.public_url) as client:
                    for email, secret in accounts:  # client side, not timed
                        pre = await client._call("POST", "/api/v1/auth/prelogin", {"username": email})
                        if email not in derived:
                            derived[email] = keys.derive_password_keys(PASSWORD, b64d(pre["salt"]), pre["params"])
                        code = two_factor.code_at(secret, clock.now())
                        transcript = keys.login_transcript(
                            origin=cfg.public_url,
                            username=email,
                            challenge_id=b64d(pre["challenge_id"]),
                            challenge=b64d(pre["challenge"]),
                            totp_code=code,
                        )
                        bodies.append(
                            {
                                "username": email,
                                "challenge_id": pre["challenge_id"],
                                "totp_code": code,
                                "proof": b64e(keys.login_proof(derived[email].auth_seed, transcript)),
                            }
                        )

                async def login(body: dict[str, str], client: Client) -> None:
                    async with semaphore:
                        t0 = time.perf_counter()
                        await client._call("POST", "/api/v1/auth/login", body)
                        latencies.append(time.perf_counter() - t0)

                clients = [Client(cfg.public_url) for _ in bodies]
                t_round = time.perf_counter()
                await asyncio.gather(*(login(b, c) for b, c in zip(bodies, clients, strict=True)))
                timed += time.perf_counter() - t_round
                for c in clients:
                    await c.close()
        finally:
            await server.close()
            await store.close()
    n = len(latencies)
    latencies.sort()
    print("bench/auth — server-side sign-in verification (Argon2id on the client excluded)")
    print(f"  sign-ins verified      {n} ({MEMBERS} members x {n // MEMBERS} rounds, {CONCURRENCY} concurrent)")
    backend = "PostgreSQL" if DATABASE_URL else "SQLite"
    print(f"  throughput             {n / timed:.1f} sign-ins/s ({backend}, one process, loopback)")
    print(
        f"  latency p50 / p95      {statistics.median(latencies) * 1000:.1f} ms / "
        f"{latencies[int(n * 0.95) - 1] * 1000:.1f} ms"
    )


def argon2_in_chromium() -> float:
    """The client's cost, for comparison: Argon2id at the protocol's parameters in Debian's Chromium."""
    from playwright.sync_api import sync_playwright

    from tests.conftest import run_cli, start_server, stop_server
    from webmail.assets import Assets

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        assert run_cli("init", data=data).returncode == 0
        server = start_server(data)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path="/usr/bin/chromium",
                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
                )
                page = browser.new_page()
                page.goto(f"{server.url}/signin")
                times = page.evaluate(
                    """async (url) => {
                      const pool = await import(url);
                      const salt = new Uint8Array(16);
                      const out = [];
                      for (let i = 0; i < 5; i++) {
                        const t = performance.now();
                        await pool.derivePasswordKeysInWorker("bench password " + i, salt,
                          {alg: "argon2id13", ops: 3, mem: 67108864});
                        out.push(performance.now() - t);
                      }
                      return out;
                    }""",
                    Assets.load().url("js/crypto/pool.js"),
                )
                browser.close()
        finally:
            stop_server(server)
    return float(statistics.median(times)) / 1000


if __name__ == "__main__":
    asyncio.run(main())
    argon2 = argon2_in_chromium()  # Playwright's sync API needs to run outside the event loop
    print(f"  Argon2id in Chromium   {argon2 * 1000:.0f} ms median of 5 (ops 3, 64 MiB, in the worker)")

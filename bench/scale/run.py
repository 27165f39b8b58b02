"""Scale-out through nginx on PostgreSQL: durable sends/s with one and with two application
processes, and an evidence upload's MB/s through nginx and direct.

One run, loopback only, bounded in count and time:
  * a fresh schema in the PostgreSQL of ISECOM_BENCH_DATABASE_URL (or ISECOM_TEST_DATABASE_URL),
    dropped at the end; a fresh data directory (``isecom init``) in a temporary folder;
  * the production shape: ``isecom serve --only smtp`` (background jobs) and two
    ``isecom serve --only http`` processes, A and B; nginx from deploy/nginx (render.py
    --standalone, a certificate made here, TLS 1.3) on a high port;
  * SENDERS + 3 members activated and signed in through nginx with the Python client;
    envelopes sealed beforehand (≈ 4 KiB, 3 recipients and the sender's copy: bench/mail's
    ``seal_all``), so the client's crypto is not timed;
  * the same load twice from a second process (bench/mail/load.py: SENDERS connections, one
    request at a time each, at most SENDS requests or SECONDS): POST /api/v1/messages through
    nginx in front of A alone, then through nginx in front of A and B. Only 201 answers
    (committed) count;
  * an evidence file of UPLOAD_MIB MiB (default 1024) uploaded with the client library
    (``isecom.client.files``: encrypt each 4 MiB chunk, PUT, one at a time, then commit)
    through nginx, then the same size again straight to a third HTTP process on plain HTTP.

    .venv/bin/python bench/scale/run.py [--upload-mib 1024] [--sends 6000] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import aiohttp
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.mail.run import WARMUP, Account, load, pct, seal_all
from isecom import config
from isecom.auth import two_factor
from isecom.client import Client
from isecom.client import files as clientfiles
from isecom.clock import SystemClock
from isecom.services import members
from storage.db import make_engine
from storage.store import SqlStore
from tests.conftest import free_port
from tests.deploy.nginx import Nginx, export_static, make_tls, start_nginx, wait_port

SENDERS = 32
PASSWORD = "a fictional benchmark passphrase"
ISECOM = [sys.executable, "-m", "isecom"]
MIB = 1024 * 1024


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def serve(
    folder: Path, data: Path, env: dict[str, str], name: str, *args: str, http_port: int | None = None
) -> Process:
    log = folder / f"{name}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(
            [*ISECOM, "serve", "--data", str(data), *args], stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO
        )
    process = Process(name, popen, log)
    deadline = time.monotonic() + 60
    while http_port is not None and time.monotonic() < deadline:
        if popen.poll() is not None:
            raise RuntimeError(f"{name} exited:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/healthz", timeout=1):
                return process
        except OSError:
            time.sleep(0.1)
    if http_port is not None:
        raise RuntimeError(f"{name} did not become healthy:\n{log.read_text(errors='replace')}")
    return process


async def create_schema(base: str) -> tuple[str, str]:
    base = base.replace("postgresql://", "postgresql+asyncpg://", 1)
    schema = f"bench_{secrets.token_hex(6)}"
    engine = create_async_engine(base)
    async with engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    await engine.dispose()
    return base, schema


async def drop_schema(base: str, schema: str) -> None:
    engine = create_async_engine(base)
    async with engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    await engine.dispose()


SESSIONS: list[aiohttp.ClientSession] = []  # closed at the end of the run


def client_for(public: str, tls: ssl.SSLContext | None) -> Client:
    """A client that trusts the bench's CA (aiohttp's default context is made at import)."""
    connector = aiohttp.TCPConnector(ssl=tls) if tls is not None else None
    http = aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.CookieJar(unsafe=True))
    SESSIONS.append(http)
    return Client(public, http=http)


async def activate(
    url: str, cfg: config.Config, public: str, tls: ssl.SSLContext, i: int, role: str
) -> tuple[str, Any]:
    email = f"{role}{i:03d}.{os.getpid()}@isecom.example"
    store = SqlStore(make_engine(url))
    try:
        new = members.NewMember.parse(email=email, name=f"Bench {role} {i}", country="FR", agency="Bench", roles=[])
        invitation = await members.create_member(store, SystemClock(), cfg.server_key, new, actor=None)
    finally:
        await store.close()
    client = client_for(public, tls)
    try:
        done = await client.activate(invitation.activation_token, PASSWORD)
    finally:
        await client.close()
    return email, done


async def signed_in(public: str, tls: ssl.SSLContext | None, email: str, secret: str, when: datetime) -> Client:
    client = client_for(public, tls)
    # A code of a later 30-second step than the last one used (the server refuses replays).
    await client.sign_in(email, PASSWORD, two_factor.code_at(secret, max(when, datetime.now(UTC))))
    return client


def headers_of(client: Client) -> dict[str, str]:
    assert client.csrf_token is not None
    return {
        "Cookie": "; ".join(f"{k}={v}" for k, v in client.session_cookies().items()),
        "Origin": client.origin,
        "X-CSRF-Token": client.csrf_token,
        "Content-Type": "application/json",
        "Accept": "application/json",
    }


async def upload_speed(client: Client, path: Path) -> tuple[float, float]:
    """Seconds to prepare (hash, not timed below) and MB/s of the upload itself."""
    t0 = time.perf_counter()
    prepared = await asyncio.to_thread(clientfiles.prepare, path)
    prepare_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    await clientfiles.upload(client, prepared)
    return prepare_s, prepared.descriptor.size / (time.perf_counter() - t1) / 1e6


def summary(result: dict[str, Any]) -> tuple[float, list[float], dict[str, int]]:
    ok = result["statuses"].get("201", 0)
    return ok / result["wall"], result["latencies"], result["statuses"]


async def main(args: argparse.Namespace) -> None:
    base_url = os.environ.get("ISECOM_BENCH_DATABASE_URL") or os.environ.get("ISECOM_TEST_DATABASE_URL")
    if not base_url or not base_url.startswith("postgresql"):
        raise SystemExit("bench/scale needs PostgreSQL: set ISECOM_BENCH_DATABASE_URL=postgresql+asyncpg://…")
    warnings.filterwarnings("ignore", category=ResourceWarning)  # aiohttp on 4 MiB chunk bodies
    total_started = time.monotonic()
    base, schema = await create_schema(base_url)
    url = f"{base}{'&' if '?' in base else '?'}schema={schema}"
    processes: list[Process] = []
    nginx: Nginx | None = None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            tls = make_tls(folder / "tls")
            ca = folder / "tls" / "ca.pem"
            tls.ca.cert_pem.write_to_path(str(ca))
            os.environ["SSL_CERT_FILE"] = str(ca)  # the load generator (a new process) trusts it
            tls_context = tls.client_context()
            port, redirect = free_port(), free_port()
            public = f"https://localhost:{port}"
            env = {
                **os.environ,
                "ISECOM_DATABASE_URL": url,
                "ISECOM_SERVER_PUBLIC_URL": public,
                "ISECOM_SERVER_TRUSTED_PROXIES": "127.0.0.1",
                "ISECOM_SMTP_TLS_CERT_FILE": str(tls.cert),
                "ISECOM_SMTP_TLS_KEY_FILE": str(tls.key),
                "ISECOM_KEYS_CHECKPOINT_SECONDS": "1",
                "ISECOM_LOG_LEVEL": "WARNING",
            }
            data = folder / "data"
            init = await asyncio.create_subprocess_exec(
                *ISECOM,
                "init",
                "--data",
                str(data),
                env=env,
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            output, _ = await init.communicate()
            if init.returncode != 0:
                raise SystemExit(output.decode())
            cfg = config.load(data, env=env)
            smtp = free_port()
            processes.append(serve(folder, data, env, "jobs", "--only", "smtp", "--smtp", f"127.0.0.1:{smtp}"))
            wait_port("127.0.0.1", smtp, "jobs", processes[-1].popen, processes[-1].log)
            ports = {"a": free_port(), "b": free_port(), "direct": free_port()}
            for name in ("a", "b"):
                http = f"127.0.0.1:{ports[name]}"
                processes.append(
                    serve(folder, data, env, name, "--only", "http", "--http", http, http_port=ports[name])
                )
            static = folder / "www"
            export_static(static)

            def front(upstreams: list[int]) -> Nginx:
                return start_nginx(
                    folder / f"nginx-{len(upstreams)}",
                    upstreams=upstreams,
                    host="127.0.0.1",
                    port=port,
                    redirect_port=redirect,
                    tls=tls,
                    static_root=static,
                    extra=("--signin-rate", "100000r/m", "--signin-burst", "10000", "--workers", "1"),
                )

            nginx = front([ports["a"], ports["b"]])
            print(f"activating {SENDERS} senders and 3 recipients through nginx …", flush=True)
            gate = asyncio.Semaphore(4)

            async def made(i: int, role: str) -> tuple[str, Any]:
                async with gate:
                    return await activate(url, cfg, public, tls_context, i, role)

            # The first audited change alone: the audit chain's first entry has no head row to lock.
            first_done = await made(0, "sender")
            done = [first_done]
            done += await asyncio.gather(
                *(made(i, "sender") for i in range(1, SENDERS)), *(made(i, "recipient") for i in range(3))
            )
            now = datetime.now(UTC) + timedelta(seconds=30)  # a step after every activation's
            clients = await asyncio.gather(
                *(signed_in(public, tls_context, email, d.totp_secret, now) for email, d in done)
            )
            accounts = [Account(email, d.identity, headers_of(c)) for (email, d), c in zip(done, clients, strict=True)]
            senders, recipients = accounts[:SENDERS], accounts[SENDERS:]
            per_sender = (args.sends + SENDERS - 1) // SENDERS + WARMUP
            results = {}
            for n_processes in (1, 2):
                if n_processes == 1:
                    nginx.stop()
                    nginx = front([ports["a"]])
                else:
                    nginx.stop()
                    nginx = front([ports["a"], ports["b"]])
                bodies = folder / f"bodies-{n_processes}.txt"
                size = await asyncio.to_thread(seal_all, senders, recipients, per_sender, bodies)
                spec = {
                    "method": "POST",
                    "url": f"{public}/api/v1/messages",
                    "clients": [{"headers": a.headers} for a in senders],
                    "bodies": str(bodies),
                    "count": args.sends,
                    "seconds": args.seconds,
                    "warmup": WARMUP,
                }
                results[n_processes] = summary(await load(spec, folder))
                print(f"  {n_processes} process(es): {results[n_processes][0]:,.0f} sends/s", flush=True)

            # Upload: through nginx (in front of A and B), then straight to a plain-HTTP process.
            evidence = folder / "evidence.bin"
            with evidence.open("wb") as out:
                for _ in range(args.upload_mib):
                    out.write(os.urandom(MIB))
            uploader = clients[0]
            via_nginx = await upload_speed(uploader, evidence)
            direct_url = f"127.0.0.1:{ports['direct']}"
            direct_env = {**env, "ISECOM_SERVER_PUBLIC_URL": f"http://{direct_url}"}
            processes.append(serve(folder, data, direct_env, "direct", "--only", "http", "--http", direct_url,
                                   http_port=ports["direct"]))  # fmt: skip
            email, first = done[0]
            direct_client = await signed_in(
                f"http://{direct_url}", None, email, first.totp_secret, now + timedelta(seconds=30)
            )
            direct = await upload_speed(direct_client, evidence)
            await direct_client.close()
            for client in clients:
                await client.close()
    finally:
        for http in SESSIONS:
            await http.close()
        if nginx is not None:
            nginx.stop()
        for process in reversed(processes):
            process.stop()
        await drop_schema(base, schema)

    print(
        "bench/scale — PostgreSQL, nginx (TLS 1.3) in front of `isecom serve --only http`, loopback, "
        f"{os.cpu_count()} CPU cores shared by nginx, the processes, PostgreSQL and the load"
    )
    print(
        f"  envelope {size:,} bytes, 3 recipients + the sender's copy; {SENDERS} clients, one request at a time "
        f"each; at most {args.sends:,} sends or {args.seconds:.0f} s per run"
    )
    for n_processes, (rate, lat, statuses) in results.items():
        print(
            f"  {n_processes} application process{'es' if n_processes > 1 else '  '}  {rate:>8,.0f} durable sends/s  "
            f"p50 {pct(lat, 0.5):6.1f} ms  p99 {pct(lat, 0.99):6.1f} ms  ({len(lat):,} requests, statuses {statuses})"
        )
    print(f"  ratio two / one        {results[2][0] / results[1][0]:.2f}")
    size_text = f"{args.upload_mib} MiB"
    print(f"  upload {size_text} through nginx  {via_nginx[1]:7.1f} MB/s  (client library: encrypt 4 MiB chunk, PUT, "
          f"one at a time, commit; prepare {via_nginx[0]:.1f} s not counted)")  # fmt: skip
    print(f"  upload {size_text} direct         {direct[1]:7.1f} MB/s  (plain HTTP to one process)")
    print(f"  nginx / direct         {via_nginx[1] / direct[1]:.2f}")
    print(f"  whole run {time.monotonic() - total_started:.0f} s")
    out = REPO / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "scale.json").write_text(
        json.dumps(
            {
                "sends_per_s": {str(k): v[0] for k, v in results.items()},
                "upload_mb_s": {"nginx": via_nginx[1], "direct": direct[1], "mib": args.upload_mib},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upload-mib", type=int, default=1024, help="evidence file size in MiB (default 1024)")
    parser.add_argument("--sends", type=int, default=6000, help="at most this many sends per run (default 6000)")
    parser.add_argument("--seconds", type=float, default=20.0, help="at most this long per run (default 20)")
    arguments = parser.parse_args()
    if not 1 <= arguments.upload_mib <= 20 * 1024 or arguments.sends < 1 or not 0 < arguments.seconds <= 600:
        parser.error("--upload-mib 1..20480, --sends ≥ 1, --seconds 0..600")
    asyncio.run(main(arguments))

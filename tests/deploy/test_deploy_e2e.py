"""The production shape, end to end: nginx (TLS) in front of two ``isecom serve --only http``
processes and one ``--only smtp`` process (the background jobs), all on one PostgreSQL.

Alice and Bao sign in through nginx. Bao's live-update stream is held by process B. Alice
uploads a 20 MB evidence file through nginx; process A is killed half-way, the upload stops
and resumes, and every chunk is sent exactly once. A is restarted; Alice sends the message
through A; Bao's stream on B announces it (PostgreSQL LISTEN/NOTIFY between the processes);
Bao opens the message and the attachment and checks its SHA-256. Last, mail from an agency's
relay to the SMTP process is announced on Bao's stream on B too.

To reach one process on purpose, two more nginx instances from the same template, each in
front of one process, listen on 127.0.0.2 and 127.0.0.3 at the same port: the clients'
resolver picks the address, so the origin (https://localhost:PORT) is the same everywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from isecom import config
from isecom.auth import two_factor
from isecom.client import Client
from isecom.client import files as clientfiles
from isecom.client import mail as mailclient
from isecom.client.keyring import KeyRing
from isecom.clock import SystemClock
from isecom.crypto.attachments import Descriptor
from isecom.services import members
from storage.db import make_engine
from storage.store import SqlStore
from tests.conftest import REPO, free_port, pg_schema, postgres_url, run_cli
from tests.deploy.nginx import Nginx, export_static, make_tls, start_nginx, wait_port

pytestmark = pytest.mark.postgres

PASSWORD = "a long and fictional passphrase"
MIB = 1024 * 1024
SIZE = 20 * 1000 * 1000  # the 20 MB evidence file
# 39 chunks, so the kill lands half-way. (Under 1 MiB each: aiohttp warns about larger raw
# bodies, and warnings are errors here.)
CHUNK = MIB // 2
ISECOM = [sys.executable, "-m", "isecom"]


class Route(AbstractResolver):
    """Resolves every name to ``address``: which nginx (and so which process) a client reaches."""

    def __init__(self) -> None:
        self.address = "127.0.0.1"

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            {"hostname": host, "host": self.address, "port": port, "family": socket.AF_INET, "proto": 0, "flags": 0}
        ]

    async def close(self) -> None:
        return None


@dataclass
class Process:
    argv: list[str]
    env: dict[str, str]
    log: Path
    http_port: int | None = None
    smtp_port: int | None = None
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT, env=self.env, cwd=REPO)
        if self.http_port is not None:
            self._wait_healthy()
        elif self.smtp_port is not None:
            wait_port("127.0.0.1", self.smtp_port, "isecom serve --only smtp", self.popen, self.log)

    def _wait_healthy(self) -> None:
        assert self.popen is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"isecom serve exited:\n{self.log.read_text(errors='replace')}")
            try:
                url = f"http://127.0.0.1:{self.http_port}/healthz"
                with urllib.request.urlopen(url, timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"isecom serve did not become healthy:\n{self.log.read_text(errors='replace')}")

    def kill(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait()

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


@dataclass
class Deployment:
    public_url: str
    cfg: config.Config
    database_url: str
    a: Process
    b: Process
    jobs: Process
    main: Nginx
    via_a: Nginx
    via_b: Nginx
    tls_context: ssl.SSLContext
    tmp: Path


@pytest.fixture
async def deployment(tmp_path: Path) -> AsyncIterator[Deployment]:
    base = postgres_url()
    if not base:
        pytest.skip("PostgreSQL tests need ISECOM_TEST_DATABASE_URL (CI sets it; see README)")
    async with pg_schema(base) as url:
        tls = make_tls(tmp_path / "tls")
        port, redirect = free_port(), free_port()
        public = f"https://localhost:{port}"
        env = {
            "ISECOM_DATABASE_URL": url,
            "ISECOM_SERVER_PUBLIC_URL": public,
            "ISECOM_SERVER_TRUSTED_PROXIES": "127.0.0.1",
            "ISECOM_SMTP_TLS_CERT_FILE": str(tls.cert),
            "ISECOM_SMTP_TLS_KEY_FILE": str(tls.key),
            "ISECOM_KEYS_CHECKPOINT_SECONDS": "1",
        }
        data = tmp_path / "data"
        init = run_cli("init", data=data, env=env)
        assert init.returncode == 0, init.stderr
        cfg = config.load(data, env=env)
        full_env = {**os.environ, **env}

        def http_process(name: str) -> Process:
            http_port = free_port()
            argv = [*ISECOM, "serve", "--data", str(data), "--only", "http", "--http", f"127.0.0.1:{http_port}"]
            return Process(argv, full_env, tmp_path / f"{name}.log", http_port=http_port)

        smtp_port = free_port()
        jobs = Process(
            [*ISECOM, "serve", "--data", str(data), "--only", "smtp", "--smtp", f"127.0.0.1:{smtp_port}"],
            full_env,
            tmp_path / "smtp.log",
            smtp_port=smtp_port,
        )
        a, b = http_process("a"), http_process("b")
        started: list[Process | Nginx] = []
        try:
            for process in (jobs, a, b):
                process.start()
                started.append(process)
            static_root = tmp_path / "www"
            export_static(static_root)
            assert a.http_port is not None and b.http_port is not None
            nginx = {}
            for name, host, upstreams in (
                ("main", "127.0.0.1", [a.http_port, b.http_port]),
                ("via_a", "127.0.0.2", [a.http_port]),
                ("via_b", "127.0.0.3", [b.http_port]),
            ):
                nginx[name] = start_nginx(
                    tmp_path / f"nginx-{name}",
                    upstreams=upstreams,
                    host=host,
                    port=port,
                    redirect_port=redirect,
                    tls=tls,
                    static_root=static_root,
                )
                started.append(nginx[name])
            yield Deployment(
                public, cfg, url, a, b, jobs, nginx["main"], nginx["via_a"], nginx["via_b"],
                tls.client_context(), tmp_path,
            )  # fmt: skip
        finally:
            for item in reversed(started):
                item.stop()
            a.stop()


def _session(deployment: Deployment, route: Route) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(ssl=deployment.tls_context, resolver=route, use_dns_cache=False, force_close=True)
    return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.CookieJar(unsafe=True))


async def _member(deployment: Deployment, email: str, name: str, country: str, http: aiohttp.ClientSession) -> Client:
    store = SqlStore(make_engine(deployment.database_url))
    try:
        new = members.NewMember.parse(email=email, name=name, country=country, agency="Fictional Unit", roles=[])
        invitation = await members.create_member(store, SystemClock(), deployment.cfg.server_key, new, actor=None)
    finally:
        await store.close()
    client = Client(deployment.public_url, http=http)
    # The previous 30-second step's code for the activation, so sign-in's code is fresh.
    done = await client.activate(invitation.activation_token, PASSWORD, now=datetime.now(UTC) - timedelta(seconds=30))
    await client.sign_in(email, PASSWORD, two_factor.code_at(done.totp_secret, datetime.now(UTC)))
    return client


async def _events(response: aiohttp.ClientResponse, queue: asyncio.Queue[dict[str, Any]]) -> None:
    kind = ""
    async for raw in response.content:
        line = raw.decode().rstrip("\n")
        if line.startswith("event: "):
            kind = line[len("event: ") :]
        elif line.startswith("data: "):
            await queue.put({"event": kind, **json.loads(line[len("data: ") :])})


def _puts(nginx: Nginx, file_id: str) -> list[str]:
    return [line for line in nginx.access_log() if f'"PUT /api/v1/files/{file_id}/chunks/' in line]


async def _logged(nginx: Nginx, text: str) -> None:
    """nginx logs a request just after answering it: wait (a bounded while) for the line."""
    for _ in range(500):
        if any(text in line for line in nginx.access_log()):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{text!r} never appeared in {nginx.prefix / 'access.log'}")


def _smtp_send(port: int, context: ssl.SSLContext) -> None:
    message = (
        "From: Officer <officer@agency-relay.example>\r\nTo: bao.nguyen@isecom.example\r\n"
        "Subject: Statements (fictional)\r\nDate: Sat, 28 Nov 2026 09:00:00 +0000\r\n"
        "Message-ID: <e2e-1@agency-relay.example>\r\n\r\nFictional statements follow.\r\n"
    )
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.starttls(context=context)
        smtp.sendmail("officer@agency-relay.example", ["bao.nguyen@isecom.example"], message)


class Interrupted(Exception):
    """The sending side stops mid-way (its network dropped)."""


async def test_mail_with_evidence_across_two_processes_behind_nginx(deployment: Deployment) -> None:
    d = deployment
    assert d.a.http_port is not None and d.b.http_port is not None
    sender_route, recipient_route = Route(), Route()
    alice_http, bao_http = _session(d, sender_route), _session(d, recipient_route)
    stream: aiohttp.ClientResponse | None = None
    reader: asyncio.Task[None] | None = None
    try:
        alice = await _member(d, "alice.martin@isecom.example", "Alice Martin", "FR", alice_http)
        bao = await _member(d, "bao.nguyen@isecom.example", "Bao Nguyen", "FR", bao_http)
        # Bao's live updates come from process B (through the nginx in front of B alone).
        recipient_route.address = "127.0.0.3"
        stream = await bao_http.get(f"{d.public_url}/api/v1/events", headers={"Accept": "text/event-stream"})
        assert stream.status == 200 and stream.headers["Content-Type"] == "text/event-stream", await stream.text()
        assert await stream.content.readline() == b"retry: 3000\n"
        events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        reader = asyncio.create_task(_events(stream, events))
        recipient_route.address = "127.0.0.1"

        # Alice's 20 MB file through the nginx in front of both processes; A dies half-way.
        evidence = d.tmp / "bank-statements.bin"
        evidence.write_bytes(os.urandom(SIZE))
        prepared = clientfiles.prepare(evidence, chunk_size=CHUNK)
        file_id = prepared.descriptor.file_id.hex()
        n_chunks = prepared.descriptor.n_chunks
        assert n_chunks == 39
        done = 0

        def kill_a_half_way(count: int) -> None:
            nonlocal done
            done += count
            if done >= SIZE // 2 and d.a.popen is not None and d.a.popen.poll() is None:
                d.a.kill()
                raise Interrupted

        with pytest.raises(Interrupted):
            await clientfiles.upload(alice, prepared, progress=kill_a_half_way)
        status = await alice.get(f"/api/v1/files/{file_id}")
        sent_before = n_chunks - len(status["missing"])
        assert 0 < sent_before < n_chunks and status["missing"] == list(range(sent_before, n_chunks))
        await _logged(d.main, f'"PUT /api/v1/files/{file_id}/chunks/{sent_before - 1} ')
        assert len(_puts(d.main, file_id)) == sent_before
        upstreams = {line.rsplit(" ", 1)[1] for line in _puts(d.main, file_id)}
        assert {f"127.0.0.1:{d.a.http_port}", f"127.0.0.1:{d.b.http_port}"} <= upstreams  # both took chunks
        # Resume: only the missing chunks go, to the process that is left.
        assert await clientfiles.upload(alice, prepared) == file_id
        await _logged(d.main, f'"PUT /api/v1/files/{file_id}/chunks/{n_chunks - 1} ')
        assert len(_puts(d.main, file_id)) == n_chunks  # every chunk sent exactly once
        assert d.a.popen is not None and d.a.popen.poll() is not None  # A stayed dead meanwhile

        # A comes back; Alice sends through A (the nginx in front of A alone).
        d.a.start()
        sender_route.address = "127.0.0.2"
        ring = KeyRing(root_pk=d.cfg.root_pk, origin=d.public_url)
        draft = mailclient.Draft(
            to=["bao.nguyen@isecom.example"],
            subject="Freeze request: account statements",
            body="Statements attached; fictional data.",
            attachments=[prepared.descriptor.to_json()],
        )
        started = time.monotonic()
        msg_id = await mailclient.send(alice, ring, draft, files=[file_id])
        await _logged(d.via_a, '"POST /api/v1/messages ')  # went through A

        # B announces it live to Bao: the kind, the id and the folder, nothing else.
        event = await asyncio.wait_for(events.get(), timeout=30)
        latency = time.monotonic() - started
        assert event == {"event": "mail", "type": "mail", "id": msg_id, "folder": "inbox"}
        print(f"live event across processes after {latency * 1000:.0f} ms (send included)")

        # Bao opens the message and the evidence through the shared nginx.
        bao_ring = KeyRing(root_pk=d.cfg.root_pk, origin=d.public_url)
        message = await mailclient.read(bao, bao_ring, msg_id)
        assert message.payload["subject"] == "Freeze request: account statements"
        [raw] = message.payload["attachments"]
        out = d.tmp / "received"
        out.mkdir()
        saved = await clientfiles.download(bao, Descriptor.from_json(raw), out)
        expected = hashlib.sha256(evidence.read_bytes()).hexdigest()
        assert saved.sha256 == expected
        assert hashlib.sha256(saved.path.read_bytes()).hexdigest() == expected

        # Mail from an agency's relay, accepted by the SMTP process, is announced by B as well.
        assert d.jobs.smtp_port is not None
        await asyncio.to_thread(_smtp_send, d.jobs.smtp_port, d.tls_context)
        event = await asyncio.wait_for(events.get(), timeout=30)
        assert event["event"] == "mail" and event["folder"] == "inbox" and event["id"] != msg_id
        assert (await mailclient.read(bao, bao_ring, event["id"])).smtp
    finally:
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiohttp.ClientError):
                await reader
        if stream is not None:
            stream.close()
        for session in (alice_http, bao_http):
            await session.close()

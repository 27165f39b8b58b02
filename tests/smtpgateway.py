"""A live SMTP gateway for tests: its own event loop in a thread, a real store, trustme TLS.

The gateway listens on 127.0.0.1 (an ephemeral port) over a migrated SQLite
store holding the demo members; a real ``smtplib`` client talks to it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
import smtplib
import ssl
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import trustme

from isecom.config import SenderRule, SmtpSettings
from isecom.crypto import keys, keytrans
from isecom.crypto.gateway import Gateway, gateway_seed
from isecom.services import demo, keydir
from isecom.smtp import gateway
from isecom.types import Country, Email, MemberStatus
from storage.db import make_engine
from storage.migrate import upgrade
from storage.store import SqlStore
from tests.conftest import FakeClock

DOMAINS = ("isecom.example",)
HOSTNAME = "mx.isecom.example"
FR_MEMBER = "camille.roux@isecom.example"
KE_MEMBER = "otieno.mwangi@isecom.example"
PENDING_MEMBER = "ada.admin@isecom.example"  # a demo member left unactivated: deferred at RCPT
RECEIVING = (FR_MEMBER, KE_MEMBER, "lina.moreau@isecom.example", "paul.girard@isecom.example")
FR_SENDER = "officer@police.example"  # admitted for FR from 127.0.0.1
KE_SENDER = "officer@eacc.example"  # admitted for KE only after AUTH
AUTH_USER = "ke-relay"
AUTH_SECRET = secrets.token_hex(24)
LOOPBACK = ipaddress.ip_network("127.0.0.1/32")
ELSEWHERE = ipaddress.ip_network("192.0.2.0/24")


def fr_by_relay() -> SenderRule:
    return SenderRule(Country("FR"), frozenset({"police.example"}), (LOOPBACK,))


def ke_by_auth() -> SenderRule:
    return SenderRule(Country("KE"), frozenset({"eacc.example"}), (ELSEWHERE,), AUTH_USER, AUTH_SECRET.encode())


@dataclass(frozen=True)
class Tls:
    ca: trustme.CA
    cert_file: Path
    key_file: Path

    def client_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return context


def make_tls(folder: Path) -> Tls:
    """A fresh CA and a server certificate for the gateway, written as PEM files (key 0600)."""
    ca = trustme.CA()
    cert = ca.issue_cert(HOSTNAME, "127.0.0.1")
    cert_file, key_file = folder / "smtp.crt", folder / "smtp.key"
    for pem in cert.cert_chain_pems:
        with cert_file.open("ab") as out:
            out.write(pem.bytes())
    key_file.touch(mode=0o600)
    cert.private_key_pem.write_to_path(str(key_file))
    return Tls(ca, cert_file, key_file)


class Harness:
    """An event loop in a thread holding a migrated store with the demo members."""

    def __init__(self, folder: Path) -> None:
        self.tls = make_tls(folder)
        self.clock = FakeClock()
        self.gateway = Gateway(gateway_seed(secrets.token_bytes(32)))
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="smtp-gateway", daemon=True)
        self.thread.start()
        self.store: SqlStore = self.run(self._open(folder))

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _open(self, folder: Path) -> SqlStore:
        engine = make_engine(f"sqlite+aiosqlite:///{folder / 'gateway.db'}")
        await upgrade(engine)
        store = SqlStore(engine)
        await demo.load(store, FakeClock(), secrets.token_hex(32).encode())
        for email in RECEIVING:
            await publish_keys(store, email)
        return store

    def settings(self, **overrides: Any) -> SmtpSettings:
        """TLS offered (not required), FR admitted from loopback, KE by AUTH; then the overrides."""
        base = SmtpSettings(
            tls_cert_file=self.tls.cert_file,
            tls_key_file=self.tls.key_file,
            senders=(fr_by_relay(), ke_by_auth()),
        )
        return replace(base, **overrides)

    @contextmanager
    def serve(self, **overrides: Any) -> Iterator[int]:
        """``with harness.serve(max_recipients=2) as port:`` — a gateway for one test."""
        settings = self.settings(**overrides)
        server: asyncio.Server = self.run(
            gateway.start(
                self.store, settings, DOMAINS, "127.0.0.1", 0, HOSTNAME, clock=self.clock, gateway=self.gateway
            )
        )
        try:
            yield int(server.sockets[0].getsockname()[1])
        finally:
            self.run(_close(server))

    def close(self) -> None:
        self.run(self.store.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


ROOT_SEED = bytes(range(32))
AUTHORITY = keydir.Authority(
    origin="http://127.0.0.1:8080",
    root_pk=keytrans.signing_keypair(ROOT_SEED)[0],
    root_seed=ROOT_SEED,
    log_seed=bytes(range(1, 33)),
)


async def publish_keys(store: SqlStore, email: str) -> None:
    """Activate a demo member the short way: fresh keys enrolled in the key log, status active.

    The gateway defers (4xx at RCPT) members who cannot receive yet, so the
    members the tests write to get a current published key first.
    """
    now = datetime.now(UTC)
    async with store.transaction() as tx:
        member = await tx.members.by_email(Email.parse(email))
        assert member is not None
        identity = keys.Identity.generate(bytes.fromhex(member.id.value), int(now.timestamp()))
        seqno, prev = await keydir.next_statement(tx, member.id)
        statement = keytrans.key_statement(
            identity.sig_sk,
            uid=identity.uid,
            email=email,
            seqno=seqno,
            prev=prev,
            enc_pk=identity.current.pk,
            created=int(now.timestamp()),
        )
        await keydir.enrol(
            tx,
            AUTHORITY,
            member,
            statement,
            sig_pk=identity.sig_pk,
            enc_pk=identity.current.pk,
            not_after=None,
            now=now,
        )
        await tx.members.set_status(member.id, MemberStatus.ACTIVE)


async def _close(server: asyncio.Server) -> None:
    server.close()  # on the loop's own thread: asyncio servers are not thread-safe
    await server.wait_closed()


@contextmanager
def connect(port: int, helo: str = "relay.police.example") -> Iterator[smtplib.SMTP]:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo(helo)
        yield client


def raw_data(client: smtplib.SMTP, payload: bytes) -> tuple[int, bytes]:
    """DATA with the payload sent byte for byte (``smtplib.data`` would repair line endings)."""
    client.putcmd("data")
    code, _ = client.getreply()
    assert code == 354
    client.send(payload)
    return client.getreply()

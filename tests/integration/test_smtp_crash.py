"""The SMTP gateway killed between the end of DATA and the 250 (issue 7).

A real ``isecom serve --only smtp`` process takes mail over STARTTLS from a ``smtplib``
client. Round after round, right after the client sends the final ``<CRLF>.<CRLF>``, the
test SIGKILLs the process at a different small moment (before the server could read the
dot, before it could answer, a few milliseconds later, after the 250), notes whether a 250
reached the client, and restarts the process on the same data directory. Then:

(a) every message answered with 250 is in the member's inbox, exactly once, and opens
    byte-identical with her keys;
(b) every stored message opens completely, and SQLite passes ``PRAGMA integrity_check``;
(c) a message without 250 is either absent or complete. The client then retries it, as a
    relay would: SMTP is at-least-once, so a duplicate (the first copy committed, its 250
    lost with the process) is allowed, a loss is not;
(d) no plaintext marker is anywhere in the data directory (database, WAL, blobs, logs).

No hook in the production code: the kills are plain signals at varied moments, and a
round that stops the process (SIGSTOP) before it can read the final dot guarantees that
the "no 250" case is exercised.
"""

from __future__ import annotations

import os
import signal
import smtplib
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from isecom.client import Client
from isecom.client import mail as mailclient
from isecom.client.keyring import KeyRing
from isecom.crypto.encoding import b64e
from tests.conftest import REPO, FakeClock, free_port
from tests.deploy.nginx import wait_port
from tests.integration.conftest import Instance, signed_in_member
from tests.smtpgateway import Tls, make_tls

MEMBER = "camille.roux@isecom.example"
SENDER = "officer@agency-relay.example"  # admitted for FR from 127.0.0.1 by the template isecom.toml
HELO = "relay.agency-relay.example"
# One round per moment, bounded. "stop-before-dot": SIGSTOP after the body, before the final
# dot is sent, then SIGKILL (the server cannot have read the dot: never a 250). "stop": SIGSTOP
# right after the dot is sent. Seconds: SIGKILL that long after the dot. "after-250": SIGKILL
# once the 250 is read (what was acknowledged must survive).
MOMENTS: tuple[str | float, ...] = (
    "stop-before-dot",
    "stop",
    0.0,
    0.001,
    0.003,
    0.005,
    0.006,
    0.008,
    0.012,
    "after-250",
)


@pytest.fixture
def clock() -> FakeClock:
    """The in-process reader's clock at the real time: the SMTP process sweeps by the real clock."""
    return FakeClock(datetime.now(UTC))


@dataclass
class SmtpProcess:
    data_dir: Path
    tls: Tls
    port: int = field(default_factory=free_port)
    popen: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.data_dir / "smtp-serve.log"  # inside the data directory: scanned for markers too

    def start(self) -> None:
        env = {
            **os.environ,
            "ISECOM_SMTP_TLS_CERT_FILE": str(self.tls.cert_file),
            "ISECOM_SMTP_TLS_KEY_FILE": str(self.tls.key_file),
        }
        argv = [sys.executable, "-m", "isecom", "serve", "--data", str(self.data_dir), "--only", "smtp"]
        argv += ["--smtp", f"127.0.0.1:{self.port}"]
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO)
        wait_port("127.0.0.1", self.port, "isecom serve --only smtp", self.popen, self.log)

    def signal(self, sig: signal.Signals) -> None:
        assert self.popen is not None and self.popen.poll() is None
        os.kill(self.popen.pid, sig)

    def kill(self) -> None:
        assert self.popen is not None
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=30)
        assert self.popen.returncode == -signal.SIGKILL

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


@pytest.fixture
def smtp_process(instance: Instance, tmp_path: Path) -> Iterator[SmtpProcess]:
    tls_dir = tmp_path / "tls"
    tls_dir.mkdir()
    process = SmtpProcess(instance.cfg.data_dir, make_tls(tls_dir))
    try:
        yield process
    finally:
        process.stop()


def _payload(round_no: int, marker: bytes) -> bytes:
    """A fictional message with its unique marker, CRLF line endings, no line starting with a dot."""
    return (
        (
            f"From: Officer <{SENDER}>\r\nTo: <{MEMBER}>\r\nSubject: Freeze request {round_no} (fictional)\r\n"
            f"Date: Sat, 28 Nov 2026 09:00:00 +0000\r\nMessage-ID: <crash-{round_no}@agency-relay.example>\r\n\r\n"
        ).encode()
        + b"Fictional account statements follow.\r\n"
        + marker
        + b"\r\n"
        + (b"x" * 70 + b"\r\n") * (1 + 4 * round_no)
    )


def _open_session(port: int, tls: Tls) -> smtplib.SMTP:
    smtp = smtplib.SMTP("127.0.0.1", port, timeout=30)
    smtp.ehlo(HELO)
    smtp.starttls(context=tls.client_context())
    smtp.ehlo(HELO)
    assert smtp.mail(SENDER)[0] == 250
    assert smtp.rcpt(MEMBER)[0] == 250
    return smtp


def _crash_round(process: SmtpProcess, payload: bytes, moment: str | float) -> bool:
    """Send ``payload`` and kill the server at ``moment``; True when a 250 reached the client."""
    smtp = _open_session(process.port, process.tls)
    try:
        code, _ = smtp.docmd("DATA")
        assert code == 354
        assert smtp.sock is not None
        if moment == "stop-before-dot":
            smtp.sock.sendall(payload)
            process.signal(signal.SIGSTOP)
            smtp.sock.sendall(b".\r\n")
        else:
            smtp.sock.sendall(payload + b".\r\n")  # the wire ends with the final <CRLF>.<CRLF>
            if moment == "stop":
                process.signal(signal.SIGSTOP)
            elif moment == "after-250":
                code, reply = smtp.getreply()
                assert code == 250, reply
            else:
                assert isinstance(moment, float)
                if moment:
                    time.sleep(moment)
        process.kill()
        if moment == "after-250":
            return True
        # Whatever the server wrote before it died is still in this socket: read it.
        try:
            code, _ = smtp.getreply()
        except (smtplib.SMTPServerDisconnected, OSError):
            return False
        assert code == 250  # the only answer a dying server may have given
        return True
    finally:
        smtp.close()


def _retry(process: SmtpProcess, payload: bytes) -> None:
    smtp = _open_session(process.port, process.tls)
    try:
        code, reply = smtp.data(payload)
        assert code == 250, reply
        smtp.quit()
    finally:
        smtp.close()


async def _stored(client: Client, ring: KeyRing, markers: dict[bytes, bytes]) -> dict[bytes, int]:
    """Open every message in the inbox; each is one of the payloads sent, complete. Copies per marker."""
    listing = await mailclient.folder(client, "inbox", limit=100)
    copies = dict.fromkeys(markers, 0)
    for entry in listing["messages"]:
        message = await mailclient.read(client, ring, entry["id"])
        assert message.smtp and message.raw is not None
        [marker] = [m for m in markers if m in message.raw]
        assert message.raw == markers[marker]  # byte-identical: nothing half-written
        copies[marker] += 1
    assert sum(copies.values()) == len(listing["messages"]) < 100
    return copies


def _integrity(database: Path) -> None:
    with sqlite3.connect(str(database)) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def _files_holding(folder: Path, needles: list[bytes]) -> list[str]:
    return [
        str(path)
        for path in folder.rglob("*")
        if path.is_file() and any(needle in path.read_bytes() for needle in needles)
    ]


async def test_a_kill_between_the_end_of_data_and_the_250_loses_nothing_acknowledged(
    instance: Instance, smtp_process: SmtpProcess
) -> None:
    client = await signed_in_member(instance, MEMBER, name="Camille Roux", country="FR", agency="Demo ARO", roles=[])
    try:
        ring = KeyRing(root_pk=instance.cfg.root_pk, origin=instance.cfg.public_url)
        database = instance.cfg.data_dir / "isecom.db"
        markers: dict[bytes, bytes] = {}
        acknowledged: set[bytes] = set()
        retried: set[bytes] = set()
        outcomes: list[tuple[str | float, bool, int]] = []  # (moment, 250 seen, copies before any retry)
        smtp_process.start()
        for round_no, moment in enumerate(MOMENTS):
            marker = f"FICTIONAL-CRASH-MARKER-{round_no}-{os.urandom(8).hex()}".encode()
            payload = _payload(round_no, marker)
            markers[marker] = payload
            acked = _crash_round(smtp_process, payload, moment)
            smtp_process.start()  # the restart, on the same data directory
            _integrity(database)
            copies = await _stored(client, ring, markers)
            outcomes.append((moment, acked, copies[marker]))
            if acked:
                acknowledged.add(marker)
                assert copies[marker] == 1, (moment, copies)
            else:
                assert copies[marker] in (0, 1), (moment, copies)  # absent, or complete (checked above)
                _retry(smtp_process, payload)
                retried.add(marker)
            assert moment != "stop-before-dot" or not acked
        smtp_process.stop()
        print("kill moment, 250 seen, copies stored before the retry:", outcomes)

        # Both cases were exercised: killed before the 250 reached the client, and after.
        assert retried and acknowledged, (retried, acknowledged)
        _integrity(database)
        copies = await _stored(client, ring, markers)
        for marker in acknowledged:
            assert copies[marker] == 1  # acknowledged: there, once (no retry was sent)
        for marker in retried:
            assert copies[marker] in (1, 2)  # at-least-once: a duplicate is allowed, a loss is not
        needles = [*markers, *(b64e(payload)[8:72].encode() for payload in markers.values())]
        assert _files_holding(instance.cfg.data_dir, needles) == []
        assert "inbound mail stored" in smtp_process.log.read_text(errors="replace")
    finally:
        await client.close()

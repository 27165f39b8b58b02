"""``isecom client`` mail commands, run as real processes against a live instance.

Three members of three countries: Alice sends Bruno an evidence file from the command line,
Bruno lists and reads it (and the Python library opens the same message), replies to all,
forwards it to Clara, who downloads the attachment and verifies its SHA-256; nothing is
uploaded again for the forward. Bad input is one clear line and exit code 1.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import smtplib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from isecom.client import Client, mail
from isecom.client.state import State
from tests.conftest import LiveServer, run_cli, start_server, stop_server

PASSWORD = "a long and fictional passphrase"
MARKER = "CLI-MARKER-7f3a"
EMAILS = {
    "alice": ("alice.martin@isecom.example", "Alice Martin", "FR"),
    "bruno": ("bruno.costa@isecom.example", "Bruno Costa", "BR"),
    "clara": ("clara.weiss@isecom.example", "Clara Weiss", "AT"),
}


@dataclass
class Member:
    email: str
    totp: Path
    password: Path

    def args(self, server: LiveServer) -> list[str]:
        return [
            "--server",
            server.url,
            "--email",
            self.email,
            "--password-file",
            str(self.password),
            "--totp-secret-file",
            str(self.totp),
        ]


@dataclass
class World:
    server: LiveServer
    members: dict[str, Member]
    tmp: Path

    def cli(self, who: str, command: str, *args: str) -> Any:
        return run_cli("client", *self.members[who].args(self.server), command, *args)


async def _activate(link: str) -> str:
    base, token = link.split("/activate#")
    async with Client(base) as client:
        # The code of the previous 30-second step (accepted: one step of drift), so the CLI's
        # first sign-in, at the current step, is not refused as a replay.
        done = await client.activate(token, PASSWORD, now=datetime.now(UTC) - timedelta(seconds=30))
    return done.totp_secret


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("client-cli")
    data = tmp / "data"
    assert run_cli("init", data=data).returncode == 0
    server = start_server(data, env={"ISECOM_KEYS_CHECKPOINT_SECONDS": "1"})
    try:
        password = tmp / "password"
        password.write_text(PASSWORD + "\n", encoding="utf-8")
        members: dict[str, Member] = {}
        for who, (email, name, country) in EMAILS.items():
            created = run_cli(
                "admin", "create-member", "--email", email, "--name", name, "--country", country,
                "--agency", "Fictional Unit", data=data,
            )  # fmt: skip
            assert created.returncode == 0, created.stderr
            token = re.search(r"/activate#(\S+)", created.stdout)
            assert token is not None
            totp = tmp / f"{who}.totp"
            totp.write_text(asyncio.run(_activate(f"{server.url}/activate#{token.group(1)}")) + "\n", encoding="utf-8")
            members[who] = Member(email, totp, password)
        world = World(server, members, tmp)
        for who in members:
            done = world.cli(who, "login")
            assert done.returncode == 0, done.stderr
            assert "trusting the server's root key" in done.stderr  # first use says so
        yield world
    finally:
        stop_server(server)


def test_help_says_first_use_trusts_the_server() -> None:
    for command in ([], ["login"], ["send"], ["list"], ["read"], ["reply"], ["forward"]):
        result = run_cli("client", *command, "--help")
        assert result.returncode == 0 and "usage: isecom client" in result.stdout
        assert "First use therefore trusts the server" in result.stdout


def _ok(result: Any) -> Any:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


def _json(result: Any) -> Any:
    return json.loads(_ok(result).stdout)


def _blobs(world: World) -> set[Path]:
    return {p for p in (world.server.data / "blobs").rglob("*") if p.is_file()}


async def _library_read(world: World, who: str, msg_id: str) -> mail.Message:
    """The Python library opens what the CLI sent, resuming the CLI's session (no new TOTP code)."""
    member = world.members[who]
    path = member.totp.with_name(member.totp.name + ".state.json")
    async with Client(world.server.url) as client:
        state = State.load(path, origin=client.origin, email=member.email)
        client.restore_cookies(state.cookies)
        await client.unlock(PASSWORD)
        return await mail.read(client, state.keyring(client.origin), msg_id)


def test_send_read_reply_and_forward_an_evidence_file(world: World) -> None:
    evidence = world.tmp / "statement.pdf"
    evidence.write_bytes(os.urandom(9 * 1024 * 1024 + 123))  # three 4 MiB chunks
    digest = hashlib.sha256(evidence.read_bytes()).hexdigest()
    body = world.tmp / "body.txt"
    body.write_text(f"Please freeze the accounts in the statement. {MARKER}\n", encoding="utf-8")

    sent = _ok(
        world.cli(
            "alice", "send", "--to", EMAILS["bruno"][0], "--subject", f"Freeze request {MARKER}",
            "--body-file", str(body), "--attach", str(evidence), "--handling", "H2",
        )
    )  # fmt: skip
    msg_id = sent.stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{32}", msg_id)

    listed = _json(world.cli("bruno", "list", "--json"))
    assert listed["folder"] == "inbox" and [m["id"] for m in listed["messages"]] == [msg_id]
    [row] = listed["messages"]
    assert row["verified"] is True and row["unread"] is True and row["handling"] == "H2"
    assert row["subject"] == f"Freeze request {MARKER}" and row["from"]["email"] == EMAILS["alice"][0]
    assert [a["name"] for a in row["attachments"]] == ["statement.pdf"] and row["attachments"][0]["sha256"] == digest

    saved_dir = world.tmp / "bruno-files"
    opened = _json(world.cli("bruno", "read", msg_id, "--save-attachments", str(saved_dir), "--json"))
    assert opened["body"].strip().endswith(MARKER) and opened["verified"] is True
    [saved] = opened["saved"]
    assert saved["verified"] is True and saved["sha256"] == digest
    assert (saved_dir / "statement.pdf").read_bytes() == evidence.read_bytes()
    assert not list(saved_dir.glob("*.part"))
    assert _json(world.cli("bruno", "list", "--json"))["messages"][0]["unread"] is False  # read marks it

    by_library = asyncio.run(_library_read(world, "bruno", msg_id))
    assert by_library.payload["subject"] == f"Freeze request {MARKER}"
    assert by_library.payload["attachments"][0]["name"] == "statement.pdf"

    reply_body = world.tmp / "reply.txt"
    reply_body.write_text("Frozen this morning.\n", encoding="utf-8")
    reply_id = _ok(world.cli("bruno", "reply", msg_id, "--all", "--body-file", str(reply_body))).stdout.strip()
    answer = _json(world.cli("alice", "read", reply_id, "--json"))
    assert answer["in_reply_to"] == msg_id and answer["references"] == [msg_id]
    assert answer["subject"] == f"Re: Freeze request {MARKER}" and answer["handling"] == "H2"
    assert [p["email"] for p in answer["to"]] == [EMAILS["alice"][0]]

    before = _blobs(world)
    forwarded = _json(world.cli("bruno", "forward", msg_id, "--to", EMAILS["clara"][0], "--json"))
    assert _blobs(world) == before  # nothing uploaded again
    clara_dir = world.tmp / "clara-files"
    seen = _json(world.cli("clara", "read", forwarded["id"], "--save-attachments", str(clara_dir), "--json"))
    assert seen["from"]["email"] == EMAILS["bruno"][0] and seen["subject"] == f"Fwd: Freeze request {MARKER}"
    [hop] = seen["forwarded"]
    assert hop == {
        "msg_id": msg_id,
        "from": by_library.payload["from"]["uid"],
        "date": by_library.payload["date"],
        "sender": {"verified": True, "name": "Alice Martin", "agency": "Fictional Unit", "country": "FR"},
    }
    assert MARKER in seen["body"]
    [clara_saved] = seen["saved"]
    assert clara_saved["verified"] is True and clara_saved["sha256"] == digest
    assert hashlib.sha256((clara_dir / "statement.pdf").read_bytes()).hexdigest() == digest

    human = _ok(world.cli("clara", "read", forwarded["id"]))
    assert "signature verified" in human.stdout and f"SHA-256 {digest}" in human.stdout
    assert "from Alice Martin, Fictional Unit, FR (checked in the key directory)" in human.stdout

    sent_box = _json(world.cli("alice", "list", "--folder", "sent", "--json"))
    assert msg_id in [m["id"] for m in sent_box["messages"]]

    # The KeyRing's state survives between runs, in a private file with no key material.
    alice = world.members["alice"]
    state_file = alice.totp.with_name(alice.totp.name + ".state.json")
    assert state_file.stat().st_mode & 0o777 == 0o600
    state = json.loads(state_file.read_text(encoding="utf-8"))
    assert state["keyring"]["checkpoint"] and state["keyring"]["log_pk"]
    bruno_uid = by_library.payload["to"][0]["uid"]
    assert bruno_uid in state["keyring"]["seen"]  # checked before sending, remembered since
    assert PASSWORD not in state_file.read_text(encoding="utf-8")


def _refused(result: Any, *words: str) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and result.stderr.startswith("isecom: error: ")
    for word in words:
        assert word in result.stderr
    return str(result.stderr)


def test_bad_input_is_one_clear_line_and_exit_code_1(world: World) -> None:
    body = world.tmp / "short.txt"
    body.write_text("hello\n", encoding="utf-8")
    _refused(
        world.cli("alice", "send", "--to", "nobody@isecom.example", "--subject", "s", "--body-file", str(body)),
        "unknown recipient nobody@isecom.example",
    )
    _refused(
        world.cli(
            "alice", "send", "--to", EMAILS["bruno"][0], "--subject", "s", "--body-file", str(body),
            "--attach", str(world.tmp / "missing.pdf"),
        ),
        "cannot read the attachment",
    )  # fmt: skip
    _refused(
        world.cli("alice", "send", "--to", EMAILS["bruno"][0], "--subject", "s", "--body-file", "/nonexistent"),
        "cannot read the body file",
    )
    _refused(world.cli("alice", "read", "0" * 32), "No such message")
    _refused(world.cli("alice", "list", "--root-key", "ab" * 32), "differs from the root key pinned")
    # A server whose root key is not the one pinned on first use is refused.
    alice = world.members["alice"]
    state_file = alice.totp.with_name(alice.totp.name + ".state.json")
    saved = state_file.read_text(encoding="utf-8")
    state = json.loads(saved)
    state["root_key"] = "cd" * 32
    state_file.write_text(json.dumps(state), encoding="utf-8")
    try:
        _refused(world.cli("alice", "list"), "is not the pinned", "refusing")
    finally:
        state_file.write_text(saved, encoding="utf-8")
    wrong = world.tmp / "wrong"
    wrong.write_text("not the password\n", encoding="utf-8")
    resumed = run_cli(
        "client", "list", "--server", world.server.url, "--email", alice.email,
        "--password-file", str(wrong), "--totp-secret-file", str(alice.totp),
    )  # fmt: skip
    _refused(resumed, "password does not open")
    fresh = run_cli(
        "client", "login", "--server", world.server.url, "--email", alice.email,
        "--password-file", str(wrong), "--totp-secret-file", str(alice.totp),
    )  # fmt: skip
    _refused(fresh, "the server refused")


def test_read_eml_out_writes_the_original_smtp_message(world: World) -> None:
    """Mail that arrived by SMTP: --eml-out writes the bytes as received; never over an existing file."""
    original = (
        "From: Officer <sender@agency-relay.example>\r\nTo: alice.martin@isecom.example\r\n"
        f"Subject: EML {MARKER}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"Fictional body {MARKER}, été.\r\n"
    ).encode()
    with smtplib.SMTP("127.0.0.1", world.server.smtp_port, timeout=30) as smtp:
        smtp.ehlo("agency-relay.example")
        assert smtp.mail("sender@agency-relay.example", ["BODY=8BITMIME"])[0] == 250
        assert smtp.rcpt(EMAILS["alice"][0])[0] == 250
        assert smtp.data(original)[0] == 250
    listing = _json(world.cli("alice", "list", "--json"))
    [smtp_id] = [m["id"] for m in listing["messages"] if m.get("type") == "smtp"]
    target = world.tmp / "original.eml"
    _ok(world.cli("alice", "read", smtp_id, "--eml-out", str(target)))
    assert target.read_bytes() == original
    assert target.stat().st_mode & 0o777 == 0o600
    _refused(world.cli("alice", "read", smtp_id, "--eml-out", str(target)), "exists already")
    web_id = next(m["id"] for m in listing["messages"] if m.get("type") != "smtp")
    _refused(world.cli("alice", "read", web_id, "--eml-out", str(world.tmp / "web.eml")), "arrived by SMTP")
    assert not (world.tmp / "web.eml").exists()

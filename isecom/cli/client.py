"""``isecom client``: act as a member without a browser — activation, sign-in and mail.

The mail commands sign in once (password and TOTP), keep the session cookie and the key
log state in a 0600 state file, and on later runs unlock the keys with the password only.
Every failure is one line on stderr and exit code 1 (``isecom.cli.main``).
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.message
import email.policy
import functools
import getpass
import json
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from isecom.auth import two_factor
from isecom.client import Client, ClientError, compose, eml, files, mail
from isecom.client.keyring import KeyProblem, KeyRing
from isecom.client.session import split_activation_link
from isecom.client.state import State, StateError, default_path
from isecom.crypto.attachments import Descriptor
from isecom.crypto.encoding import b64d
from isecom.crypto.errors import CryptoError
from isecom.errors import InvalidInput, IsecomError


def _read_secret(path: Path, what: str) -> str:
    try:
        value = path.read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise InvalidInput(f"cannot read the {what} file {path}: {exc.strerror}") from None
    if not value:
        raise InvalidInput(f"the {what} file {path} is empty")
    return value


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")


def _refused(exc: ClientError) -> IsecomError:
    return IsecomError(f"the server refused: {exc.message} ({exc.code})")


async def activate(args: argparse.Namespace) -> int:
    password = _read_secret(args.password_file, "password")
    try:
        base, token = split_activation_link(args.url)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    async with Client(base) as client:
        try:
            done = await client.activate(token, password)
        except ClientError as exc:
            raise _refused(exc) from None
    _write_private(args.totp_secret_out, done.totp_secret)
    _write_private(args.recovery_code_out, done.recovery_code)
    print(f"activated {done.member['email']}; TOTP secret and recovery code written (mode 0600)")
    return 0


async def sign_in(args: argparse.Namespace) -> int:
    password = _read_secret(args.password_file, "password")
    secret = _read_secret(args.totp_secret_file, "TOTP secret")
    async with Client(args.url) as client:
        try:
            done = await client.sign_in(args.email, password, two_factor.code_at(secret, datetime.now(UTC)))
            await client.sign_out()
        except ClientError as exc:
            raise _refused(exc) from None
    print(
        f"signed in as {done.member['name']} <{done.member['email']}>; keys unlocked "
        f"(signing key id {done.identity.sig_kid.hex()[:16]}…)"
    )
    return 0


# --- mail: one signed-in, unlocked member per run ------------------------------------------------


@dataclass
class Member:
    client: Client
    ring: KeyRing
    state: State
    json: bool

    @property
    def me(self) -> dict[str, Any]:
        if self.client.signed is None:
            raise IsecomError("not signed in")
        return self.client.signed.member


def _password(args: argparse.Namespace) -> str:
    if args.password_file is not None:
        return _read_secret(args.password_file, "password")
    return getpass.getpass(f"Password for {args.email}: ")


def _totp_code(args: argparse.Namespace) -> str:
    if args.totp_secret_file is not None:
        return two_factor.code_at(_read_secret(args.totp_secret_file, "TOTP secret"), datetime.now(UTC))
    return getpass.getpass("TOTP code: ").strip()


async def _pin_root(client: Client, state: State, given: str | None) -> None:
    """Trust on first use, or the key given with --root-key; refuse any later change."""
    pinned = state.root_pk
    if given is not None:
        try:
            wanted = bytes.fromhex(given)
        except ValueError:
            wanted = b""
        if len(wanted) != 32:
            raise InvalidInput("--root-key must be 64 hex digits (the platform root public key)")
        if pinned is not None and pinned != wanted:
            raise IsecomError(f"--root-key differs from the root key pinned in {state.path}; refusing")
        pinned = wanted
    about = await client.get("/keys/")
    served = b64d(about.get("root_key"), size=32)
    if pinned is None:
        print(
            f"isecom: trusting the server's root key {served.hex()} on first use (pinned in {state.path})",
            file=sys.stderr,
        )
        pinned = served
    elif served != pinned:
        raise IsecomError(
            f"the server's root key {served.hex()} is not the pinned {pinned.hex()}: refusing "
            "(someone may be impersonating the server; ask the platform operators)"
        )
    state.root_pk = pinned


@asynccontextmanager
async def _member(args: argparse.Namespace, *, fresh: bool = False) -> AsyncIterator[Member]:
    """Resume the remembered session (password only) or sign in (password and TOTP); keys unlocked."""
    if not args.server or not args.email:
        raise InvalidInput("this command needs --server URL and --email ADDRESS (before or after the command)")
    state_path = args.state_file or default_path(args.totp_secret_file, args.email)
    async with Client(args.server) as client:
        state = State.load(state_path, origin=client.origin, email=args.email)
        password = _password(args)
        await _pin_root(client, state, args.root_key)
        if state.cookies and not fresh:
            client.restore_cookies(state.cookies)
            try:
                await client.unlock(password)
            except ClientError as exc:
                if exc.status != 401:
                    raise
                client.csrf_token = None  # the session ended: sign in again below
        if client.signed is None:
            await client.sign_in(args.email, password, _totp_code(args))
        state.cookies = client.session_cookies()
        member = Member(client, state.keyring(client.origin), state, bool(getattr(args, "json", False)))
        try:
            yield member
        finally:
            state.remember(member.ring)
            state.save()


def _errors(run: Callable[[argparse.Namespace], Awaitable[int]]) -> Callable[[argparse.Namespace], Awaitable[int]]:
    """Every failure a member can cause or meet becomes one clear line and exit code 1."""

    @functools.wraps(run)
    async def wrapped(args: argparse.Namespace) -> int:
        try:
            return await run(args)
        except ClientError as exc:
            if exc.status == 0:
                raise IsecomError(exc.message) from None
            raise _refused(exc) from None
        except KeyProblem as exc:
            raise IsecomError(exc.reason) from None
        except CryptoError as exc:
            raise IsecomError(f"{exc.message} (check: {exc.check})") from None
        except (StateError, files.FileChanged) as exc:
            raise IsecomError(str(exc)) from None
        except aiohttp.ClientError as exc:
            raise IsecomError(f"cannot reach the server: {exc}") from None
        except OSError as exc:
            raise IsecomError(f"{exc.filename or 'file'}: {exc.strerror or exc}") from None

    return wrapped


async def _key(member: Member, email: str) -> None:
    """Check a recipient's keys before anything is uploaded; wait briefly for a pending checkpoint."""
    for attempt in range(20):
        try:
            await member.ring.fetch(member.client, email=email)
            return
        except KeyProblem as exc:
            if exc.check != "pending" or attempt == 19:
                raise KeyProblem(f"cannot send to {email}: {exc.reason}", check=exc.check) from None
            await asyncio.sleep(1)
        except ClientError as exc:
            if exc.status == 404:
                raise IsecomError(f"unknown recipient {email}: no member has this address") from None
            if exc.status == 400:
                raise IsecomError(f"{email!r} is not a valid address: {exc.message}") from None
            raise


def _bar(member: Member) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=member.json or not sys.stderr.isatty(),
    )


def _body(path: Path | None) -> str:
    if path is None:
        return ""
    if str(path) == "-":
        return sys.stdin.read()
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read the body file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"the body file {path} is not UTF-8 text") from None


async def _attach(member: Member, paths: list[Path]) -> tuple[list[dict[str, Any]], list[str]]:
    for path in paths:
        if not path.is_file() or not os.access(path, os.R_OK):
            raise InvalidInput(f"cannot read the attachment {path}: no such readable file")
    descriptors: list[dict[str, Any]] = []
    ids: list[str] = []
    with _bar(member) as bar:
        for path in paths:
            size = path.stat().st_size
            task = bar.add_task(f"encrypting {path.name}", total=size)
            prepared = files.prepare(path, progress=functools.partial(bar.advance, task))
            bar.update(task, description=f"uploading {path.name}", completed=0)
            ids.append(await files.upload(member.client, prepared, progress=functools.partial(bar.advance, task)))
            descriptors.append(prepared.descriptor.to_json())
    return descriptors, ids


def _sent(member: Member, msg_id: str, draft: mail.Draft) -> int:
    if member.json:
        _print_json({"id": msg_id, "to": draft.to, "cc": draft.cc, "attachments": len(draft.attachments)})
    else:
        print(msg_id)
    return 0


def _print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, sort_keys=True))


@_errors
async def login(args: argparse.Namespace) -> int:
    async with _member(args, fresh=True) as member:
        me = member.me
        if member.json:
            _print_json({"member": me, "state_file": str(member.state.path)})
        else:
            print(f"signed in as {me['name']} <{me['email']}>; session remembered in {member.state.path}")
    return 0


@_errors
async def send(args: argparse.Namespace) -> int:
    body = _body(args.body_file)
    async with _member(args) as member:
        for email in dict.fromkeys([*args.to, *args.cc]):
            await _key(member, email)
        descriptors, ids = await _attach(member, args.attach)
        draft = mail.Draft(
            to=args.to, cc=args.cc, subject=args.subject, body=body, handling=args.handling, attachments=descriptors
        )
        return _sent(member, await mail.send(member.client, member.ring, draft, files=ids), draft)


def _smtp_summary(message: mail.Message) -> tuple[dict[str, Any], str]:
    """Mail that arrived over SMTP, sealed by the gateway (no member signature): headers and text."""
    p, e = message.payload, message.entry
    parsed = email.message_from_bytes(b64d(p["raw"]), policy=email.policy.default)
    part = parsed.get_body(preferencelist=("plain",)) if isinstance(parsed, email.message.EmailMessage) else None
    try:
        text = part.get_content() if part is not None else ""
    except (LookupError, ValueError):
        text = ""
    summary = {
        "id": e["id"],
        "type": "smtp",
        "folder": e["folder"],
        "unread": e["unread"],
        "starred": e["starred"],
        "received_at": e["received_at"],
        "from": {"uid": None, "name": str(parsed.get("From", p["smtp_from"])), "email": p["smtp_from"]},
        "to": [{"uid": None, "name": address, "email": address} for address in p["smtp_to"]],
        "cc": [],
        "subject": str(parsed.get("Subject", "")),
        "date": p["received"],
        "handling": None,
        "in_reply_to": None,
        "references": [],
        "forwarded": [],
        "attachments": [],
    }
    return summary, str(text)


def _summary(message: mail.Message) -> dict[str, Any]:
    if message.payload.get("type") == "smtp":
        return _smtp_summary(message)[0]
    p, e = message.payload, message.entry
    return {
        "id": e["id"],
        "type": "mail",
        "folder": e["folder"],
        "unread": e["unread"],
        "starred": e["starred"],
        "received_at": e["received_at"],
        "from": p["from"],
        "to": p["to"],
        "cc": p["cc"],
        "subject": p["subject"],
        "date": p["date"],
        "handling": p["handling"],
        "in_reply_to": p["in_reply_to"],
        "references": p["references"],
        "forwarded": p["forwarded"],
        "attachments": [
            {
                "file_id": Descriptor.from_json(a).file_id.hex(),
                "name": a["name"],
                "mime": a["mime"],
                "size": a["size"],
                "sha256": b64d(a["sha256"]).hex(),
            }
            for a in p["attachments"]
        ],
    }


@_errors
async def list_folder(args: argparse.Namespace) -> int:
    async with _member(args) as member:
        page = await mail.folder(member.client, args.folder, limit=args.limit)
        rows: list[dict[str, Any]] = []
        for entry in page["messages"]:
            try:
                opened = await mail.read(member.client, member.ring, entry["id"])
                row = _summary(opened)
                row["verified"], row["problem"] = True, None
            except (KeyProblem, CryptoError) as exc:  # listed, never shown as if it were genuine
                problem = exc.reason if isinstance(exc, KeyProblem) else exc.check
                row = {"id": entry["id"], "folder": entry["folder"], "unread": entry["unread"]}
                row.update({"received_at": entry["received_at"], "verified": False, "problem": problem})
            rows.append(row)
        if member.json:
            _print_json({"folder": args.folder, "messages": rows, "next": page["next"], "unread": page["unread"]})
            return 0
        for row in rows:
            flag = "*" if row["unread"] else " "
            if row["verified"]:
                clip = f"[{len(row['attachments'])} att]" if row["attachments"] else "        "
                sender = f"{row['from']['name']} <{row['from']['email']}>"
                mark = row["handling"] or "SMTP"
                print(f"{flag} {row['id']}  {row['date']}  {mark} {clip} {sender}  {row['subject']}")
            else:
                print(f"{flag} {row['id']}  {row['received_at']}  cannot be verified: {row['problem']}")
        if not rows:
            print(f"({args.folder} is empty)")
    return 0


async def _save(member: Member, message: mail.Message, folder: Path) -> list[dict[str, Any]]:
    """Download, decrypt and verify each attachment into ``folder``; a report per file."""
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    reports: list[dict[str, Any]] = []
    with _bar(member) as bar:
        for raw in message.payload["attachments"]:
            descriptor = Descriptor.from_json(raw)
            task = bar.add_task(f"downloading {descriptor.name}", total=descriptor.size)
            report: dict[str, Any] = {"file_id": descriptor.file_id.hex(), "name": descriptor.name}
            try:
                saved = await files.download(
                    member.client, descriptor, folder, progress=functools.partial(bar.advance, task)
                )
                report.update({"saved": str(saved.path), "sha256": saved.sha256, "verified": True, "problem": None})
            except CryptoError as exc:
                problem = f"integrity check failed ({exc.check}); the partial file was removed"
                report.update({"saved": None, "sha256": None, "verified": False, "problem": problem})
            except ClientError as exc:
                report.update({"saved": None, "sha256": None, "verified": False, "problem": exc.code})
            except FileExistsError as exc:
                report.update({"saved": None, "sha256": None, "verified": False, "problem": str(exc)})
            reports.append(report)
    return reports


@_errors
async def read(args: argparse.Namespace) -> int:
    async with _member(args) as member:
        message = await mail.read(member.client, member.ring, args.id)
        if message.entry["unread"]:
            await member.client.http_patch(f"/api/v1/messages/{args.id}", {"unread": False})
        if getattr(args, "eml_out", None):
            await eml.save_original(message, args.eml_out)
        saved = await _save(member, message, args.save_attachments) if args.save_attachments else []
        if message.payload.get("type") == "smtp":
            summary, body = _smtp_summary(message)
        else:
            summary, body = _summary(message), message.payload["body"]
            summary["forwarded"] = [{**hop, "sender": await _hop_sender(member, hop)} for hop in summary["forwarded"]]
        if member.json:
            _print_json({**summary, "body": body, "verified": True, "saved": saved})
        else:
            _show(summary, body, saved)
    return 1 if any(not s["verified"] for s in saved) else 0


async def _hop_sender(member: Member, hop: dict[str, Any]) -> dict[str, Any]:
    """Who sent a message this one forwards, as the key directory certifies them (the hop names
    only a member id, stated by the forwarder inside the signed payload)."""
    try:
        verified = await member.ring.fetch(member.client, member_id=hop["from"], signed_at=_epoch(hop["date"]))
    except KeyProblem as exc:
        return {"verified": False, "problem": exc.reason}
    approval = verified.approval
    return {"verified": True, "name": approval.name, "agency": approval.agency, "country": approval.country}


def _epoch(date: str) -> int | None:
    try:
        return int(datetime.fromisoformat(date).timestamp())
    except (TypeError, ValueError):
        return None


def _show(summary: dict[str, Any], body: str, saved: list[dict[str, Any]]) -> None:
    def people(parties: list[dict[str, Any]]) -> str:
        return ", ".join(f"{p['name']} <{p['email']}>" for p in parties)

    sender = summary["from"]
    if summary["type"] == "smtp":
        print(f"From:     {sender['name']}  (arrived by SMTP, sealed by the gateway: not end-to-end encrypted)")
    else:
        print(f"From:     {sender['name']} <{sender['email']}>  (signature verified)")
    print(f"To:       {people(summary['to'])}")
    if summary["cc"]:
        print(f"Cc:       {people(summary['cc'])}")
    print(f"Date:     {summary['date']}")
    if summary["handling"]:
        print(f"Handling: {summary['handling']}")
    print(f"Subject:  {summary['subject']}")
    for hop in summary["forwarded"]:
        by = hop.get("sender") or {}
        who = (
            f"{by['name']}, {by['agency']}, {by['country']} (checked in the key directory)"
            if by.get("verified")
            else f"a member whose keys could not be checked ({by.get('problem', 'unknown')})"
        )
        print(f"Forwarded: message {hop['msg_id']} of {hop['date']} from {who}")
    for a in summary["attachments"]:
        print(f"Attached: {a['name']} ({a['size']} bytes, {a['mime']}) SHA-256 {a['sha256']}")
    for s in saved:
        if s["verified"]:
            print(f"Saved:    {s['saved']}: integrity verified, SHA-256 {s['sha256']}")
        else:
            print(f"Refused:  {s['name']}: {s['problem']}", file=sys.stderr)
    print()
    print(body)


def _member_mail(message: mail.Message) -> mail.Message:
    if message.payload.get("type") != "mail":
        raise IsecomError("this message arrived by SMTP; reply to or forward it from the webmail")
    return message


@_errors
async def reply(args: argparse.Namespace) -> int:
    body = _body(args.body_file)
    async with _member(args) as member:
        original = _member_mail(await mail.read(member.client, member.ring, args.id))
        draft = compose.reply(original, me=member.me["email"], body=body, everyone=args.all)
        for email in dict.fromkeys([*draft.to, *draft.cc]):
            await _key(member, email)
        return _sent(member, await mail.send(member.client, member.ring, draft), draft)


@_errors
async def forward(args: argparse.Namespace) -> int:
    body = _body(args.body_file)
    async with _member(args) as member:
        original = _member_mail(await mail.read(member.client, member.ring, args.id))
        draft, ids = compose.forward(original, to=args.to, cc=args.cc, body=body)
        for email in dict.fromkeys([*draft.to, *draft.cc]):
            await _key(member, email)
        return _sent(member, await mail.send(member.client, member.ring, draft, files=ids), draft)

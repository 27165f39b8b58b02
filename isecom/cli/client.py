"""``isecom client``: act as a member without a browser (automation and tests)."""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime
from pathlib import Path

from isecom.auth import two_factor
from isecom.client import Client, ClientError
from isecom.client.session import split_activation_link
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

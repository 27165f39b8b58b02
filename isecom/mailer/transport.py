"""Where rendered mail goes: an SMTP relay, or a folder of .eml files (development and tests)."""

from __future__ import annotations

import asyncio
import os
import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol


class Transport(Protocol):
    async def send(self, message: EmailMessage) -> None:
        """Hand the message over; raise OSError or smtplib.SMTPException when it was not accepted."""
        ...


class SmtpRelay:
    """The configured relay; STARTTLS when it offers it (required when ``require_tls``)."""

    def __init__(self, host: str, port: int, *, require_tls: bool = False, timeout: float = 30) -> None:
        self.host, self.port, self.require_tls, self.timeout = host, port, require_tls, timeout

    async def send(self, message: EmailMessage) -> None:
        await asyncio.to_thread(self._send, message)

    def _send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as client:
            client.ehlo()
            if client.has_extn("starttls"):
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            elif self.require_tls:
                raise smtplib.SMTPException("the relay does not offer STARTTLS")
            client.send_message(message)


class DirectorySink:
    """Each message becomes one .eml file, written atomically (temp file, fsync, rename)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def send(self, message: EmailMessage) -> None:
        await asyncio.to_thread(self._write, message)

    def _write(self, message: EmailMessage) -> None:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        name = f"{message['Message-ID'].strip('<>').split('@')[0]}.eml"
        tmp = self.folder / f".{name}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(bytes(message))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.folder / name)

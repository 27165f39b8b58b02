"""Deliver the outbox: render, send, mark; retry with backoff; give up visibly after the last try."""

from __future__ import annotations

import asyncio
import json
import logging
import smtplib
from collections.abc import Callable
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid

from isecom.crypto.tokens import open_at_rest
from isecom.mailer.templates import render
from isecom.mailer.transport import Transport
from isecom.services.ports import Clock, QueuedMail, Store
from isecom.types import Language

log = logging.getLogger("isecom.mailer")
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=6))
MAX_ATTEMPTS = 10
BATCH = 50


class Mailer:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        server_key: bytes,
        transport: Transport,
        gettext_for: Callable[[Language], Callable[[str], str]],
        sender: str,
    ) -> None:
        self.store, self.clock, self.server_key = store, clock, server_key
        self.transport, self.gettext_for, self.sender = transport, gettext_for, sender

    def compose(self, queued: QueuedMail) -> EmailMessage:
        values = json.loads(open_at_rest(self.server_key, queued.mail.sealed_values))
        subject, body = render(queued.mail.template, values, self.gettext_for(queued.mail.language))
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = str(queued.mail.recipient)
        message["Subject"] = subject
        message["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2].strip("> ") or "isecom.invalid")
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(body)
        message["Content-Language"] = queued.mail.language.value  # after set_content, which resets Content-*
        return message

    async def deliver_due(self) -> int:
        """Send what is due now; returns how many left. Failures are retried later, never lost."""
        async with self.store.transaction() as tx:
            due = await tx.outbox.due(self.clock.now(), BATCH)
        sent = 0
        for queued in due:
            try:
                message = self.compose(queued)
            except Exception as exc:  # a mail that cannot be rendered never will be: stop retrying it
                async with self.store.transaction() as tx:
                    await tx.outbox.failed(queued.id, f"cannot render: {type(exc).__name__}", None)
                log.error("mail cannot be rendered", extra={"outbox_id": queued.id})
                continue
            try:
                await self.transport.send(message)
            except (OSError, smtplib.SMTPException) as exc:
                attempts = queued.attempts + 1
                delay = BACKOFF[min(attempts, len(BACKOFF)) - 1]
                retry = None if attempts >= MAX_ATTEMPTS else self.clock.now() + delay
                async with self.store.transaction() as tx:
                    await tx.outbox.failed(queued.id, f"{type(exc).__name__}: {exc}", retry)
                log.warning("mail not delivered", extra={"outbox_id": queued.id, "attempts": attempts})
                continue
            async with self.store.transaction() as tx:
                await tx.outbox.sent(queued.id, self.clock.now())
            sent += 1
        return sent

    async def run(self, interval: float = 2.0) -> None:
        """The background loop of ``isecom serve``."""
        while True:
            try:
                await self.deliver_due()
            except Exception:
                log.exception("outbox delivery failed; retrying")
            await asyncio.sleep(interval)

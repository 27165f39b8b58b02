"""The aiosmtpd handler and server, on the application's own event loop.

Today the gateway refuses relaying and unknown recipients at RCPT (550) and
answers DATA with a temporary 451: sealing inbound mail to the recipients'
keys arrives with the SMTP gateway issue, and a 4xx makes the sending server
keep the message and retry, so nothing is lost in the meantime.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from isecom.errors import IsecomError
from isecom.services import inbound
from isecom.services.ports import Store

log = logging.getLogger("isecom.smtp")

# The one table from domain error code to SMTP reply.
REPLIES: dict[str, str] = {
    "not_found": "550 5.1.1 No such recipient here",
    "input.invalid": "501 5.1.3 Bad recipient address syntax",
    "input.too_large": "552 5.3.4 Message too big",
    "rate_limited": "451 4.7.1 Too many messages, try again later",
    "unavailable": "451 4.3.0 Temporary failure, try again later",
}
DEFAULT_REPLY = "451 4.3.0 Temporary failure, try again later"
MAX_RECIPIENTS = 100
MAX_MESSAGE_BYTES = 50 * 1024 * 1024


def reply_for(error: IsecomError) -> str:
    return REPLIES.get(error.code, DEFAULT_REPLY)


class Handler:
    def __init__(self, store: Store, domains: tuple[str, ...]) -> None:
        self.store = store
        self.domains = domains

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        try:
            email = await inbound.check_recipient(self.store, self.domains, address)
        except IsecomError as exc:
            return reply_for(exc)
        envelope.rcpt_tos.append(str(email))
        return "250 2.1.5 Recipient OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        log.info("inbound mail deferred", extra={"recipients": len(envelope.rcpt_tos)})
        return "451 4.3.2 Inbound mail is not enabled on this server yet, try again later"


async def start(store: Store, domains: tuple[str, ...], host: str, port: int, hostname: str) -> asyncio.Server:
    handler = Handler(store, domains)
    loop = asyncio.get_running_loop()

    def factory() -> Any:
        return SMTP(
            handler,
            hostname=hostname,
            ident="isecom ESMTP",
            data_size_limit=MAX_MESSAGE_BYTES,
            enable_SMTPUTF8=True,
            timeout=300,
        )

    return await loop.create_server(factory, host=host, port=port)

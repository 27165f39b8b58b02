"""The aiosmtpd handler and server, on the application's own event loop.

What is real: STARTTLS with the configured certificate (required in
production), SIZE and the other limits, the sender policy at MAIL (agency
domain plus relay network or SMTP AUTH, per member country), recipients at
RCPT (members of our domains and of a country the sender is admitted for;
never relay), a refusal of messages with bare CR or LF line endings (SMTP
smuggling), and at DATA the inbound service seals the raw message in memory
to every recipient's current key and commits it (PROTOCOL.md §6.6). 250 is
answered only after that commit; any failure before it is a 4xx, so the
sending server keeps the message and retries.

Logs carry commands, reply codes and counts: never addresses, content or
credentials. aiosmtpd's own logger is stripped to its bare format strings.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from email._header_value_parser import get_addr_spec, get_angle_addr  # aiosmtpd's own address parser
from email.errors import HeaderParseError
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from isecom.config import SmtpSettings
from isecom.crypto.gateway import Gateway
from isecom.errors import IsecomError
from isecom.services import inbound
from isecom.services.ports import Clock, Store
from isecom.smtp import data
from isecom.types import MemberId

# Tell live readers that mail arrived (ids only, no content): the live hub's publish.
Publish = Callable[[list[MemberId], dict[str, Any]], None]

log = logging.getLogger("isecom.smtp")

# The one table from domain error code to SMTP reply.
REPLIES: dict[str, str] = {
    "not_found": "550 5.1.1 No such recipient here",
    "auth.forbidden": "550 5.7.1 Sender not authorised here",
    "input.invalid": "501 5.1.3 Bad recipient address syntax",
    "input.too_large": "552 5.3.4 Message too big",
    "rate_limited": "451 4.7.1 Too many messages, try again later",
    "unavailable": "451 4.3.0 Temporary failure, try again later",
}
DEFAULT_REPLY = "451 4.3.0 Temporary failure, try again later"
TOO_MANY_RECIPIENTS = "452 4.5.3 Too many recipients"
BARE_LINE_ENDING = "550 5.6.0 Message refused: bare CR or LF line ending (RFC 5321 2.3.8)"
ACCEPTED = "250 2.0.0 Message accepted for delivery"
_ALL = 1 << 30  # "whatever the reader holds": StreamReader.read(n) returns at most what is buffered
AUTH_ATTEMPTS = 3  # per connection; the fourth AUTH gets 421 and the connection is closed
_CALLS = {"AUTH": AUTH_ATTEMPTS, "*": 100_000}


def reply_for(error: IsecomError) -> str:
    return REPLIES.get(error.code, DEFAULT_REPLY)


def _code(reply: str) -> int:
    return int(reply[:3])


class _Envelope(Envelope):
    """aiosmtpd's envelope plus the sender the policy admitted at MAIL and the recipients at RCPT."""

    def __init__(self) -> None:
        super().__init__()
        self.sender: inbound.Sender | None = None
        self.admitted: list[inbound.Recipient] = []  # with their keys as RCPT read them


class _Server(SMTP):
    """aiosmtpd's protocol with our line limit, envelope type and a DATA read in blocks."""

    def __init__(self, handler: Handler, *, max_line_bytes: int, **kwargs: Any) -> None:
        self.line_length_limit = max_line_bytes  # read by SMTP.__init__ for its stream limit
        super().__init__(handler, **kwargs)

    def _create_envelope(self) -> Envelope:
        return _Envelope()

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """aiosmtpd 1.4.6's ``_getaddr`` (the same parser, the same results) without the typing
        ``Protocol`` class it defines on every call: ≈ 3 % of the event loop at 300 messages/s."""
        if not arg:
            return "", ""
        try:
            address, rest = get_angle_addr(arg) if arg.lstrip().startswith("<") else get_addr_spec(arg)
        except HeaderParseError:
            return None, None
        addr: str = address.addr_spec
        if self.local_part_limit and len(addr.rpartition("@")[0]) > self.local_part_limit:
            return None, None
        return addr, rest

    async def smtp_DATA(self, arg: str) -> None:  # noqa: N802 - aiosmtpd's command method
        """aiosmtpd 1.4.6's DATA with its line-by-line loop replaced by ``data.Body`` (isecom/smtp/data.py):
        the same replies and limits, the same bytes handed to ``handle_DATA``."""
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        if self.envelope is None or not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        body = data.Body(self.data_size_limit, self.line_length_limit)
        try:
            while True:
                # Everything buffered so far (flow control keeps that to a few reads): nothing that
                # follows the end of DATA can be left in the reader behind what ``body`` took.
                chunk = await self._reader.read(_ALL)
                if not chunk:  # the client went away in the middle of DATA
                    raise ConnectionResetError
                if body.feed(chunk):
                    break
        except (asyncio.CancelledError, ConnectionResetError):
            log.info("smtp connection lost during DATA")
            self._writer.close()
            raise
        if body.rest:  # the next command(s), sent before our reply: back to the command reader
            self._reader.feed_data(body.rest)
        if body.refusal is not None:
            self.envelope = self._create_envelope()  # as aiosmtpd's _set_post_data_state
            await self.push(_refused("DATA", body.refusal.value))
            return
        self.envelope.content = self.envelope.original_content = body.content()
        status = await self._call_handler_hook("DATA")
        self.envelope = self._create_envelope()  # as aiosmtpd's _set_post_data_state
        await self.push(status)


class Handler:
    """The policy hooks aiosmtpd calls; each asks the inbound service and renders its answer."""

    def __init__(
        self,
        store: Store,
        settings: SmtpSettings,
        domains: tuple[str, ...],
        *,
        clock: Clock,
        gateway: Gateway,
        publish: Publish | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.domains = domains
        self.clock = clock
        self.gateway = gateway
        self.publish = publish
        self.offers_auth = any(rule.auth_user for rule in settings.senders)
        self.addresses = inbound.AddressBook()  # address -> member and country, remembered (never change)

    async def handle_EHLO(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        if self.offers_auth:
            return responses
        return [line for line in responses if not line[4:].upper().startswith("AUTH")]

    async def handle_MAIL(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        if not isinstance(envelope, _Envelope):  # not our server class: fail closed, sender retries
            return _refused("MAIL", DEFAULT_REPLY)
        peer = inbound.parse_peer(session.peer[0] if isinstance(session.peer, tuple) else None)
        country = session.auth_data if session.authenticated and isinstance(session.auth_data, str) else None
        try:
            envelope.sender = inbound.check_sender(self.settings.senders, peer, country, address)
        except IsecomError as exc:
            return _refused("MAIL", reply_for(exc), authenticated=country is not None)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Sender OK"

    async def handle_RCPT(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if not isinstance(envelope, _Envelope) or envelope.sender is None:  # aiosmtpd asks for MAIL first
            return _refused("RCPT", "503 5.5.1 Need MAIL command")
        if len(envelope.rcpt_tos) >= self.settings.max_recipients:
            return _refused("RCPT", TOO_MANY_RECIPIENTS)
        try:
            admitted = await inbound.check_recipient(self.store, self.domains, envelope.sender, address, self.addresses)
        except IsecomError as exc:
            return _refused("RCPT", reply_for(exc))
        envelope.admitted.append(admitted)
        envelope.rcpt_tos.append(str(admitted.address))
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 Recipient OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        content = envelope.original_content or b""
        crlf = content.count(b"\r\n")
        if content.count(b"\n") != crlf or content.count(b"\r") != crlf:
            return _refused("DATA", BARE_LINE_ENDING, bytes=len(content))
        if not isinstance(envelope, _Envelope) or envelope.sender is None or not envelope.admitted:
            return _refused("DATA", "503 5.5.1 Need MAIL and RCPT commands")
        try:
            # Sealed to the keys RCPT read (not read again): a key that changes in between is the
            # same race as one that changes just after the commit.
            sent = await inbound.deliver(
                self.store, self.clock, self.gateway, envelope.sender, envelope.admitted, content
            )
        except IsecomError as exc:
            return _refused("DATA", reply_for(exc), recipients=len(envelope.rcpt_tos), bytes=len(content))
        finally:
            envelope.original_content = envelope.content = None  # drop the plaintext now
        if self.publish is not None:
            self.publish(sent.recipients, {"type": "mail", "id": sent.msg_id, "folder": "inbox"})
        log.info("inbound mail stored", extra={"recipients": len(sent.recipients), "bytes": len(content)})
        return ACCEPTED

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        """SMTP AUTH PLAIN/LOGIN (aiosmtpd offers them only after STARTTLS)."""
        country = None
        if isinstance(auth_data, LoginPassword):
            country = inbound.authenticate(self.settings.senders, auth_data.login, auth_data.password)
        log.info("smtp auth", extra={"mechanism": mechanism, "ok": country is not None})
        if country is None:
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=country)


def _refused(command: str, reply: str, **counts: Any) -> str:
    log.info("smtp refused", extra={"command": command, "reply": _code(reply), **counts})
    return reply


class _ContentFree(logging.Filter):
    """aiosmtpd logs command lines (AUTH blobs, addresses, stray message lines): keep only its format strings."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.args = ()
        if record.exc_info and record.exc_info[0] is not None:
            record.msg = f"{record.msg} ({record.exc_info[0].__name__})"
        record.exc_info = None
        record.exc_text = None
        return True


def quiet_aiosmtpd() -> None:
    logger = logging.getLogger("mail.log")
    if not any(isinstance(f, _ContentFree) for f in logger.filters):
        logger.addFilter(_ContentFree())


def tls_context(settings: SmtpSettings) -> ssl.SSLContext | None:
    if settings.tls_cert_file is None or settings.tls_key_file is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(settings.tls_cert_file, settings.tls_key_file)
    return context


async def start(
    store: Store,
    settings: SmtpSettings,
    domains: tuple[str, ...],
    host: str,
    port: int,
    hostname: str,
    *,
    clock: Clock,
    gateway: Gateway,
    publish: Publish | None = None,
) -> asyncio.Server:
    quiet_aiosmtpd()
    handler = Handler(store, settings, domains, clock=clock, gateway=gateway, publish=publish)
    context = tls_context(settings)
    loop = asyncio.get_running_loop()

    def factory() -> SMTP:
        return _Server(
            handler,
            max_line_bytes=settings.max_line_bytes,
            hostname=hostname,
            ident="isecom ESMTP",
            data_size_limit=settings.max_message_bytes,
            enable_SMTPUTF8=True,
            decode_data=False,  # 8BITMIME is advertised; content stays bytes
            tls_context=context,
            require_starttls=settings.require_tls,
            timeout=settings.idle_timeout_seconds,
            auth_require_tls=True,
            authenticator=handler.authenticate,
            auth_exclude_mechanism=() if handler.offers_auth else ("PLAIN", "LOGIN"),
            command_call_limit=_CALLS,
            loop=loop,
        )

    return await loop.create_server(factory, host=host, port=port)

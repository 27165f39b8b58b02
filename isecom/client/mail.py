"""Send and read mail from a script, exactly as the webmail does (docs/PROTOCOL.md §6).

Recipients' keys come from the key directory and are verified by a ``KeyRing`` before
anything is sealed; a message is opened with the member's own keys and the sender's
verified signing key. The server only ever sees the envelope.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from isecom.client.keyring import KeyRing
from isecom.client.session import Client
from isecom.crypto import envelope, gateway, keytrans, payload
from isecom.crypto.encoding import b64d, b64e
from isecom.crypto.errors import CryptoError


class NotSignedIn(Exception):
    """Mail needs the member's unlocked keys: sign in first."""


@dataclass
class Draft:
    """What a member writes; ``send`` turns it into a signed, sealed envelope."""

    to: list[str]
    subject: str
    body: str
    cc: list[str] = field(default_factory=list)
    handling: str = "H1"
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    forwarded: list[dict[str, Any]] = field(default_factory=list)


def _now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def send(client: Client, ring: KeyRing, draft: Draft, *, files: list[str] | None = None) -> str:
    """Verify every recipient's keys, seal, send; the new message's id."""
    if client.signed is None:
        raise NotSignedIn("sign in first")
    me = client.signed.member
    parties: dict[str, dict[str, str]] = {}
    recipients: list[envelope.Recipient] = []
    for email in dict.fromkeys([*draft.to, *draft.cc]):
        verified = await ring.fetch(client, email=email)
        uid = verified.uid.hex()
        parties[email] = {"uid": uid, "name": verified.approval.name, "email": verified.keys.email}
        if uid != me["id"]:
            recipients.append(envelope.Recipient(verified.uid, verified.keys.enc_pk))
    body = payload.build(
        {
            "v": 1,
            "type": "mail",
            "from": {"uid": me["id"], "name": me["name"], "email": me["email"]},
            "to": [parties[e] for e in dict.fromkeys(draft.to)],
            "cc": [parties[e] for e in dict.fromkeys(draft.cc)],
            "subject": draft.subject,
            "body": draft.body,
            "date": _now_text(),
            "in_reply_to": draft.in_reply_to,
            "references": draft.references,
            "handling": draft.handling,
            "attachments": draft.attachments,
            "forwarded": draft.forwarded,
        }
    )
    sealed = envelope.seal(client.signed.identity, recipients, body, created_ms=int(time.time() * 1000))
    answer = await client.post("/api/v1/messages", {"envelope": b64e(sealed), "files": files or []})
    return str(answer["id"])


async def folder(client: Client, name: str = "inbox", *, before: int | None = None, limit: int = 50) -> Any:
    query = f"?limit={limit}" + (f"&before={before}" if before is not None else "")
    return await client.get(f"/api/v1/mailbox/{name}{query}")


@dataclass(frozen=True, slots=True)
class Message:
    entry: dict[str, Any]
    payload: dict[str, Any]
    payload_bytes: bytes
    envelope: bytes

    @property
    def smtp(self) -> bool:
        """Arrived by SMTP: sealed by the gateway, not end-to-end encrypted (PROTOCOL.md §6.6)."""
        return self.payload.get("type") == "smtp"

    @property
    def raw(self) -> bytes | None:
        """The original message bytes (RFC 5322, as received) of SMTP mail; None for web mail."""
        return b64d(self.payload["raw"]) if self.smtp else None


async def gateway_key(client: Client, ring: KeyRing) -> bytes:
    """The SMTP gateway's signing key, verified: root → log key certificate → gateway certificate."""
    answer = await client.get("/keys/v1/gateway")
    try:
        log_key = keytrans.parse_log_key(b64d(answer["log_key"]), ring.root_pk)
        if log_key.origin != ring.origin:
            raise CryptoError("origin")
        if ring.log_pk is not None and log_key.log_pk != ring.log_pk:
            raise CryptoError("log")
        log_pk = log_key.log_pk
        return gateway.parse_certificate(b64d(answer["certificate"]), log_pk=log_pk, origin=ring.origin)
    except CryptoError as exc:
        raise ring.problem(exc.check) from None
    except (KeyError, TypeError):
        raise ring.problem("format") from None


async def read(client: Client, ring: KeyRing, msg_id: str) -> Message:
    """Fetch and open a message: the sender's signing key is verified in the key log first."""
    if client.signed is None:
        raise NotSignedIn("sign in first")
    answer = await client.get(f"/api/v1/messages/{msg_id}")
    data = b64d(answer["envelope"])
    header, _ = envelope.parse_header(data, draft=False, smtp=True)
    if header.magic == envelope.SMTP_MAGIC:
        opened = envelope.open_smtp(data, client.signed.identity, await gateway_key(client, ring))
        return Message(answer["message"], opened.payload, opened.payload_bytes, data)
    # The sender's key as it was when the message was sent: a later revocation does not undo it.
    sent_at = int(answer["message"]["received_at_epoch"])
    sender = await ring.fetch(client, member_id=header.sender_uid.hex(), signed_at=sent_at)
    opened = envelope.open_envelope(data, client.signed.identity, sender.keys.sig_pk)
    return Message(answer["message"], opened.payload, opened.payload_bytes, data)

"""Replies and forwards built from an opened message (docs/PROTOCOL.md §6.2, §8.3).

Threading comes from ``in_reply_to``/``references`` inside the signed payload. A forward
re-uses the attachment descriptors, so the chunks are not uploaded again, and records the
chain of forwarded messages (oldest first) in ``forwarded``.
"""

from __future__ import annotations

from typing import Any

from isecom.client.mail import Draft, Message
from isecom.crypto import payload as payloads
from isecom.crypto.attachments import Descriptor


def _subject(prefix: str, subject: str) -> str:
    if subject[: len(prefix)].lower() == prefix.lower():
        return subject
    return f"{prefix} {subject}"[: payloads.MAX_SUBJECT]


def _emails(parties: list[dict[str, Any]]) -> list[str]:
    return [str(p["email"]) for p in parties]


def reply(message: Message, *, me: str, body: str, everyone: bool = False) -> Draft:
    """A reply to the sender (and, with ``everyone``, to every other recipient, every jurisdiction kept)."""
    p = message.payload
    sender = str(p["from"]["email"])
    me = me.lower()
    if sender.lower() == me:  # replying to one's own sent message: to its recipients
        to = _emails(p["to"])
        cc = _emails(p["cc"]) if everyone else []
    else:
        to = [sender]
        cc = [e for e in _emails(p["to"]) + _emails(p["cc"]) if e.lower() not in (me, sender.lower())]
        cc = cc if everyone else []
    references = [*p["references"], message.entry["id"]][-payloads.MAX_REFERENCES :]
    return Draft(
        to=to,
        cc=list(dict.fromkeys(cc)),
        subject=_subject("Re:", p["subject"]),
        body=body,
        handling=p["handling"],
        in_reply_to=message.entry["id"],
        references=references,
    )


def forward(message: Message, *, to: list[str], cc: list[str], body: str) -> tuple[Draft, list[str]]:
    """A forward carrying the same attachments; the draft and the file ids to name in ``files``."""
    p = message.payload
    quoted = "\n".join(
        [
            "---------- Forwarded message ----------",
            f"From: {p['from']['name']} <{p['from']['email']}>",
            f"Date: {p['date']}",
            f"Subject: {p['subject']}",
            "To: " + ", ".join(_emails(p["to"])),
            *(["Cc: " + ", ".join(_emails(p["cc"]))] if p["cc"] else []),
            "",
            p["body"],
        ]
    )
    chain = [*p["forwarded"], {"msg_id": message.entry["id"], "from": p["from"]["uid"], "date": p["date"]}]
    draft = Draft(
        to=to,
        cc=cc,
        subject=_subject("Fwd:", p["subject"]),
        body=f"{body.rstrip()}\n\n{quoted}" if body.strip() else quoted,
        handling=p["handling"],
        attachments=list(p["attachments"]),
        forwarded=chain[-payloads.MAX_REFERENCES :],
    )
    files = [Descriptor.from_json(a).file_id.hex() for a in p["attachments"]]
    return draft, files

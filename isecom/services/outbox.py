"""Queue mail in the caller's transaction: it leaves only if the decision it announces commits."""

from __future__ import annotations

import json

from isecom.crypto.tokens import seal_at_rest
from isecom.services import tokens
from isecom.services.ports import Clock, Member, OutgoingMail, Transaction
from isecom.types import Email, Language, MemberStatus

TEMPLATES = frozenset(
    {
        "application.confirm",
        "application.duplicate",
        "application.to_nominate",
        "application.to_authorize",
        "application.rejected",
        "application.approved",
        "security.signin_failures",
        "keys.reset",
        "membership.renewal_due",
        "membership.renewed",
        "security.password_changed",
        "security.recovery_used",
        "security.keys_rotated",
        "notify.new_mail",
        "notify.confirm",
    }
)


async def enqueue(
    tx: Transaction,
    clock: Clock,
    server_key: bytes,
    *,
    to: Email,
    template: str,
    language: Language,
    values: dict[str, str],
) -> None:
    if template not in TEMPLATES:
        raise ValueError(f"unknown mail template {template!r}")
    sealed = seal_at_rest(server_key, json.dumps(values, sort_keys=True).encode("utf-8"))
    await tx.outbox.add(OutgoingMail(to, template, language, sealed, clock.now()))


async def send_activation_link(
    tx: Transaction, clock: Clock, server_key: bytes, member: Member, *, template: str, base_url: str
) -> None:
    """Put the member back to awaiting activation and mail a fresh single-use activation link."""
    await tx.members.set_status(member.id, MemberStatus.PENDING_ACTIVATION)
    token = await tokens.issue(
        tx, clock, server_key, purpose=tokens.ACTIVATION, member_id=member.id, ttl=tokens.ACTIVATION_TTL
    )
    await enqueue(
        tx,
        clock,
        server_key,
        to=member.email,
        template=template,
        language=member.language,
        values={"name": member.name, "link": f"{base_url}/activate#{token}"},
    )

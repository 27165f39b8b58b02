"""Queue mail in the caller's transaction: it leaves only if the decision it announces commits."""

from __future__ import annotations

import json

from isecom.crypto.tokens import seal_at_rest
from isecom.services.ports import Clock, OutgoingMail, Transaction
from isecom.types import Email, Language

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

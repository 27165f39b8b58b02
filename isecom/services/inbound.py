"""Inbound SMTP policy: which recipients exist (sealing arrives with the SMTP gateway issue)."""

from __future__ import annotations

from isecom.errors import InvalidInput, NotFound
from isecom.services.ports import Store
from isecom.types import Email, MemberStatus

_DELIVERABLE = frozenset({MemberStatus.ACTIVE, MemberStatus.PENDING_ACTIVATION})


async def check_recipient(store: Store, domains: tuple[str, ...], address: str) -> Email:
    """The parsed recipient when it is one of our members; NotFound otherwise (never relay)."""
    try:
        email = Email.parse(address, field="recipient")
    except InvalidInput:
        raise NotFound("No such recipient here.") from None
    if email.domain not in domains:
        raise NotFound("Relaying is not allowed.")
    async with store.transaction() as tx:
        member = await tx.members.by_email(email)
    if member is None or member.status not in _DELIVERABLE:
        raise NotFound("No such recipient here.")
    return email

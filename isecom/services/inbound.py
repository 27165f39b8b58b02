"""Inbound SMTP policy: who may send, to which members (sealing arrives with the SMTP gateway issue).

Deny by default. A sender is admitted for the members of a country when the
envelope sender's domain is one of that country's agency domains *and* the
connection is vouched for: it comes from one of the country's relay networks,
or it signed in with the country's SMTP AUTH credential (``[smtp.senders.CC]``
in the configuration, parsed into ``SenderRule``). Recipients must be members
of our own domains (never relay), deliverable, and of a country the sender is
admitted for. Nothing here sees message content.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from isecom.config import SenderRule
from isecom.crypto.hashing import equal, h256
from isecom.errors import Forbidden, InvalidInput, NotFound
from isecom.services.ports import Store
from isecom.types import Email, MemberStatus

_DELIVERABLE = frozenset({MemberStatus.ACTIVE, MemberStatus.PENDING_ACTIVATION})

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class Sender:
    """The envelope sender of one SMTP transaction and the countries it may write to."""

    address: Email
    countries: frozenset[str]


def parse_peer(host: str | None) -> IPAddress | None:
    """The client's IP address from the socket's peer name (IPv4-mapped IPv6 unwrapped)."""
    try:
        address = ipaddress.ip_address((host or "").split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def authenticate(rules: tuple[SenderRule, ...], user: bytes, secret: bytes) -> str | None:
    """The country whose SMTP AUTH credential this is, or None.

    Every credential is compared, in constant time over fixed-length digests,
    so neither the time nor an early exit tells which user names exist.
    """
    offered = h256(user) + h256(secret)
    found: str | None = None
    for rule in rules:
        if rule.auth_user is None or not rule.auth_secret:
            continue
        if equal(h256(rule.auth_user.encode()) + h256(rule.auth_secret), offered):
            found = rule.country.code
    return found


def check_sender(
    rules: tuple[SenderRule, ...], peer: IPAddress | None, auth_country: str | None, address: str
) -> Sender:
    """The admitted sender; Forbidden when no country's rule admits it (null sender included)."""
    try:
        email = Email.parse(address, field="sender")
    except InvalidInput:
        raise Forbidden("Sender not allowed.") from None
    countries = frozenset(
        rule.country.code
        for rule in rules
        if email.domain in rule.domains
        and (
            (auth_country is not None and auth_country == rule.country.code)
            or (peer is not None and any(peer in network for network in rule.relays))
        )
    )
    if not countries:
        raise Forbidden("Sender not allowed.")
    return Sender(email, countries)


async def check_recipient(store: Store, domains: tuple[str, ...], sender: Sender, address: str) -> Email:
    """The parsed recipient when it is a member this sender may write to.

    NotFound for anything that is not a deliverable member of our domains (never
    relay); Forbidden when the member's country has not admitted this sender.
    """
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
    if member.country.code not in sender.countries:
        raise Forbidden("Sender not allowed for this recipient.")
    return email

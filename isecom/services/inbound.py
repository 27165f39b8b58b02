"""Inbound SMTP: who may send, to which members, and sealing what they send (PROTOCOL.md §6.6).

Deny by default. A sender is admitted for the members of a country when the
envelope sender's domain is one of that country's agency domains *and* the
connection is vouched for: it comes from one of the country's relay networks,
or it signed in with the country's SMTP AUTH credential (``[smtp.senders.CC]``
in the configuration, parsed into ``SenderRule``). Recipients must be members
of our own domains (never relay), deliverable, and of a country the sender is
admitted for; a member who cannot receive yet (not activated, no current
published key, keys revoked) gets a 4xx at RCPT so the sending server retries,
while an unknown address gets 550.

``deliver`` is the only function that sees message content: it seals the raw
bytes in memory to each recipient's current published key, signed by the
gateway key, and stores the ciphertext in one transaction. Every failure is
``Unavailable`` (the SMTP adapter answers 451 and the sender retries); the
content never reaches a log line, an error message or a temporary file.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from isecom.config import SenderRule
from isecom.crypto import envelope, keytrans, payload
from isecom.crypto.encoding import b64e
from isecom.crypto.gateway import Gateway, certificate
from isecom.crypto.hashing import equal, h256
from isecom.errors import Forbidden, InvalidInput, IsecomError, NotFound, TooLarge, Unavailable
from isecom.services import mailbox
from isecom.services.ports import Clock, RecipientKeys, Store
from isecom.types import Email, MemberId, MemberStatus

log = logging.getLogger("isecom.inbound")
MAX_RAW = 64 * 1024 * 1024  # what fits an "ISS1" envelope (PROTOCOL.md §6.6)
# Messages up to this size are sealed on the event loop: measured ≈ 0.2 ms for 10 KiB (payload +
# seal, one recipient; a thread hand-off alone costs ≈ 0.07 ms), so ≈ 1 ms here; larger ones in a thread.
SEAL_INLINE = 64 * 1024

_DELIVERABLE = frozenset({MemberStatus.ACTIVE, MemberStatus.PENDING_ACTIVATION})

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class Recipient:
    """A recipient admitted at RCPT and what was read to admit it: its member id and keys (one snapshot).

    DATA seals to these keys instead of reading them again; a key that changes in between is the
    same race as one that changes just after the commit (the member's client sees the old key's mail).
    """

    address: Email
    member: MemberId
    keys: RecipientKeys


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


class AddressBook:
    """Which member an address names, and its country, remembered once read (at most ``size`` addresses).

    Both never change for a member (members are never deleted; only their status changes), so a
    remembered answer stays true; the status, the keys and a revocation are read again at every
    RCPT. Only members found are remembered: an address nobody has yet is looked up every time.
    If members could ever change address or country, this would have to be dropped.
    """

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._known: dict[Email, tuple[MemberId, str]] = {}

    async def find(self, store: Store, email: Email) -> tuple[MemberId, str] | None:
        known = self._known.get(email)
        if known is None:
            async with store.read() as tx:  # look-ups only: no writer's lock
                member = await tx.members.by_email(email)
            if member is None:
                return None
            if len(self._known) >= self.size:
                self._known.pop(next(iter(self._known)))  # the oldest first
            known = self._known[email] = (member.id, member.country.code)
        return known


async def check_recipient(
    store: Store, domains: tuple[str, ...], sender: Sender, address: str, addresses: AddressBook | None = None
) -> Recipient:
    """The parsed recipient, with its member id and keys, when it is a member this sender may write to.

    NotFound for anything that is not a deliverable member of our domains (never
    relay); Forbidden when the member's country has not admitted this sender.
    ``addresses``: the gateway's ``AddressBook`` (address to member, remembered); one for this call if None.
    """
    try:
        email = Email.parse(address, field="recipient")
    except InvalidInput:
        raise NotFound("No such recipient here.") from None
    if email.domain not in domains:
        raise NotFound("Relaying is not allowed.")
    known = await (addresses or AddressBook(1)).find(store, email)
    # Status, revocation and current key by the store's fastest path (one statement on SQLite).
    found = (await store.recipient_keys([known[0]])).get(known[0]) if known is not None else None
    if known is None or found is None or found.status not in _DELIVERABLE:
        raise NotFound("No such recipient here.")
    if known[1] not in sender.countries:
        raise Forbidden("Sender not allowed for this recipient.")
    if not _can_receive(found):
        # A member who is not activated yet, or whose keys are revoked, cannot be sealed to now:
        # 4xx at RCPT, so the sending server keeps the message and retries (checked after the
        # country, so a sender who may not write here learns nothing about key states).
        raise Unavailable("This recipient cannot receive mail yet.")
    return Recipient(email, known[0], found)


def _can_receive(found: RecipientKeys | None) -> bool:
    """Whether mail can be sealed to the member now: active, with a current, unrevoked published key."""
    return (
        found is not None and found.status is MemberStatus.ACTIVE and found.keys_leaf is not None and not found.revoked
    )


async def deliver(
    store: Store,
    clock: Clock,
    gateway: Gateway,
    sender: Sender,
    recipients: Sequence[Email] | Sequence[Recipient],
    raw: bytes,
) -> mailbox.Sent:
    """Seal ``raw`` for the recipients and store it; the stored message, or Unavailable/TooLarge.

    ``recipients``: addresses (their members and keys are read here, in one snapshot), or the
    ``Recipient``s ``check_recipient`` admitted at RCPT (sealed to the keys read then, not read again).
    Nothing is stored unless everything is: the message and every inbox row are
    written in one transaction after sealing, so a failure leaves nothing behind.
    """
    if len(raw) > MAX_RAW:
        raise TooLarge("Message too big.")
    if not recipients:
        raise Unavailable("No recipients.")
    try:
        keyed, found = await _recipient_keys(store, recipients)
        addresses = [r.address if isinstance(r, Recipient) else r for r in recipients]
        now = clock.now()
        body = payload.build(
            {
                "v": 1,
                "type": "smtp",
                "smtp_from": str(sender.address),
                "smtp_to": [str(r) for r in addresses],
                "received": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "raw": b64e(raw),
            }
        )
        created_ms = int(now.timestamp() * 1000)
        if len(raw) <= SEAL_INLINE:  # ≈ 0.2 ms for 10 KiB: cheaper than a thread hand-off
            sealed = envelope.seal_smtp(gateway, keyed, body, created_ms=created_ms)
        else:  # large messages are sealed off the event loop
            sealed = await asyncio.to_thread(envelope.seal_smtp, gateway, keyed, body, created_ms=created_ms)
        del body
        return await mailbox.store_smtp(store, clock, sealed, checked=found)
    except Unavailable:
        raise
    except IsecomError as exc:  # a key changed or a member left since RCPT: retry later
        raise Unavailable("Temporary failure.", debug=exc.code) from None
    except Exception as exc:  # storage down, anything: 451, the sender keeps the message
        log.warning("inbound delivery failed", extra={"error": type(exc).__name__})
        raise Unavailable("Temporary failure.", debug=type(exc).__name__) from None


async def _recipient_keys(
    store: Store, recipients: Sequence[Email] | Sequence[Recipient]
) -> tuple[list[envelope.Recipient], dict[MemberId, RecipientKeys]]:
    """Each distinct recipient's current published encryption key (Unavailable when one has none),
    and what was read, so that storing checks the sealed entries against the same snapshot.
    Recipients admitted at RCPT bring what was read then; bare addresses are read here."""
    found: dict[MemberId, RecipientKeys] = {}
    ids: list[MemberId] = []
    addresses = [r for r in recipients if isinstance(r, Email)]
    if addresses:
        async with store.read() as tx:  # one snapshot: the members, then all their keys in one query
            members = [await tx.members.by_email(email) for email in addresses]
            if any(m is None or m.status is not MemberStatus.ACTIVE for m in members):
                raise Unavailable("A recipient cannot receive mail yet.")
            ids = [m.id for m in members if m is not None]
            found = await tx.mail.recipient_keys(ids)
    for admitted in recipients:
        if isinstance(admitted, Recipient):
            found[admitted.member] = admitted.keys
            ids.append(admitted.member)
    keyed: dict[bytes, envelope.Recipient] = {}
    for member_id in ids:
        keys = found.get(member_id)
        if keys is None or not _can_receive(keys) or keys.keys_leaf is None:
            raise Unavailable("A recipient has no usable published keys.")
        uid = bytes.fromhex(member_id.value)
        keyed[uid] = envelope.Recipient(uid, _enc_pk(keys.keys_leaf))
    return list(keyed.values()), found


@functools.lru_cache(maxsize=4096)
def _enc_pk(keys_leaf: bytes) -> bytes:
    """The encryption key of a key-statement leaf (its signature verified): a pure function of the
    leaf's bytes, so cached — every message to a member would otherwise verify the same signature."""
    return keytrans.parse_key_statement(keytrans.parse_leaf(keys_leaf).obj).enc_pk


@dataclass(frozen=True, slots=True)
class GatewayKey:
    """What a client needs to verify the gateway key against the pinned root (PROTOCOL.md §6.6)."""

    origin: str
    log_key: bytes  # the root-signed log key certificate, leaf 0 of the key log
    certificate: bytes  # the gateway key, signed by the log key


async def gateway_key(store: Store, origin: str, log_sk: bytes, gateway: Gateway) -> GatewayKey:
    """The gateway certificate (deterministic, made on demand) with the log key certificate it chains to."""
    async with store.read() as tx:
        first = await tx.keylog.leaves(0, 1) if await tx.keylog.size() else []
    if not first:
        raise Unavailable("The key log has not started yet.")
    log_key = keytrans.parse_leaf(first[0]).obj
    return GatewayKey(origin, log_key, certificate(log_sk, origin=origin, gateway_pk=gateway.sig_pk))

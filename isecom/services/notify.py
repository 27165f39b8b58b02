"""Content-free notices of new mail at a member's own external address (docs/threat-model.md §notices).

A notice says exactly "You have new secure mail" in the member's language and
links to the site: no sender, no subject, no count, no content, so every notice
a member gets is the same mail. The member chooses at most one notice per
``Policy.interval`` ("immediate") or one a day at ``Policy.digest_hour`` UTC
("digest"); a digest carries no count either, so its length says nothing of how
much mail arrived (a count would tell the external mail provider the volume).

Durability: the transaction that delivers mail (web send or SMTP) also marks
the recipients' notice as waiting (``mark_waiting``: one UPDATE, no mail is
composed there, the send never waits on a relay). ``send_due`` later queues
the notice in the durable outbox and clears the mark in one transaction, so a
crash between the two loses nothing and sends nothing twice.

A new address receives a single-use confirmation link first; until it is
opened (by the signed-in member) notices keep going to the old address.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta

from isecom.crypto.tokens import token_digest
from isecom.errors import InvalidInput, RateLimited, TokenInvalid
from isecom.services import outbox, throttle, tokens
from isecom.services.notify_ports import MODES, NotifySettings
from isecom.services.ports import Clock, Member, Store, Transaction
from isecom.types import Email, MemberId, MemberStatus

CONFIRM = "notify.confirm"  # token purpose
CONFIRM_TTL = timedelta(hours=48)
BATCH = 200
NEW_MAIL = "notify.new_mail"
CONFIRM_MAIL = "notify.confirm"


@dataclass(frozen=True, slots=True)
class Policy:
    interval: timedelta = timedelta(minutes=15)
    digest_hour: int = 7  # UTC

    def last_digest_moment(self, now: datetime) -> datetime:
        """The newest daily digest time at or before ``now``."""
        today = datetime.combine(now.date(), time(self.digest_hour), tzinfo=now.tzinfo)
        return today if today <= now else today - timedelta(days=1)


async def mark_waiting(tx: Transaction, recipients: Sequence[MemberId], now: datetime) -> None:
    """In the delivery's own transaction: these members have new mail to be told of."""
    await tx.notify.mark_pending(recipients, now)


async def settings(store: Store, member: Member) -> NotifySettings:
    async with store.read() as tx:
        found = await tx.notify.get(member.id)
    return found or NotifySettings(member.id, "off")


async def request_address(
    store: Store,
    clock: Clock,
    server_key: bytes,
    member: Member,
    address: str,
    *,
    own_domains: Sequence[str],
    base_url: str,
) -> NotifySettings:
    """Mail a confirmation link to ``address``; it becomes the notice address once opened."""
    email = Email.parse(address, field="address")
    if email.domain in own_domains:
        raise InvalidInput("Give an address outside isecom: notices go to your ordinary mailbox.", field="address")
    now = clock.now()
    # Each request mails an outside address: five in a quarter of an hour, then growing pauses,
    # so the form cannot be used to flood someone's mailbox.
    limit = throttle.account_key(f"notify-confirm:{member.id.value}")
    async with store.transaction() as tx:
        await throttle.check(tx, [limit], now)
        counted = await throttle.fail(tx, limit, now)
    if counted.blocked_until is not None:
        raise RateLimited()
    async with store.transaction() as tx:
        current = await tx.notify.get(member.id) or NotifySettings(member.id, "off")
        token = await tokens.issue(tx, clock, server_key, purpose=CONFIRM, member_id=member.id, ttl=CONFIRM_TTL)
        updated = replace(
            current,
            pending_address=email,
            pending_token=token_digest(token, purpose=CONFIRM, server_key=server_key),
        )
        await tx.notify.save(updated, now)
        await outbox.enqueue(
            tx,
            clock,
            server_key,
            to=email,
            template=CONFIRM_MAIL,
            language=member.language,
            values={"link": f"{base_url}/account/notifications#{token}"},
        )
    return updated


async def confirm(store: Store, clock: Clock, server_key: bytes, member: Member, token: str) -> NotifySettings:
    """Make the address waiting for this link the notice address (immediate notices when they were off).

    The link must be the newest one asked for, and opened by the member who asked: anything
    else is the one TokenInvalid (and nothing is used up).
    """
    now = clock.now()
    async with store.transaction() as tx:
        found = await tokens.redeem(tx, clock, server_key, purpose=CONFIRM, token=token)
        current = await tx.notify.get(member.id)
        if (
            found.member_id != member.id
            or current is None
            or current.pending_address is None
            or current.pending_token != found.digest
        ):
            raise TokenInvalid()
        updated = replace(
            current,
            address=current.pending_address,
            pending_address=None,
            pending_token=None,
            mode="immediate" if current.mode == "off" else current.mode,
        )
        await tx.notify.save(updated, now)
    return updated


async def set_mode(store: Store, clock: Clock, member: Member, mode: str) -> NotifySettings:
    if mode not in MODES:
        raise InvalidInput(f"Choose one of: {', '.join(MODES)}.", field="mode")
    async with store.transaction() as tx:
        current = await tx.notify.get(member.id) or NotifySettings(member.id, "off")
        if mode != "off" and current.address is None:
            raise InvalidInput("Confirm a notification address first.", field="mode")
        updated = replace(current, mode=mode, pending_since=None if mode == "off" else current.pending_since)
        await tx.notify.save(updated, clock.now())
    return updated


async def remove_address(store: Store, clock: Clock, member: Member) -> NotifySettings:
    """No more notices, and any link still waiting no longer counts."""
    updated = NotifySettings(member.id, "off")
    async with store.transaction() as tx:
        await tx.notify.save(updated, clock.now())
    return updated


def is_due(found: NotifySettings, now: datetime, policy: Policy) -> bool:
    if found.pending_since is None or found.address is None:
        return False
    if found.mode == "immediate":
        return found.last_sent_at is None or found.last_sent_at <= now - policy.interval
    if found.mode == "digest":
        return found.pending_since < policy.last_digest_moment(now)
    return False


async def send_due(store: Store, clock: Clock, server_key: bytes, policy: Policy, *, base_url: str) -> int:
    """Queue the notices that are due in the outbox; returns how many. Run every minute or so."""
    now = clock.now()
    async with store.read() as tx:
        waiting = await tx.notify.due(now - policy.interval, policy.last_digest_moment(now), BATCH)
    queued = 0
    for candidate in waiting:
        async with store.transaction() as tx:
            found = await tx.notify.get(candidate.member_id)  # again, under the writer's lock
            if found is None or not is_due(found, now, policy) or found.address is None:
                continue
            member = await tx.members.get(found.member_id)
            if member is not None and member.status is MemberStatus.ACTIVE:
                await outbox.enqueue(
                    tx,
                    clock,
                    server_key,
                    to=found.address,
                    template=NEW_MAIL,
                    language=member.language,
                    values={"link": f"{base_url}/mail"},
                )
                queued += 1
            await tx.notify.save(replace(found, pending_since=None, last_sent_at=now), now)
    return queued

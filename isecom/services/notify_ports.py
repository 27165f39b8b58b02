"""Ports of the content-free notifications (isecom/services/notify.py), implemented in storage/notify.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from isecom.types import Email, MemberId

MODES = ("off", "immediate", "digest")


@dataclass(frozen=True, slots=True)
class NotifySettings:
    """Where and how a member hears of new mail; ``pending_since`` is new mail not yet announced."""

    member_id: MemberId
    mode: str  # one of MODES
    address: Email | None = None  # confirmed
    pending_address: Email | None = None  # waiting for its confirmation link
    pending_token: bytes | None = None  # the digest of that link's token
    pending_since: datetime | None = None
    last_sent_at: datetime | None = None


class NotifyRepository(Protocol):
    async def get(self, member_id: MemberId) -> NotifySettings | None: ...
    async def save(self, settings: NotifySettings, when: datetime) -> None:
        """Insert or replace the member's row."""
        ...

    async def mark_pending(self, member_ids: Sequence[MemberId], when: datetime) -> None:
        """New mail for these members: start the wait of those who get notices and were not waiting."""
        ...

    async def due(self, immediate_before: datetime, digest_before: datetime, limit: int) -> list[NotifySettings]:
        """Rows waiting to be announced: immediate ones last sent before ``immediate_before`` (or
        never), digest ones waiting since before ``digest_before``; oldest wait first."""
        ...


@dataclass(frozen=True, slots=True)
class OutboxProblem:
    """One outbox mail that failed at least once: what administrators see (no address, no content)."""

    id: int
    template: str
    attempts: int
    error_class: str
    created_at: datetime
    next_attempt_at: datetime | None  # None: given up


@dataclass(frozen=True, slots=True)
class OutboxHealth:
    retrying: int
    given_up: int
    recent: list[OutboxProblem]

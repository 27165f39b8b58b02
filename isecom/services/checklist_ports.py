"""Ports of the 24-hour initial action checklist (docs/PROTOCOL.md §12); ``storage/checklists.py`` implements them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from isecom.types import MemberId


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    section: str
    title: str
    guidance: str
    due_hours: int  # due this many hours after the case starts


@dataclass(frozen=True, slots=True)
class ChecklistVersion:
    version: int
    items: tuple[ChecklistItem, ...]
    created_by: MemberId | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CaseCopy:
    id: str  # 32 lower-case hex digits
    version: int
    starts_at: datetime
    label: bytes  # ciphertext
    key_commit: bytes
    created_by: MemberId | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Participant:
    member_id: MemberId
    enc_kid: bytes
    wrap: bytes
    added_by: MemberId | None
    added_at: datetime


@dataclass(frozen=True, slots=True)
class Tick:
    item: int
    done: bool
    changed_by: MemberId | None
    changed_at: datetime


@dataclass(frozen=True, slots=True)
class CaseNote:
    id: str
    author_id: MemberId | None
    body: bytes
    created_at: datetime


class ChecklistRepository(Protocol):
    """Templates (unscoped: public knowledge) and case copies. Every case look-up but ``exists``
    is scoped by a participant: a case the member does not take part in is ``None``."""

    async def latest(self) -> ChecklistVersion | None: ...
    async def version(self, version: int) -> ChecklistVersion | None: ...
    async def add_version(self, version: ChecklistVersion) -> bool:
        """Insert; False when the number is taken (someone saved at the same moment)."""
        ...

    async def exists(self, case_id: str) -> bool:
        """Unscoped: only to tell a retried create from a taken id."""
        ...

    async def add_case(self, case: CaseCopy, creator: Participant) -> None: ...
    async def case(self, member_id: MemberId, case_id: str) -> CaseCopy | None: ...
    async def cases(self, member_id: MemberId) -> list[tuple[CaseCopy, Participant]]:
        """The member's case copies with the member's own wrap, newest start first."""
        ...

    async def participants(self, case_id: str) -> list[Participant]: ...
    async def add_participant(self, case_id: str, participant: Participant) -> bool:
        """False when the member takes part already."""
        ...

    async def ticks(self, case_id: str) -> list[Tick]: ...
    async def tick_counts(self, case_ids: list[str]) -> dict[str, int]:
        """How many items are ticked per case."""
        ...

    async def set_tick(self, case_id: str, tick: Tick) -> None: ...
    async def notes(self, case_id: str) -> list[CaseNote]: ...
    async def note_count(self, case_id: str) -> int: ...
    async def add_note(self, case_id: str, note: CaseNote) -> bool:
        """False when the note id exists in this case."""
        ...

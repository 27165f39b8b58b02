"""The 24-hour initial action checklist: versioned templates and shared case copies (docs/PROTOCOL.md §12).

Administrators publish templates; each edit is a new version and case copies keep the
version they started with. A member starts a case copy for an investigation and shares it
with other members. The server stores the start time, who takes part and the tick state in
clear (metadata, docs/threat-model.md); the case label and the notes are ciphertext under
a case key that the participants' clients wrap to each other's current published keys.
The server checks only the shape of what it stores and that each wrap names the
participant's current key. Every case look-up is scoped by the member: a case that is not
theirs answers like one that does not exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from isecom.crypto.hashing import h256
from isecom.errors import Conflict, Forbidden, InvalidInput, NotFound, TooLarge
from isecom.services import keydir
from isecom.services.checklist_ports import (
    CaseCopy,
    CaseNote,
    ChecklistItem,
    ChecklistVersion,
    Participant,
    Tick,
)
from isecom.services.ports import AuditEntry, Clock, Member, Store, Transaction
from isecom.types import MemberId, MemberStatus, Role

MAX_ITEMS = 100
MAX_SECTION = 100
MAX_TITLE = 200
MAX_GUIDANCE = 2000
MAX_DUE_HOURS = 24 * 30
MAX_PARTICIPANTS = 50
MAX_NOTE_BYTES = 64 * 1024
MAX_NOTES = 1000
LABEL_MAGIC = b"ISL1"
NOTE_MAGIC = b"ISN1"
SUITE = 0x01
NONCE = 24
TAG = 16
MIN_PADDED = 256
SIGNATURE = 64
WRAP_BYTES = 32 + 16 + 48  # SEAL(case_key ‖ case_id): 32 + 16 bytes and the sealed box overhead
LABEL_MIN = len(LABEL_MAGIC) + NONCE + MIN_PADDED + TAG
LABEL_MAX = len(LABEL_MAGIC) + NONCE + 4096 + TAG
NOTE_HEAD = len(NOTE_MAGIC) + 1 + 16 + 16 + 16 + 8 + NONCE
NOTE_MIN = NOTE_HEAD + MIN_PADDED + SIGNATURE + TAG
_HEX_ID = re.compile(r"^[0-9a-f]{32}$")
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class CaseSummary:
    case: CaseCopy
    own: Participant
    ticked: int
    items: int


@dataclass(frozen=True, slots=True)
class CaseView:
    case: CaseCopy
    template: ChecklistVersion
    participants: list[tuple[Participant, Member | None]]
    ticks: list[Tick]


def case_id(raw: object, field: str = "id") -> str:
    if not isinstance(raw, str) or not _HEX_ID.match(raw):
        raise InvalidInput("A case id is 32 lower-case hex digits.", field=field)
    return raw


def _text(raw: object, field: str, limit: int, *, required: bool) -> str:
    if not isinstance(raw, str):
        raise InvalidInput(f"{field} must be text.", field=field)
    text = raw.strip()
    if required and not text:
        raise InvalidInput(f"{field} must not be empty.", field=field)
    if len(text) > limit:
        raise InvalidInput(f"{field} is at most {limit} characters.", field=field)
    if any(ord(c) < 32 and c not in "\n\t" for c in text):
        raise InvalidInput(f"{field} holds control characters.", field=field)
    return text


def parse_items(raw: object) -> tuple[ChecklistItem, ...]:
    """A template's items from JSON: 1 to 100 objects {section, title, guidance, due_hours}."""
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_ITEMS:
        raise InvalidInput(f"A checklist has 1 to {MAX_ITEMS} items.", field="items")
    items: list[ChecklistItem] = []
    for n, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise InvalidInput(f"Item {n + 1} must be an object.", field="items")
        due = entry.get("due_hours")
        if isinstance(due, bool) or not isinstance(due, int) or not 0 <= due <= MAX_DUE_HOURS:
            raise InvalidInput(f"Item {n + 1}: due_hours is a whole number from 0 to {MAX_DUE_HOURS}.", field="items")
        items.append(
            ChecklistItem(
                section=_text(entry.get("section", ""), "section", MAX_SECTION, required=False),
                title=_text(entry.get("title"), "title", MAX_TITLE, required=True),
                guidance=_text(entry.get("guidance", ""), "guidance", MAX_GUIDANCE, required=False),
                due_hours=due,
            )
        )
    return tuple(items)


# --- templates ---------------------------------------------------------------------------------


async def latest(store: Store) -> ChecklistVersion:
    async with store.read() as tx:
        found = await tx.checklists.latest()
    if found is None:
        raise NotFound("No checklist template has been published yet; an administrator publishes one.")
    return found


async def version(store: Store, number: int) -> ChecklistVersion:
    async with store.read() as tx:
        found = await tx.checklists.version(number)
    if found is None:
        raise NotFound("There is no such checklist version.")
    return found


async def publish(
    store: Store, clock: Clock, actor: Member | None, items: tuple[ChecklistItem, ...]
) -> ChecklistVersion:
    """Save the template as a new version (administrators; ``actor`` None: the demo loader)."""
    if actor is not None and Role.ADMIN not in actor.roles:
        raise Forbidden("Only platform administrators can edit the checklist template.")
    async with store.transaction() as tx:
        current = await tx.checklists.latest()
        made = ChecklistVersion(
            version=(current.version + 1) if current else 1,
            items=items,
            created_by=actor.id if actor else None,
            created_at=clock.now(),
        )
        if not await tx.checklists.add_version(made):
            raise Conflict("Someone saved the template at the same moment; load it again.")
        await tx.audit.record(
            AuditEntry(made.created_at, made.created_by, "checklist.publish", None, {"version": str(made.version)})
        )
    return made


# --- case copies -------------------------------------------------------------------------------


async def _check_wrap(tx: Transaction, member_id: MemberId, enc_kid: bytes, wrap: bytes) -> None:
    if len(wrap) != WRAP_BYTES:
        raise InvalidInput(f"A wrapped case key is {WRAP_BYTES} bytes (PROTOCOL.md §12.2).", field="wrap")
    member = await tx.members.get(member_id)
    if member is None or member.status is not MemberStatus.ACTIVE:
        raise NotFound("No active member has this id.")
    found = await keydir.current_statement(tx, member_id)
    if found is None:
        raise InvalidInput("This member has no published keys yet.", field="member")
    entry, statement = found
    if entry.revoke_idx is not None:
        raise InvalidInput("This member's keys are revoked.", field="member")
    if h256(statement.enc_pk) != enc_kid:
        raise Conflict("The case key is wrapped to a key that is not the member's current key; fetch the keys again.")


async def start(
    store: Store,
    clock: Clock,
    member: Member,
    *,
    new_id: str,
    template: int,
    starts_at: datetime,
    label: bytes,
    key_commit: bytes,
    enc_kid: bytes,
    wrap: bytes,
) -> tuple[CaseCopy, bool]:
    """Start a case copy with the member as its first participant; (case, created)."""
    now = clock.now()
    if not EARLIEST <= starts_at <= now + timedelta(days=366):
        raise InvalidInput("The case start time is out of range.", field="starts_at")
    if not LABEL_MIN <= len(label) <= LABEL_MAX or label[:4] != LABEL_MAGIC:
        raise InvalidInput("The label is not a sealed case label (PROTOCOL.md §12.3).", field="label")
    if len(key_commit) != 32:
        raise InvalidInput("The key commitment is 32 bytes.", field="key_commit")
    case = CaseCopy(new_id, template, starts_at, label, key_commit, member.id, now)
    async with store.transaction() as tx:
        if await tx.checklists.version(template) is None:
            raise InvalidInput("There is no such checklist version.", field="version")
        if await tx.checklists.exists(new_id):
            mine = await tx.checklists.case(member.id, new_id)
            if mine is not None and mine.label == label and mine.key_commit == key_commit:
                return mine, False  # a retry of a start that was committed
            raise Conflict("A case with this id exists already; start again.")
        await _check_wrap(tx, member.id, enc_kid, wrap)
        await tx.checklists.add_case(case, Participant(member.id, enc_kid, wrap, member.id, now))
    return case, True


async def cases(store: Store, member: Member) -> list[CaseSummary]:
    async with store.read() as tx:
        found = await tx.checklists.cases(member.id)
        counts = await tx.checklists.tick_counts([c.id for c, _ in found])
        sizes: dict[int, int] = {}
        for c, _ in found:
            if c.version not in sizes:
                v = await tx.checklists.version(c.version)
                sizes[c.version] = len(v.items) if v else 0
    return [CaseSummary(c, own, counts.get(c.id, 0), sizes[c.version]) for c, own in found]


async def _mine(tx: Transaction, member: Member, raw_id: str) -> CaseCopy:
    found = await tx.checklists.case(member.id, case_id(raw_id))
    if found is None:
        raise NotFound("There is no such case.")
    return found


async def view(store: Store, member: Member, raw_id: str) -> CaseView:
    async with store.read() as tx:
        case = await _mine(tx, member, raw_id)
        template = await tx.checklists.version(case.version)
        if template is None:  # the foreign key forbids it
            raise NotFound("There is no such case.")
        participants = [(p, await tx.members.get(p.member_id)) for p in await tx.checklists.participants(case.id)]
        ticks = await tx.checklists.ticks(case.id)
    return CaseView(case, template, participants, ticks)


async def share(
    store: Store, clock: Clock, member: Member, raw_id: str, target: MemberId, enc_kid: bytes, wrap: bytes
) -> bool:
    """Add a participant with the case key wrapped to their current key; False when they take part already."""
    now = clock.now()
    async with store.transaction() as tx:
        case = await _mine(tx, member, raw_id)
        current = await tx.checklists.participants(case.id)
        if any(p.member_id == target for p in current):
            return False
        if len(current) >= MAX_PARTICIPANTS:
            raise TooLarge(f"A case has at most {MAX_PARTICIPANTS} participants.")
        await _check_wrap(tx, target, enc_kid, wrap)
        await tx.checklists.add_participant(case.id, Participant(target, enc_kid, wrap, member.id, now))
    return True


async def tick(store: Store, clock: Clock, member: Member, raw_id: str, item: int, done: bool) -> Tick:
    async with store.transaction() as tx:
        case = await _mine(tx, member, raw_id)
        template = await tx.checklists.version(case.version)
        if template is None or not 0 <= item < len(template.items):
            raise NotFound("There is no such item in this checklist.")
        made = Tick(item, done, member.id, clock.now())
        await tx.checklists.set_tick(case.id, made)
    return made


async def notes(store: Store, member: Member, raw_id: str) -> list[CaseNote]:
    async with store.read() as tx:
        case = await _mine(tx, member, raw_id)
        return await tx.checklists.notes(case.id)


async def add_note(store: Store, clock: Clock, member: Member, raw_id: str, body: bytes) -> tuple[CaseNote, bool]:
    """Store a sealed note (§12.4) whose header names this case and this member; (note, created)."""
    if len(body) > MAX_NOTE_BYTES:
        raise TooLarge(f"A note is at most {MAX_NOTE_BYTES} bytes.")
    if len(body) < NOTE_MIN or body[:4] != NOTE_MAGIC or body[4] != SUITE:
        raise InvalidInput("This is not a sealed case note (PROTOCOL.md §12.4).", field="note")
    cid, note_id, author = body[5:21].hex(), body[21:37].hex(), body[37:53].hex()
    if author != member.id.value:
        raise InvalidInput("The note names another author.", field="note")
    async with store.transaction() as tx:
        case = await _mine(tx, member, raw_id)
        if cid != case.id:
            raise InvalidInput("The note is sealed for another case.", field="note")
        note = CaseNote(note_id, member.id, body, clock.now())
        if not await tx.checklists.add_note(case.id, note):
            for old in await tx.checklists.notes(case.id):
                if old.id == note_id and old.body == body:
                    return old, False
            raise Conflict("A note with this id exists already.")
        if await tx.checklists.note_count(case.id) > MAX_NOTES:  # rolls the insert back
            raise TooLarge(f"A case holds at most {MAX_NOTES} notes.")
    return note, True


async def audience(store: Store, member: Member, raw_id: str) -> list[MemberId]:
    """Who takes part in the member's case (for live updates after a change was committed)."""
    async with store.read() as tx:
        case = await _mine(tx, member, raw_id)
        return [p.member_id for p in await tx.checklists.participants(case.id)]


def due_at(case: CaseCopy, item: ChecklistItem) -> datetime:
    return case.starts_at + timedelta(hours=item.due_hours)

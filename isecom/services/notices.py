"""Corruption-related and asset-freeze notices: entry, import, search, look-up by reference.

A reference number is ``CN-YYYY-NNNNN`` for a corruption notice and ``AF-YYYY-NNNNN`` for an
asset-freeze notice (two letters, the four-digit year, a five-digit serial): the prefix must
agree with the type. The status is computed, never stored stale: ``cancelled`` (set by an
administrator), else ``expired`` (the day after ``valid_until``), else ``upcoming`` (before
``valid_from``), else ``valid``. Dates are whole days in UTC.

Administrators add notices one by one or import a CSV or JSON file: every row is checked
first, and the import is all or nothing — one bad row and nothing is written, with an error
for each bad row.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import date, datetime

from isecom.countries import COUNTRIES
from isecom.errors import Conflict, Forbidden, InvalidInput, NotFound
from isecom.services.library_ports import Notice, NoticeQuery
from isecom.services.ports import AuditEntry, Clock, Member, Store
from isecom.types import Role

TYPES = {"corruption": "CN", "asset_freeze": "AF"}
SUBJECT_KINDS = ("person", "entity")
STATUSES = ("valid", "upcoming", "expired", "cancelled")
REF_PATTERN = r"(?:CN|AF)-\d{4}-\d{5}"
_REF = re.compile(rf"^{REF_PATTERN}$")
MAX_IMPORT_ROWS = 5000
MAX_LOOKUP = 20
MAX_SUBJECT = 300
MAX_SUMMARY = 4000
PAGE_SIZE = 50
FIELDS = ("reference", "type", "subject", "subject_kind", "countries", "valid_from", "valid_until", "status", "summary")


@dataclass(frozen=True, slots=True)
class RowError:
    row: int  # 1-based data row (a CSV's header is row 0)
    field: str | None
    message: str


class ImportRejected(InvalidInput):
    """Nothing was imported; ``rows`` says what is wrong with each bad row."""

    def __init__(self, rows: list[RowError]) -> None:
        super().__init__(f"Nothing was imported: {len(rows)} error(s) in the file.", field="file")
        self.rows = rows


@dataclass(frozen=True, slots=True)
class Lookup:
    ref: str
    notice: Notice | None
    status: str  # one of STATUSES, or "unknown"


def parse_ref(raw: object, *, field: str = "reference") -> str:
    value = raw.strip().upper() if isinstance(raw, str) else ""
    if not _REF.match(value):
        raise InvalidInput("A notice reference looks like CN-2026-00042 or AF-2026-00042.", field=field)
    return value


def status(notice: Notice, today: date) -> str:
    day = today.isoformat()
    if notice.cancelled:
        return "cancelled"
    if notice.valid_until is not None and notice.valid_until < day:
        return "expired"
    if notice.valid_from > day:
        return "upcoming"
    return "valid"


def today(clock: Clock) -> date:
    return clock.now().date()


def parse_notice(raw: dict[str, object], now: datetime) -> Notice:
    """One notice from form or file fields (see ``FIELDS``); ``InvalidInput`` names the field."""
    ref = parse_ref(raw.get("reference"))
    kind = raw.get("type")
    if kind not in TYPES:
        raise InvalidInput("The type is corruption or asset_freeze.", field="type")
    if not ref.startswith(TYPES[str(kind)] + "-"):
        raise InvalidInput(f"A {kind} notice's reference starts with {TYPES[str(kind)]}-.", field="reference")
    raw_subject = raw.get("subject")
    subject = " ".join(raw_subject.split()) if isinstance(raw_subject, str) else ""
    if not subject or len(subject) > MAX_SUBJECT or not subject.isprintable():
        raise InvalidInput(f"The subject is required, one line, at most {MAX_SUBJECT} characters.", field="subject")
    subject_kind = raw.get("subject_kind") or "entity"
    if subject_kind not in SUBJECT_KINDS:
        raise InvalidInput("The subject kind is person or entity.", field="subject_kind")
    countries = _countries(raw.get("countries"))
    valid_from = _day(raw.get("valid_from"), "valid_from") or _bad_day("valid_from")
    valid_until = _day(raw.get("valid_until"), "valid_until")
    if valid_until is not None and valid_until < valid_from:
        raise InvalidInput("valid_until is before valid_from.", field="valid_until")
    state = raw.get("status") or "valid"
    if state not in ("valid", "cancelled"):
        raise InvalidInput("The status given is valid or cancelled (expired is computed).", field="status")
    summary = raw.get("summary") or ""
    if not isinstance(summary, str) or len(summary) > MAX_SUMMARY:
        raise InvalidInput(f"The summary is text of at most {MAX_SUMMARY} characters.", field="summary")
    return Notice(
        ref=ref,
        type=str(kind),
        subject=subject,
        subject_kind=str(subject_kind),
        countries=countries,
        valid_from=valid_from,
        valid_until=valid_until,
        cancelled=state == "cancelled",
        summary=summary.strip(),
        created_at=now,
        updated_at=now,
    )


def _countries(raw: object) -> tuple[str, ...]:
    items = re.split(r"[\s,;]+", raw) if isinstance(raw, str) else raw if isinstance(raw, list) else None
    if items is None:
        raise InvalidInput("Countries are ISO codes separated by spaces, commas or semicolons.", field="countries")
    found: list[str] = []
    for item in items:
        code = str(item).strip().upper()
        if not code:
            continue
        if code not in COUNTRIES:
            raise InvalidInput(f"Unknown country code {code!r} (use ISO 3166 alpha-2, e.g. FR).", field="countries")
        if code not in found:
            found.append(code)
    if not found or len(found) > 60:
        raise InvalidInput("Name 1 to 60 countries.", field="countries")
    return tuple(found)


def _day(raw: object, field: str) -> str | None:
    """A YYYY-MM-DD date, or None when empty."""
    value = raw.strip() if isinstance(raw, str) else ""
    if not value:
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value).isoformat()
    except ValueError:
        pass
    return _bad_day(field)


def _bad_day(field: str) -> str:
    raise InvalidInput(f"{field} is a date written YYYY-MM-DD.", field=field)


def rows_from_csv(text: str) -> list[dict[str, object]]:
    """Rows of a CSV file whose header names the columns (``FIELDS``; unknown columns refused)."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    if not header:
        raise InvalidInput("The CSV file is empty: its first line names the columns.", field="file")
    unknown = [h for h in header if h not in FIELDS]
    if unknown:
        raise InvalidInput(f"Unknown CSV column(s): {', '.join(unknown)}.", field="file")
    reader.fieldnames = header
    try:
        rows: list[dict[str, object]] = []
        for row in reader:
            if None in row:
                raise InvalidInput(f"Row {len(rows) + 1} has more values than columns.", field="file")
            rows.append(dict(row))
            if len(rows) > MAX_IMPORT_ROWS:
                break
    except csv.Error as exc:
        raise InvalidInput(f"The CSV file could not be read: {exc}.", field="file") from None
    return rows


def rows_from_json(text: str) -> list[dict[str, object]]:
    """A JSON list of objects (or ``{"notices": [...]}``) with the keys of ``FIELDS``."""
    try:
        data = json.loads(text)
    except ValueError:
        raise InvalidInput("The file is not valid JSON.", field="file") from None
    if isinstance(data, dict):
        data = data.get("notices")
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise InvalidInput('The JSON file is a list of notices (or {"notices": [...]}).', field="file")
    return data


def require_admin(actor: Member) -> None:
    if Role.ADMIN not in actor.roles:
        raise Forbidden("Only platform administrators can enter or import notices.")


async def import_rows(store: Store, clock: Clock, actor: Member, rows: list[dict[str, object]]) -> list[Notice]:
    """Check every row, then add them all in one transaction, or none (``ImportRejected``)."""
    require_admin(actor)
    if not rows:
        raise InvalidInput("The file holds no notice.", field="file")
    if len(rows) > MAX_IMPORT_ROWS:
        raise InvalidInput(f"At most {MAX_IMPORT_ROWS} notices per import.", field="file")
    now = clock.now()
    errors: list[RowError] = []
    parsed: list[tuple[int, Notice]] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        unknown = sorted(str(key) for key in row if key not in FIELDS)
        if unknown:
            errors.append(RowError(number, None, f"Unknown field(s): {', '.join(unknown)}."))
            continue
        try:
            notice = parse_notice(row, now)
        except InvalidInput as exc:
            errors.append(RowError(number, exc.field, exc.message))
            continue
        if notice.ref in seen:
            errors.append(RowError(number, "reference", f"{notice.ref} is also in row {seen[notice.ref]}."))
            continue
        seen[notice.ref] = number
        parsed.append((number, notice))
    async with store.transaction() as tx:
        taken = await tx.notices.existing([n.ref for _, n in parsed])
        errors += [RowError(i, "reference", f"{n.ref} already exists.") for i, n in parsed if n.ref in taken]
        if errors:
            raise ImportRejected(sorted(errors, key=lambda e: e.row))
        notices = [n for _, n in parsed]
        await tx.notices.add_many(notices, actor.id)
        await tx.audit.record(AuditEntry(now, actor.id, "notices.import", None, {"count": str(len(notices))}))
    return notices


async def add(store: Store, clock: Clock, actor: Member, raw: dict[str, object]) -> Notice:
    require_admin(actor)
    notice = parse_notice(raw, clock.now())
    async with store.transaction() as tx:
        if await tx.notices.existing([notice.ref]):
            raise Conflict(f"A notice {notice.ref} already exists.")
        await tx.notices.add_many([notice], actor.id)
        await tx.audit.record(AuditEntry(notice.created_at, actor.id, "notices.add", notice.ref, {}))
    return notice


async def set_cancelled(store: Store, clock: Clock, actor: Member, ref: str, cancelled: bool) -> Notice:
    require_admin(actor)
    ref = parse_ref(ref)
    now = clock.now()
    async with store.transaction() as tx:
        if not await tx.notices.set_cancelled(ref, cancelled, now):
            raise NotFound()
        action = "notices.cancel" if cancelled else "notices.reinstate"
        await tx.audit.record(AuditEntry(now, actor.id, action, ref, {}))
        found = await tx.notices.get(ref)
    if found is None:
        raise NotFound()
    return found


def parse_query(
    text: str = "", *, type: str = "", country: str = "", state: str = "", page: int = 1, day: date
) -> NoticeQuery:
    if type and type not in TYPES:
        raise InvalidInput("The type is corruption or asset_freeze.", field="type")
    if state and state not in STATUSES:
        raise InvalidInput(f"The status is one of: {', '.join(STATUSES)}.", field="status")
    code = country.strip().upper()
    if code and code not in COUNTRIES:
        raise InvalidInput("Unknown country code.", field="country")
    return NoticeQuery(
        text=" ".join(text.split())[:200],
        type=type or None,
        country=code or None,
        status=state or None,
        today=day.isoformat(),
        limit=PAGE_SIZE,
        offset=(max(1, min(page, 1000)) - 1) * PAGE_SIZE,
    )


async def search(store: Store, query: NoticeQuery) -> tuple[list[Notice], int]:
    async with store.read() as tx:
        return await tx.notices.search(query)


async def get(store: Store, ref: str) -> Notice:
    try:
        ref = parse_ref(ref)
    except InvalidInput:
        raise NotFound() from None
    async with store.read() as tx:
        found = await tx.notices.get(ref)
    if found is None:
        raise NotFound()
    return found


async def lookup(store: Store, clock: Clock, refs: list[str]) -> list[Lookup]:
    """The status of each reference a member wrote (unknown ones say so); at most ``MAX_LOOKUP``."""
    wanted = list(dict.fromkeys(parse_ref(ref, field="ref") for ref in refs))
    if not wanted:
        raise InvalidInput("Give at least one reference (ref=CN-2026-00042).", field="ref")
    if len(wanted) > MAX_LOOKUP:
        raise InvalidInput(f"At most {MAX_LOOKUP} references at once.", field="ref")
    async with store.read() as tx:
        found = {n.ref: n for n in await tx.notices.by_refs(wanted)}
    day = today(clock)
    return [Lookup(ref, found.get(ref), status(found[ref], day) if ref in found else "unknown") for ref in wanted]

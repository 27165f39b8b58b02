"""Administrators act on memberships: suspend, reinstate, expire, revoke; bulk onboarding."""

from __future__ import annotations

import csv
import io
from dataclasses import replace

from isecom.errors import Conflict, Forbidden, InvalidInput, NotFound
from isecom.services import keydir, outbox
from isecom.services.members import Invitation, NewMember, create_in
from isecom.services.notify_ports import OutboxHealth
from isecom.services.ports import AuditEntry, Clock, Member, Store
from isecom.types import Country, Email, MemberId, MemberStatus, Role

# action -> (statuses it applies to, resulting status, whether sessions end)
ACTIONS: dict[str, tuple[frozenset[MemberStatus], MemberStatus, bool]] = {
    "suspend": (frozenset({MemberStatus.ACTIVE}), MemberStatus.SUSPENDED, True),
    "reinstate": (frozenset({MemberStatus.SUSPENDED}), MemberStatus.ACTIVE, False),
    "expire": (frozenset({MemberStatus.ACTIVE, MemberStatus.SUSPENDED}), MemberStatus.EXPIRED, True),
    "revoke": (frozenset(MemberStatus) - {MemberStatus.REVOKED}, MemberStatus.REVOKED, True),
}
PAST = {"suspend": "suspended", "reinstate": "reinstated", "expire": "expired", "revoke": "revoked"}
MAX_IMPORT_ROWS = 5000
SEARCH_PAGE = 25
MAX_SEARCH_PAGES = 400  # 10,000 rows: narrow the search rather than page further
MAX_SEARCH_TEXT = 100


def require_admin(actor: Member | None) -> None:
    if actor is not None and Role.ADMIN not in actor.roles:
        raise Forbidden("Only platform administrators can do this.")


async def change_membership(
    store: Store,
    clock: Clock,
    actor: Member | None,
    *,
    action: str,
    member_id: MemberId | None = None,
    email: Email | None = None,
    reason: str,
    authority: keydir.Authority | None = None,
) -> Member:
    """Apply ``action``; ``actor`` None is the operator at the command line (audited as such)."""
    require_admin(actor)
    if action not in ACTIONS:
        raise InvalidInput(f"Unknown action {action!r} (one of: {', '.join(ACTIONS)}).", field="action")
    if not reason.strip() or len(reason) > 2000:
        raise InvalidInput("Give a reason (at most 2000 characters); it is kept in the audit log.", field="reason")
    allowed, result, end_sessions = ACTIONS[action]
    now = clock.now()
    async with store.transaction() as tx:
        member = None
        if member_id is not None:
            member = await tx.members.get(member_id)
        elif email is not None:
            member = await tx.members.by_email(email)
        if member is None:
            raise NotFound("No such member.")
        if member.status not in allowed:
            state = member.status.value.replace("_", " ")
            raise Conflict(f"A member who is {state} cannot be {PAST[action]}.")
        await tx.members.set_status(member.id, result)
        if result is MemberStatus.REVOKED and authority is not None:
            # The key log says so too, signed by the platform: clients refuse to encrypt to it.
            await keydir.revoke_by_platform(tx, authority, member, now)
        if end_sessions:
            await tx.sessions.revoke_all(member.id, now)
        await tx.audit.record(
            AuditEntry(
                now,
                actor.id if actor else None,
                f"membership.{action}",
                member.id.value,
                {"reason": reason.strip(), "by": "admin" if actor else "cli"},
            )
        )
    return replace(member, status=result)


async def search_members(
    store: Store, actor: Member, *, text: str, country: Country | None, page: int = 1
) -> tuple[list[Member], bool]:
    """One page of members matching ``text`` (name, email or agency) and ``country``; and whether
    there are more. Administrators only; bounded (``SEARCH_PAGE`` rows, ``MAX_SEARCH_PAGES`` pages)."""
    if Role.ADMIN not in actor.roles:
        raise Forbidden("Only platform administrators can do this.")
    text = text.strip()
    if len(text) > MAX_SEARCH_TEXT:
        raise InvalidInput(f"Search for at most {MAX_SEARCH_TEXT} characters.", field="q")
    if not 1 <= page <= MAX_SEARCH_PAGES:
        raise InvalidInput(f"page must be between 1 and {MAX_SEARCH_PAGES}.", field="page")
    async with store.transaction() as tx:
        found = await tx.members.search(text, country=country, limit=SEARCH_PAGE + 1, offset=(page - 1) * SEARCH_PAGE)
    return found[:SEARCH_PAGE], len(found) > SEARCH_PAGE


def parse_csv(text: str) -> list[NewMember]:
    """Rows ``email,name,country,agency[,roles][,language]``; roles separated by ``;``. All or nothing."""
    reader = csv.DictReader(io.StringIO(text))
    required = {"email", "name", "country", "agency"}
    if reader.fieldnames is None or not required <= set(reader.fieldnames):
        raise InvalidInput(
            "The CSV needs a header with at least: email,name,country,agency (optional: roles,language)."
        )
    rows: list[NewMember] = []
    seen: set[str] = set()
    for line, row in enumerate(reader, start=2):
        if len(rows) >= MAX_IMPORT_ROWS:
            raise InvalidInput(f"At most {MAX_IMPORT_ROWS} rows per import.")
        try:
            roles = [r for r in (row.get("roles") or "").split(";") if r.strip()]
            new = NewMember.parse(
                email=row["email"] or "",
                name=row["name"] or "",
                country=row["country"] or "",
                agency=row["agency"] or "",
                roles=roles,
                language=(row.get("language") or "en").strip() or "en",
            )
        except InvalidInput as exc:
            raise InvalidInput(f"line {line}: {exc.message}", field=exc.field) from None
        if str(new.email) in seen:
            raise InvalidInput(f"line {line}: {new.email} appears twice.")
        seen.add(str(new.email))
        rows.append(new)
    if not rows:
        raise InvalidInput("The CSV has no rows.")
    return rows


async def import_members(
    store: Store, clock: Clock, server_key: bytes, rows: list[NewMember], *, actor: Member | None
) -> list[Invitation]:
    """Create every row in one transaction (a duplicate anywhere creates nobody)."""
    require_admin(actor)
    async with store.transaction() as tx:
        for new in rows:
            if await tx.members.by_email(new.email) is not None:
                raise Conflict(f"{new.email} is already a member; nothing was imported.")
        invitations = [
            await create_in(
                tx, clock, server_key, new, roles=new.roles, action="member.imported", actor=actor.id if actor else None
            )
            for new in rows
        ]
    return invitations


async def reset_keys(
    store: Store,
    clock: Clock,
    server_key: bytes,
    actor: Member | None,
    member_id: MemberId,
    *,
    reason: str,
    base_url: str,
    authority: keydir.Authority | None = None,
) -> Member:
    """The honest "lost everything" path: new keys after a fresh authorization; old mail stays unreadable.

    Only an administrator or the NCB head of the member's country may do it. The
    old credentials are deleted, every session ends, and a new activation link is mailed.
    """
    if not reason.strip() or len(reason) > 2000:
        raise InvalidInput("Give a reason (at most 2000 characters); it is kept in the audit log.", field="reason")
    now = clock.now()
    async with store.transaction() as tx:
        member = await tx.members.get(member_id)
        allowed = (
            actor is None
            or Role.ADMIN in actor.roles
            or (member is not None and Role.NCB_HEAD in actor.roles and actor.country == member.country)
        )
        if member is None or not allowed:
            raise NotFound("No such member.")
        if member.status not in (MemberStatus.ACTIVE, MemberStatus.PENDING_ACTIVATION):
            raise Conflict("Only an active member, or one awaiting activation, can get new keys.")
        await tx.credentials.delete(member.id)
        if authority is not None:
            await keydir.revoke_by_platform(tx, authority, member, now)
        await tx.sessions.revoke_all(member.id, now)
        await outbox.send_activation_link(tx, clock, server_key, member, template="keys.reset", base_url=base_url)
        await tx.audit.record(
            AuditEntry(now, actor.id if actor else None, "keys.reset", member.id.value, {"reason": reason.strip()})
        )
    return replace(member, status=MemberStatus.PENDING_ACTIVATION)


async def outbox_health(store: Store, actor: Member, *, limit: int = 20) -> OutboxHealth:
    """Mail that failed to leave (counts, newest entries, error class): administrators only.

    No addresses and no content: the template name, attempts, the error's class and when
    the next try is (None: given up after the last try)."""
    require_admin(actor)
    async with store.read() as tx:
        return await tx.outbox.health(limit)

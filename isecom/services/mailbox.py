"""The encrypted message store: send, list, read, flags, folders, trash, drafts (docs/PROTOCOL.md §6–§7).

The server stores the envelope the sender's client made and reads only its
header: who sent it, to whom, with which key ids. It checks that the sender is
the signed-in member, that every recipient is an active member, and that each
wrap names the recipient's current published encryption key, so a stale or
swapped key is refused here as well as in the client. Every lookup is scoped
by the member: a message that is not yours and one that does not exist give
the same answer.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from isecom.crypto import envelope as env
from isecom.crypto import keytrans
from isecom.crypto.errors import CryptoError
from isecom.crypto.hashing import h256
from isecom.errors import Conflict, InvalidInput, IsecomError, NotFound, TooLarge
from isecom.services import notify
from isecom.services.files import delete_blobs
from isecom.services.ports import (
    FOLDERS,
    BlobStore,
    Clock,
    Draft,
    MailboxEntry,
    Member,
    NewMessage,
    RecipientKeys,
    Store,
    Transaction,
)
from isecom.types import MemberId, MemberStatus

PAGE = 50
MAX_PAGE = 200
MAX_DRAFTS = 200
_SLOT = re.compile(r"^[0-9a-f]{32}$")
_THREAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

# Called inside the send transaction once the message is stored: grant the recipients access
# to the attachments the message references (the attachments service), or refuse.
Grant = Callable[[Transaction, Sequence[str], MemberId, Collection[MemberId]], Awaitable[None]]


async def _no_files(
    tx: Transaction, file_ids: Sequence[str], sender: MemberId, recipients: Collection[MemberId]
) -> None:
    if file_ids:
        raise InvalidInput("This server does not accept attachments yet.", field="files")


@dataclass(frozen=True, slots=True)
class Sent:
    msg_id: str
    recipients: list[MemberId]  # who got an inbox row (not the sender's Sent copy)
    created: bool  # False: the same envelope was sent before; nothing new was stored


async def send(
    store: Store,
    clock: Clock,
    member: Member,
    envelope: bytes,
    *,
    files: list[str] | None = None,
    max_bytes: int,
    grant: Grant = _no_files,
) -> Sent:
    """Store a message once and put it in each recipient's inbox and the sender's Sent folder."""
    if len(envelope) > max_bytes:
        raise TooLarge(f"A message is at most {max_bytes} bytes; attach large files instead.")
    try:
        header, _ = env.parse_header(envelope, draft=False)
    except CryptoError as exc:
        raise InvalidInput(
            f"This is not a message envelope ({exc.check}; PROTOCOL.md §6.1).", field="envelope"
        ) from None
    if header.sender_uid.hex() != member.id.value:
        raise InvalidInput("The envelope names another sender.", field="envelope")
    msg_id = header.msg_id.hex()
    now = clock.now()
    recipients: list[MemberId] = []
    # The checks read a snapshot without the writer's lock; the transaction below only writes,
    # so it holds the lock for as short as it can (a key changing in between is the same race
    # as a key changing just after the send).
    addressed = [MemberId(entry.uid.hex()) for entry in header.entries]
    found = await store.recipient_keys(addressed)  # one query for every addressee
    for entry, recipient in zip(header.entries, addressed, strict=True):
        _check_found(found.get(recipient), recipient, entry.enc_kid, sender=recipient == member.id)
        if recipient != member.id:
            recipients.append(recipient)
    pending = _Pending(member, msg_id, envelope, recipients, list(dict.fromkeys(files or [])), now, grant)
    # Group commit: concurrent sends are written together, in one durable commit, and each
    # returns only once that commit is done; a refused one (a taken id, a file it may not attach)
    # is refused alone.
    return await store.grouped(_write_sends, pending)


@dataclass(frozen=True, slots=True)
class _Pending:
    member: Member
    msg_id: str
    envelope: bytes
    recipients: list[MemberId]
    file_ids: list[str]
    now: datetime
    grant: Grant


async def _write_sends(tx: Transaction, sends: Sequence[_Pending]) -> list[Sent | Exception]:
    """Write a batch of checked sends with a few bulk statements; one outcome per send, in order.
    Nothing of a refused send is written: it is refused before any of its rows."""
    outcomes: list[Sent | Exception] = []
    stored = await tx.mail.existing([s.msg_id for s in sends])
    new: dict[str, NewMessage] = {}
    notified: dict[str, MemberId] = {}
    for send in sends:
        try:
            if send.msg_id in new or send.msg_id in stored:
                if send.msg_id in new:
                    first = new[send.msg_id]
                    same = first.envelope == send.envelope and first.sender_id == send.member.id
                else:
                    same = await tx.mail.envelope(send.msg_id) == send.envelope
                    same = same and await tx.mail.entry(send.member.id, send.msg_id) is not None
                if not same:
                    raise Conflict("A message with this id exists already; make a new envelope.")
                outcomes.append(Sent(send.msg_id, send.recipients, created=False))  # a retry of a send
                continue
            # The files are all checked before the first grant row is written (files.grant).
            await send.grant(tx, send.file_ids, send.member.id, send.recipients)
        except IsecomError as exc:
            outcomes.append(exc)
            continue
        entries = [(send.member.id, "sent", False), *[(r, "inbox", True) for r in send.recipients]]
        new[send.msg_id] = NewMessage(send.msg_id, send.member.id, "web", send.envelope, entries)
        notified.update({r.value: r for r in send.recipients})
        outcomes.append(Sent(send.msg_id, send.recipients, created=True))
    if new:
        await tx.mail.add_many(list(new.values()), sends[0].now)
        for send in sends:
            if send.file_ids and send.msg_id in new and new[send.msg_id].envelope is send.envelope:
                await tx.file_links.link(send.msg_id, send.file_ids)  # the blobs go with the last message (§8.5)
        await notify.mark_waiting(tx, list(notified.values()), sends[0].now)  # content-free notices
    return outcomes


async def store_smtp(
    store: Store, clock: Clock, envelope: bytes, *, checked: dict[MemberId, RecipientKeys] | None = None
) -> Sent:
    """Store mail the SMTP gateway sealed ("ISS1", PROTOCOL.md §6.6) in each recipient's inbox, in one transaction.

    Every entry must name an active member's current published key (Conflict or
    InvalidInput otherwise: the gateway answers 4xx and the sending server retries).
    The message row's ``sender_id`` column must name a member, and the gateway is
    none: it holds the first recipient; the real sender is inside the ciphertext.
    ``checked``: the recipients' keys as the caller read them to seal (one snapshot), checked
    against the envelope's entries instead of reading them again.
    """
    try:
        header, _ = env.parse_header(envelope, draft=False, smtp=True)
    except CryptoError as exc:
        raise InvalidInput(f"This is not an SMTP-sealed envelope ({exc.check}).", field="envelope") from None
    if header.magic != env.SMTP_MAGIC:
        raise InvalidInput("This is not an SMTP-sealed envelope (version).", field="envelope")
    msg_id = header.msg_id.hex()
    recipients = [MemberId(entry.uid.hex()) for entry in header.entries]
    # The key checks read a snapshot without the writer's lock (as ``send`` does); the write goes
    # through the group commit, so concurrent SMTP deliveries share one durable commit, and this
    # returns only once the commit that holds this message is done.
    found = checked if checked is not None else await store.recipient_keys(recipients)
    for entry, recipient in zip(header.entries, recipients, strict=True):
        _check_found(found.get(recipient), recipient, entry.enc_kid, sender=False)
    return await store.grouped(_write_smtp, _PendingSmtp(msg_id, envelope, recipients, clock.now()))


@dataclass(frozen=True, slots=True)
class _PendingSmtp:
    msg_id: str
    envelope: bytes
    recipients: list[MemberId]
    now: datetime


async def _write_smtp(tx: Transaction, messages: Sequence[_PendingSmtp]) -> list[Sent | Exception]:
    """Write a batch of gateway-sealed messages with a few bulk statements; one outcome per message.
    A message whose id is taken is refused alone (Conflict) and nothing of it is written."""
    outcomes: list[Sent | Exception] = []
    stored = await tx.mail.existing([m.msg_id for m in messages])
    new: dict[str, NewMessage] = {}
    notified: dict[str, MemberId] = {}
    for m in messages:
        if m.msg_id in stored or m.msg_id in new:
            outcomes.append(Conflict("A message with this id exists already; make a new envelope."))
            continue
        # The message row's sender_id names the first recipient: the gateway is no member.
        new[m.msg_id] = NewMessage(
            m.msg_id, m.recipients[0], "smtp", m.envelope, [(r, "inbox", True) for r in m.recipients]
        )
        notified.update({r.value: r for r in m.recipients})
        outcomes.append(Sent(m.msg_id, m.recipients, created=True))
    if new:
        await tx.mail.add_many(list(new.values()), messages[0].now)
        await notify.mark_waiting(tx, list(notified.values()), messages[0].now)  # content-free notices
    return outcomes


@functools.lru_cache(maxsize=4096)
def _current_enc_kid(keys_leaf: bytes) -> bytes:
    """The key id of the encryption key in a key-log leaf: a pure function of the leaf's bytes, so
    its signature check is done once per leaf, not once per send (the leaf is an immutable log entry)."""
    return h256(keytrans.parse_key_statement(keytrans.parse_leaf(keys_leaf).obj).enc_pk)


def _check_found(found: RecipientKeys | None, member_id: MemberId, enc_kid: bytes, *, sender: bool) -> None:
    """An addressee's checks on what ``MailboxRepository.recipient_keys`` read: an active member whose
    current, unrevoked published encryption key is the one the entry names."""
    who = "your own copy" if sender else f"recipient {member_id.value}"
    if found is None or found.status is not MemberStatus.ACTIVE:
        raise InvalidInput(f"The envelope is addressed to {who}, who is not an active member.", field="envelope")
    if found.keys_leaf is None:
        raise InvalidInput(f"The envelope is addressed to {who}, who has no published keys.", field="envelope")
    if found.revoked:
        raise InvalidInput(f"The keys of {who} are revoked; mail to them is refused.", field="envelope")
    if _current_enc_kid(found.keys_leaf) != enc_kid:
        raise Conflict(f"The envelope is sealed to a key that is not the current key of {who}; fetch the keys again.")


async def page(
    store: Store, member: Member, folder: str, *, before: int | None = None, limit: int = PAGE
) -> tuple[list[MailboxEntry], dict[str, int]]:
    """One page of a folder, newest first (metadata only), and the unread count per folder."""
    _folder(folder)
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"A page holds 1 to {MAX_PAGE} messages.", field="limit")
    async with store.read() as tx:
        entries = await tx.mail.page(member.id, folder, before, limit)
        counts = await tx.mail.unread_counts(member.id)
    return entries, counts


async def read(store: Store, member: Member, msg_id: str) -> tuple[MailboxEntry, bytes]:
    """The member's mailbox entry for ``msg_id`` and the envelope (NotFound when not theirs)."""
    async with store.read() as tx:
        entry = await tx.mail.entry(member.id, _msg_id(msg_id))
        data = await tx.mail.envelope(entry.msg_id) if entry else None
    if entry is None or data is None:
        raise NotFound("No such message.")
    return entry, data


async def update(
    store: Store,
    member: Member,
    msg_id: str,
    *,
    unread: bool | None = None,
    starred: bool | None = None,
    folder: str | None = None,
    thread: str | None = None,
) -> MailboxEntry:
    values: dict[str, object] = {}
    if unread is not None:
        values["unread"] = int(unread)
    if starred is not None:
        values["starred"] = int(starred)
    if folder is not None:
        values["folder"] = _folder(folder)
    if thread is not None:
        if not _THREAD.match(thread):
            raise InvalidInput("A thread tag is 1 to 64 characters of A–Z, a–z, 0–9, - and _.", field="thread")
        values["thread"] = thread
    if not values:
        raise InvalidInput("Nothing to change.")
    async with store.transaction() as tx:
        if not await tx.mail.update(member.id, _msg_id(msg_id), values):
            raise NotFound("No such message.")
        entry = await tx.mail.entry(member.id, msg_id)
    if entry is None:
        raise NotFound("No such message.")
    return entry


async def delete(store: Store, member: Member, msg_id: str, *, blobs: BlobStore | None = None) -> str:
    """Move to Trash; a message already in Trash is deleted for good. Returns where it went.

    A message no mailbox holds any more is deleted from the server, and with it every evidence
    file no other message references: rows in the transaction, then (given ``blobs``) the blobs
    once it committed — a crash in between leaves orphans that ``files.sweep`` removes."""
    async with store.transaction() as tx:
        entry = await tx.mail.entry(member.id, _msg_id(msg_id))
        if entry is None:
            raise NotFound("No such message.")
        if entry.folder != "trash":
            await tx.mail.update(member.id, entry.msg_id, {"folder": "trash"})
            return "trash"
        await tx.mail.remove(member.id, [entry.msg_id])
        released = await tx.file_links.release([entry.msg_id])
        await tx.mail.drop_orphans([entry.msg_id])
    if blobs is not None:
        await delete_blobs(blobs, released)
    return "deleted"


async def empty_trash(store: Store, member: Member, *, blobs: BlobStore | None = None) -> int:
    """Delete everything in Trash; a message no mailbox holds any more is deleted from the server,
    with the files only it referenced (as in ``delete``)."""
    async with store.transaction() as tx:
        ids = await tx.mail.in_folder(member.id, "trash")
        removed = await tx.mail.remove(member.id, ids)
        released = await tx.file_links.release(ids)
        await tx.mail.drop_orphans(ids)
    if blobs is not None:
        await delete_blobs(blobs, released)
    return removed


async def save_draft(store: Store, clock: Clock, member: Member, slot: str, envelope: bytes, *, max_bytes: int) -> None:
    """Keep the latest encrypted draft in ``slot`` (PROTOCOL.md §7: sealed to its author only)."""
    if not _SLOT.match(slot):
        raise InvalidInput("A draft slot is 32 lower-case hexadecimal digits.", field="slot")
    if len(envelope) > max_bytes:
        raise TooLarge(f"A draft is at most {max_bytes} bytes.")
    try:
        header, _ = env.parse_header(envelope, draft=True)
    except CryptoError as exc:
        raise InvalidInput(f"This is not a draft envelope ({exc.check}; PROTOCOL.md §7).", field="envelope") from None
    if header.sender_uid.hex() != member.id.value or header.entries[0].uid != header.sender_uid:
        raise InvalidInput("A draft is sealed to its author only.", field="envelope")
    async with store.transaction() as tx:
        existing = await tx.mail.drafts(member.id)
        if len(existing) >= MAX_DRAFTS and all(d.slot != slot for d in existing):
            raise TooLarge(f"You have {MAX_DRAFTS} drafts; send or delete some first.")
        await tx.mail.put_draft(member.id, slot, envelope, clock.now())


async def drafts(store: Store, member: Member) -> list[Draft]:
    async with store.read() as tx:
        return await tx.mail.drafts(member.id)


async def delete_draft(store: Store, member: Member, slot: str) -> None:
    if not _SLOT.match(slot):
        raise NotFound("No such draft.")
    async with store.transaction() as tx:
        if not await tx.mail.delete_draft(member.id, slot):
            raise NotFound("No such draft.")


def _folder(folder: str) -> str:
    if folder not in FOLDERS:
        raise InvalidInput(f"Unknown folder {folder!r} (one of: {', '.join(FOLDERS)}).", field="folder")
    return folder


def _msg_id(msg_id: str) -> str:
    if not isinstance(msg_id, str) or not _SLOT.match(msg_id):
        raise NotFound("No such message.")
    return msg_id

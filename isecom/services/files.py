"""Evidence attachments on the server (docs/PROTOCOL.md §8): declare, upload chunks, commit, read, grant.

The server never holds a key. It checks each uploaded chunk — the exact length
``24 + len(P_i) + 16`` and the unkeyed BLAKE2b-256 ``h_i`` — while the bytes stream to the blob
store, so nothing but our chunk format is stored and memory stays bounded whatever the file size.
The hash to check is the one the owner declared for that chunk or, when the declaration left the
hashes out (a one-pass upload, §8.2), the one the chunk's PUT brings; the commit of such a file
then checks the stored hashes against the ``manifest_root`` the client will sign.

Every look-up is scoped: the owner sees a file in any state; a member granted access (by a sent
message that references it) sees it once committed; anyone else gets the same ``NotFound`` as
for an id that does not exist. Blob ids are ``<file_id>-c<index>`` (the random hex id first, so
the blob store's two-level fan-out stays even).

A long upload never holds a database transaction: the file is looked up in one short
transaction, the chunk streams to the blob store (written atomically, fsynced), and only then is
its row recorded in a second one — the caller acknowledges after that commit.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass
from datetime import timedelta

from isecom.crypto.attachments import MAX_CHUNK, MIN_CHUNK, NONCE, OVERHEAD, chunk_count, manifest_root
from isecom.crypto.hashing import H256Stream, equal
from isecom.errors import Conflict, InvalidInput, NotFound, TooLarge
from isecom.services.files_ports import Unfinished
from isecom.services.ports import BlobStore, Clock, FileRecord, Store, StoredChunk, Transaction
from isecom.types import MemberId

log = logging.getLogger(__name__)

UPLOADING = "uploading"
COMMITTED = "committed"
HASH_BYTES = 32
# A server limit, not a protocol one: it keeps a manifest under ~3 MiB of JSON (and within the
# default request size); a 20 GiB file needs chunks of at least 512 KiB (the default is 4 MiB).
MAX_CHUNKS = 65_536
MAX_CHUNK_BLOB = MAX_CHUNK + OVERHEAD
# The sealed resume record (§8.6): a sealed box of a small JSON object; opaque to the server.
MAX_RESUME = 8192
SWEEP_BATCH = 500
_FILE_ID = re.compile(r"^[0-9a-f]{32}$")
_BLOB_ID = re.compile(r"^([0-9a-f]{32})-c([0-9]{1,9})$")


@dataclass(frozen=True, slots=True)
class Limits:
    max_file_bytes: int
    quota_bytes: int


@dataclass(frozen=True, slots=True)
class Declaration:
    """What the owner declares before uploading (§8.1, §8.2), parsed and checked. No chunk hashes
    (an empty tuple) means each chunk brings its own with its PUT."""

    file_id: str
    n_chunks: int
    chunk_size: int
    plain_size: int
    chunk_hashes: tuple[bytes, ...]
    resume: bytes | None = None  # the sealed resume record (§8.6), if the client sent one

    @classmethod
    def parse(
        cls,
        *,
        file_id: object,
        n_chunks: object,
        chunk_size: object,
        plain_size: object,
        chunk_hashes: list[bytes] | None,
        resume: bytes | None = None,
    ) -> Declaration:
        fid = parse_file_id(file_id)
        n_chunks, chunk_size = _whole("n_chunks", n_chunks), _whole("chunk_size", chunk_size)
        plain_size = _whole("plain_size", plain_size)
        if not (MIN_CHUNK <= chunk_size <= MAX_CHUNK and chunk_size & (chunk_size - 1) == 0):
            raise InvalidInput("chunk_size must be a power of two from 65536 to 16777216.", field="chunk_size")
        if n_chunks != chunk_count(plain_size, chunk_size):
            raise InvalidInput("n_chunks does not match plain_size and chunk_size.", field="n_chunks")
        if n_chunks > MAX_CHUNKS:
            raise InvalidInput(f"At most {MAX_CHUNKS} chunks per file; use larger chunks.", field="n_chunks")
        if chunk_hashes is None:
            chunk_hashes = []
        elif len(chunk_hashes) != n_chunks or any(len(h) != HASH_BYTES for h in chunk_hashes):
            raise InvalidInput("chunk_hashes must hold one 32-byte hash per chunk.", field="chunk_hashes")
        if resume is not None and not 48 <= len(resume) <= MAX_RESUME:
            raise InvalidInput(f"A resume record is a sealed box of 48 to {MAX_RESUME} bytes.", field="resume")
        return cls(fid, n_chunks, chunk_size, plain_size, tuple(chunk_hashes), resume)

    @property
    def manifest(self) -> bytes:
        return b"".join(self.chunk_hashes)


@dataclass(frozen=True, slots=True)
class FileStatus:
    record: FileRecord
    missing: list[int]  # indices not stored yet (empty once committed)


def _whole(name: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidInput(f"{name} must be a whole number.", field=name)
    return value


def parse_file_id(raw: object, *, field: str = "file_id") -> str:
    if not isinstance(raw, str) or not _FILE_ID.match(raw):
        raise InvalidInput("A file id is 32 lower-case hexadecimal digits.", field=field)
    return raw


def blob_id(file_id: str, index: int) -> str:
    return f"{file_id}-c{index}"


def blob_size(record: FileRecord, index: int) -> int:
    """The exact stored length of chunk ``index``: ``24 + len(P_i) + 16`` (§8.2)."""
    last = record.n_chunks - 1
    plain = record.chunk_size if index < last else record.plain_size - record.chunk_size * last
    return OVERHEAD + plain


def declared_bytes(plain_size: int, n_chunks: int) -> int:
    return plain_size + OVERHEAD * n_chunks


async def declare(
    store: Store, clock: Clock, owner: MemberId, declaration: Declaration, limits: Limits
) -> tuple[FileRecord, bool]:
    """Declare a file to upload; (record, True) when new. The same declaration again is a no-op
    (a client resuming after a reload); a different one for the same id is a ``Conflict``."""
    if declaration.plain_size > limits.max_file_bytes:
        raise TooLarge(f"A file may be at most {limits.max_file_bytes} bytes.")
    size = declared_bytes(declaration.plain_size, declaration.n_chunks)
    async with store.transaction() as tx:
        existing = await tx.files.get(declaration.file_id)
        if existing is not None:
            # The id is 128 random bits the owner's client chose: someone else's file can only
            # collide if the caller already knew its id (from a message), and gets the same answer.
            same = (
                existing.owner_id == owner
                and (existing.n_chunks, existing.chunk_size, existing.plain_size)
                == (declaration.n_chunks, declaration.chunk_size, declaration.plain_size)
                # without hashes, the same sizes suffice (the stored chunks keep theirs)
                and (not declaration.chunk_hashes or equal(await tx.files.manifest(existing.id), declaration.manifest))
            )
            if not same:
                raise Conflict("This file id is already in use with other values; choose a new random id.")
            return existing, False
        if await tx.files.usage(owner) + size > limits.quota_bytes:
            raise TooLarge(f"This file would take you over your storage quota of {limits.quota_bytes} bytes.")
        record = FileRecord(
            id=declaration.file_id,
            owner_id=owner,
            n_chunks=declaration.n_chunks,
            chunk_size=declaration.chunk_size,
            plain_size=declaration.plain_size,
            status=UPLOADING,
            created_at=clock.now(),
        )
        await tx.files.add(record, declaration.manifest)
        if declaration.resume is not None:
            await tx.file_links.put_resume(record.id, declaration.resume)
    return record, True


async def status(store: Store, member: MemberId, file_id: str) -> FileStatus:
    async with store.read() as tx:
        record = await tx.files.readable(member, parse_file_id(file_id))
        if record is None:
            raise NotFound()
        stored = await tx.files.chunks(record.id)
    return FileStatus(record, [i for i in range(record.n_chunks) if i not in stored])


def _index(record: FileRecord, raw: int) -> int:
    if not 0 <= raw < record.n_chunks:
        raise InvalidInput(f"This file has chunks 0 to {record.n_chunks - 1}.", field="index")
    return raw


async def put_chunk(
    store: Store,
    blobs: BlobStore,
    owner: MemberId,
    file_id: str,
    index: int,
    body: AsyncIterator[bytes],
    length: int | None,
    claimed: bytes | None = None,
) -> bool:
    """Store chunk ``index`` from ``body`` if it is exactly the expected blob; True when stored now,
    False when the same bytes were already stored. ``length`` is the announced body length, if any;
    ``claimed`` the chunk's hash as its PUT gave it (required when the declaration left the hashes
    out, else it must equal the declared one). Anything else is refused (``InvalidInput``,
    ``TooLarge``, ``Conflict``) and leaves nothing behind."""
    file_id = parse_file_id(file_id)
    if length is not None and length > MAX_CHUNK_BLOB:
        raise TooLarge(f"A chunk is at most {MAX_CHUNK_BLOB} bytes.")
    async with store.read() as tx:
        record = await tx.files.owned(owner, file_id)
        if record is None:
            raise NotFound()
        index = _index(record, index)
        declared = await tx.files.chunk_hash(file_id, index)
        stored = await tx.files.stored_chunk(file_id, index)
    expected = _expected(index, declared, claimed)
    size = blob_size(record, index)
    if length is not None and length != size:
        raise InvalidInput(f"Chunk {index} must be exactly {size} bytes, not {length}.", field="body")
    if stored is not None and stored.digest is not None and not equal(stored.digest, expected):
        # A stored chunk never changes: no blob is ever overwritten, so a committed file's chunks
        # cannot change under its readers. A client resuming sees the stored hash and nonce in
        # GET /api/v1/files (§8.6).
        raise Conflict(f"Chunk {index} is already stored with other bytes; stored chunks never change.")
    head = bytearray()
    checked = _checked(body, size, expected, index, head)
    if stored is not None:
        async for _ in checked:  # the same bytes again: check them, keep the stored blob
            pass
        return False
    if record.status != UPLOADING:
        raise Conflict("This file is committed; its chunks cannot change.")
    await blobs.put(blob_id(file_id, index), checked, max_bytes=size)
    async with store.transaction() as tx:
        current = await tx.files.owned(owner, file_id)
        if current is None:  # aborted while the chunk streamed
            await blobs.delete(blob_id(file_id, index))
            raise NotFound()
        if current.created_at != record.created_at:  # aborted and declared anew meanwhile
            raise Conflict("This file was declared again while the chunk was sent; send it again.")
        await tx.files.add_chunk(file_id, index, size, expected, bytes(head))
    return True


def _expected(index: int, declared: bytes, claimed: bytes | None) -> bytes:
    """The hash chunk ``index`` must have: the declared one, or the one its PUT brings."""
    if declared:
        if claimed is not None and not equal(claimed, declared):
            raise InvalidInput(f"X-Chunk-Hash is not the hash declared for chunk {index}.", field="X-Chunk-Hash")
        return declared
    if claimed is None:
        raise InvalidInput(
            f"This file was declared without its chunk hashes: send chunk {index}'s hash in X-Chunk-Hash.",
            field="X-Chunk-Hash",
        )
    return claimed


async def _checked(
    body: AsyncIterator[bytes], size: int, expected: bytes, index: int, head: bytearray
) -> AsyncIterator[bytes]:
    """Pass ``body`` through, refusing it (before the blob store commits) unless it is exactly
    ``size`` bytes hashing to ``expected``; the first 24 bytes (the nonce) are copied to ``head``."""
    hasher = H256Stream()
    received = 0
    async for piece in body:
        received += len(piece)
        if received > size:
            raise InvalidInput(f"Chunk {index} must be exactly {size} bytes; more arrived.", field="body")
        if len(head) < NONCE:
            head += piece[: NONCE - len(head)]
        hasher.update(piece)
        yield piece
    if received != size:
        raise InvalidInput(f"Chunk {index} must be exactly {size} bytes, not {received}.", field="body")
    if not equal(hasher.digest(), expected):
        raise InvalidInput(f"Chunk {index} does not match its hash in the manifest.", field="body")


async def commit(store: Store, clock: Clock, owner: MemberId, file_id: str, root: bytes | None = None) -> FileRecord:
    """Mark an upload complete once every chunk is stored (again: no change). ``root`` is the
    ``manifest_root`` (§8.1) the client computed: required for a file declared without its chunk
    hashes, whose manifest is then made of the stored hashes; checked whenever it is given."""
    async with store.transaction() as tx:
        record = await tx.files.owned(owner, parse_file_id(file_id))
        if record is None:
            raise NotFound()
        manifest = await tx.files.manifest(record.id)
        if record.status == COMMITTED:
            _check_root(record, manifest, root)
            return record
        stored = await tx.files.stored_chunks(record.id)
        missing = [i for i in range(record.n_chunks) if i not in stored]
        if missing:
            raise Conflict(f"{len(missing)} chunk(s) are still missing, starting with chunk {missing[0]}.")
        if not manifest:
            if root is None:
                raise InvalidInput(
                    "This file was declared without its chunk hashes: send its manifest_root.", field="manifest_root"
                )
            manifest = b"".join(_digest(stored[i]) for i in range(record.n_chunks))
            _check_root(record, manifest, root)
            await tx.files.set_manifest(record.id, manifest)
        else:
            _check_root(record, manifest, root)
        when = clock.now()
        await tx.files.commit(record.id, when)
    return FileRecord(
        id=record.id,
        owner_id=record.owner_id,
        n_chunks=record.n_chunks,
        chunk_size=record.chunk_size,
        plain_size=record.plain_size,
        status=COMMITTED,
        created_at=record.created_at,
        committed_at=when,
    )


def _digest(chunk: StoredChunk) -> bytes:
    if chunk.digest is None:  # only chunks stored before revision 0014, all of declared files
        raise Conflict("A chunk of this file was stored without its hash; upload the file again.")
    return chunk.digest


def _check_root(record: FileRecord, manifest: bytes, root: bytes | None) -> None:
    if root is None:
        return
    hashes = [manifest[i : i + HASH_BYTES] for i in range(0, len(manifest), HASH_BYTES)]
    if not equal(manifest_root(bytes.fromhex(record.id), hashes), root):
        raise Conflict("manifest_root does not match the chunks stored for this file.")


async def read_chunk(
    store: Store, blobs: BlobStore, member: MemberId, file_id: str, index: int
) -> tuple[int, AsyncIterator[bytes]]:
    """(length, bytes) of a stored chunk the member may read; ``NotFound`` for everything else."""
    async with store.read() as tx:
        record = await tx.files.readable(member, parse_file_id(file_id))
        if record is None:
            raise NotFound()
        size = (await tx.files.chunks(record.id)).get(_index(record, index))
    if size is None:
        raise NotFound("This chunk has not been uploaded yet.")
    return size, blobs.get(blob_id(record.id, index))


async def abort(store: Store, blobs: BlobStore, owner: MemberId, file_id: str) -> None:
    """The owner abandons an upload: rows first (so nothing points at a missing blob), then blobs."""
    async with store.transaction() as tx:
        record = await tx.files.owned(owner, parse_file_id(file_id))
        if record is None:
            raise NotFound()
        if record.status == COMMITTED:
            raise Conflict("A committed file cannot be deleted here; messages may reference it.")
        stored = await tx.files.chunks(record.id)
        await tx.files.delete(record.id)
    for index in sorted(stored):
        await blobs.delete(blob_id(record.id, index))


async def grant(
    tx: Transaction, file_ids: Sequence[str], sender_id: MemberId, recipient_ids: Collection[MemberId]
) -> None:
    """Inside the send transaction: let the recipients download the message's attachments.

    Each file must be committed and either the sender's own or already readable by the sender
    (a forward); otherwise ``InvalidInput`` names the first bad id, and the caller's transaction
    rolls back. Grants already held are kept.
    """
    checked: list[str] = []
    for raw in file_ids:
        file_id = parse_file_id(raw, field="attachments")
        record = await tx.files.readable(sender_id, file_id)
        if record is None or record.status != COMMITTED:
            raise InvalidInput(
                f"Attachment {file_id} is not a committed file you uploaded or received.", field="attachments"
            )
        checked.append(file_id)
    for file_id in dict.fromkeys(checked):
        await tx.files.grant(file_id, recipient_ids)


async def unfinished(store: Store, owner: MemberId) -> list[tuple[Unfinished, dict[int, StoredChunk]]]:
    """The owner's uploads that can be resumed (§8.6), each with the chunks stored so far."""
    async with store.read() as tx:
        found = await tx.file_links.unfinished(owner)
        return [(item, await tx.files.stored_chunks(item.file_id)) for item in found]


async def delete_blobs(blobs: BlobStore, released: Sequence[tuple[str, Sequence[int]]]) -> int:
    """Delete the blobs of files whose rows are gone (after that commit). A failure is logged and
    left to ``sweep``: the rows are gone, so nothing points at the blob any more."""
    deleted = 0
    for file_id, indices in released:
        for index in indices:
            try:
                deleted += await blobs.delete(blob_id(file_id, index))
            except Exception:
                log.exception("deleting blob %s failed; the sweep will retry", blob_id(file_id, index))
    return deleted


@dataclass(frozen=True, slots=True)
class Swept:
    uploads: int  # abandoned uploads deleted
    blobs: int  # blobs deleted (of those uploads, and orphans)


async def sweep(
    store: Store, blobs: BlobStore, clock: Clock, *, abandon_after: timedelta, orphan_seconds: float = 3600
) -> Swept:
    """Delete uploads declared more than ``abandon_after`` ago and never committed, then every blob
    (older than ``orphan_seconds``) whose file has no row at all — left by a crash between a commit
    and its blob deletion. A blob whose file still has a row is never touched."""
    before = clock.now() - abandon_after
    uploads = deleted = 0
    while True:
        async with store.read() as tx:
            ids = await tx.file_links.abandoned(before, SWEEP_BATCH)
        if not ids:
            break
        async with store.transaction() as tx:
            released = await tx.file_links.delete_uploads(ids, before)
        uploads += len(released)
        deleted += await delete_blobs(blobs, released)
        if len(ids) < SWEEP_BATCH:
            break
    batch: dict[str, list[str]] = {}
    async for name in blobs.listing(older_than=orphan_seconds):
        match = _BLOB_ID.match(name)
        if match is not None:
            batch.setdefault(match.group(1), []).append(name)
        if len(batch) >= SWEEP_BATCH:
            deleted += await _drop_orphans(store, blobs, batch)
            batch = {}
    deleted += await _drop_orphans(store, blobs, batch)
    return Swept(uploads, deleted)


async def _drop_orphans(store: Store, blobs: BlobStore, batch: dict[str, list[str]]) -> int:
    if not batch:
        return 0
    async with store.read() as tx:
        known = await tx.file_links.known(list(batch))
    deleted = 0
    for file_id, names in batch.items():
        if file_id not in known:
            for name in names:
                deleted += await blobs.delete(name)
    return deleted

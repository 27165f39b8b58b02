"""Filesystem blob store: atomic writes (temp file, fsync, rename), ids that cannot escape.

Blob ids are 1–128 characters of ``[a-z0-9_-]`` with no leading ``-``; they map to
``ROOT/ab/cd/<id>`` so no directory grows past a few thousand entries. Blocking
file work runs in a thread so the event loop never waits on the disk.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path

from isecom.errors import InvalidInput, NotFound, TooLarge, Unavailable

_ID_RE = re.compile(r"^[a-z0-9_][a-z0-9_-]{0,127}$")
READ_CHUNK = 1024 * 1024
IOV_MAX = 1024
# Bytes gathered before one write to the temp file (see FileBlobStore.put).
WRITE_BATCH = 1024 * 1024


def check_blob_id(blob_id: object) -> str:
    """The one id rule for every blob store (fullmatch: no trailing newline slips past ``$``)."""
    if not isinstance(blob_id, str) or not _ID_RE.fullmatch(blob_id):
        raise InvalidInput("Invalid blob id.", field="blob_id")
    return blob_id


class FileBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._tmp = root / ".tmp"
        self._tmp_ready = False

    def _path(self, blob_id: str) -> Path:
        padded = check_blob_id(blob_id).ljust(4, "_")
        return self.root / padded[:2] / padded[2:4] / blob_id

    async def put(self, blob_id: str, chunks: AsyncIterator[bytes], *, max_bytes: int) -> int:
        """Write ``chunks`` to a temp file, fsync it, rename it into place and fsync the folder.

        Pieces are gathered to WRITE_BATCH bytes and written with one ``os.writev`` in a thread
        (no join, no copy), while the event loop goes on reading and checking the next pieces: at
        most one write in flight, so memory stays about two batches whatever the blob size. The
        temp file is opened, and finally fsynced, renamed and its folder fsynced, in one thread
        hand-off each: a 4 MiB chunk costs about six hand-offs instead of twenty.
        """
        final = self._path(blob_id)
        tmp = self._tmp / f"{blob_id}.{secrets.token_hex(8)}"
        fd = await asyncio.to_thread(self._open_tmp, tmp)
        written = 0
        batch: list[bytes] = []
        batched = 0
        pending: asyncio.Future[None] | None = None
        owned = True
        try:
            async for chunk in chunks:
                written += len(chunk)
                if written > max_bytes:
                    raise TooLarge(f"The object is larger than {max_bytes} bytes.")
                batch.append(chunk)
                batched += len(chunk)
                if batched >= WRITE_BATCH:
                    if pending is not None:
                        await pending
                    pending = asyncio.ensure_future(asyncio.to_thread(_write_all, fd, batch))
                    batch, batched = [], 0
            if pending is not None:
                await pending
                pending = None
            owned = False  # from here on _finish closes the descriptor, whatever happens
            await asyncio.to_thread(self._finish, fd, batch, tmp, final)
        except BaseException:
            if pending is not None:
                # A write still running uses the descriptor: let it end before closing it.
                await asyncio.gather(pending, return_exceptions=True)
            if owned:
                os.close(fd)
            await asyncio.to_thread(_unlink, tmp)
            raise
        return written

    def _open_tmp(self, tmp: Path) -> int:
        if not self._tmp_ready:
            self._tmp.mkdir(parents=True, exist_ok=True)
            self._tmp_ready = True
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileNotFoundError:  # the folder was removed since: make it again
            self._tmp.mkdir(parents=True, exist_ok=True)
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)

    def _finish(self, fd: int, rest: list[bytes], tmp: Path, final: Path) -> None:
        """The last pieces, fsync and close ``fd`` (closed even on failure), then rename into place."""
        try:
            _write_all(fd, rest)
            os.fsync(fd)
        finally:
            os.close(fd)
        self._commit(tmp, final)

    def _commit(self, tmp: Path, final: Path) -> None:
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)
        _fsync_dir(final.parent)

    async def get(self, blob_id: str) -> AsyncIterator[bytes]:
        path = self._path(blob_id)
        try:
            handle = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError:
            raise NotFound() from None
        try:
            while chunk := await asyncio.to_thread(handle.read, READ_CHUNK):
                yield chunk
        finally:
            handle.close()

    async def size(self, blob_id: str) -> int:
        try:
            return (await asyncio.to_thread(self._path(blob_id).stat)).st_size
        except FileNotFoundError:
            raise NotFound() from None

    async def exists(self, blob_id: str) -> bool:
        return await asyncio.to_thread(self._path(blob_id).is_file)

    async def delete(self, blob_id: str) -> bool:
        return await asyncio.to_thread(_unlink, self._path(blob_id))

    async def listing(self, *, older_than: float) -> AsyncIterator[str]:
        """Ids of the blobs last written more than ``older_than`` seconds ago; temp files of writes
        that died (a crash) that old are deleted on the way."""
        cutoff = time.time() - older_than
        for path in await asyncio.to_thread(_stale_tmp, self._tmp, cutoff):
            await asyncio.to_thread(_unlink, path)
        for blob_id in await asyncio.to_thread(_stale_blobs, self.root, cutoff):
            yield blob_id

    async def ids(self) -> AsyncIterator[str]:
        """Every stored blob id (for backups and audits); temp files are not blobs."""
        paths = await asyncio.to_thread(lambda: sorted(self.root.glob("*/*/*")))
        for path in paths:
            if path.parent.parent.parent == self.root and path.is_file() and _ID_RE.fullmatch(path.name):
                yield path.name

    async def check_writable(self) -> None:
        probe = self._tmp / f"ready.{secrets.token_hex(4)}"
        try:
            await asyncio.to_thread(self._tmp.mkdir, parents=True, exist_ok=True)
            await asyncio.to_thread(probe.write_bytes, b"ok")
            await asyncio.to_thread(_unlink, probe)
        except OSError as exc:
            raise Unavailable("The blob store is not writable.", debug=exc.strerror) from exc


def _write_all(fd: int, pieces: list[bytes]) -> None:
    """Write every piece, in order (``os.writev``: one system call for the batch, no join)."""
    views = [memoryview(piece) for piece in pieces if piece]
    while views:
        done = os.writev(fd, views[:IOV_MAX])
        while views and done >= len(views[0]):
            done -= len(views[0])
            views.pop(0)
        if views and done:
            views[0] = views[0][done:]


def _unlink(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _stale_tmp(tmp: Path, cutoff: float) -> list[Path]:
    if not tmp.is_dir():
        return []
    return [p for p in tmp.iterdir() if p.is_file() and p.stat().st_mtime < cutoff and not p.name.startswith("ready.")]


def _stale_blobs(root: Path, cutoff: float) -> list[str]:
    found: list[str] = []
    if not root.is_dir():
        return found
    for first in sorted(root.iterdir()):
        if first.name == ".tmp" or not first.is_dir():
            continue
        for second in sorted(first.iterdir()):
            if not second.is_dir():
                continue
            found.extend(
                p.name for p in sorted(second.iterdir()) if _ID_RE.match(p.name) and p.stat().st_mtime < cutoff
            )
    return found

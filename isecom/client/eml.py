"""The original bytes of mail that arrived by SMTP, written to a file (``isecom client read --eml-out``)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from isecom.client.mail import Message
from isecom.errors import InvalidInput


def _write(path: Path, data: bytes) -> None:
    """A new file (never overwrites), owner-only, complete or absent: temp file, fsync, link."""
    tmp = path.with_name(f".{path.name}.part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(tmp, path)  # fails when ``path`` exists: nothing is overwritten
    finally:
        tmp.unlink(missing_ok=True)


async def save_original(message: Message, path: Path) -> int:
    """Write the message exactly as the gateway received it; the number of bytes written."""
    raw = message.raw
    if raw is None:
        raise InvalidInput("Only mail that arrived by SMTP has an original .eml; this one was sent in isecom.")
    try:
        await asyncio.to_thread(_write, path, raw)
    except FileExistsError:
        raise InvalidInput(f"{path} exists already; choose another file name.", field="eml_out") from None
    except OSError as exc:
        raise InvalidInput(f"cannot write {path}: {exc.strerror}", field="eml_out") from None
    return len(raw)

"""What a library document really is (its magic bytes, never its name) and its text.

Accepted: PDF (``%PDF-``), Word DOCX (a ZIP holding ``word/document.xml``) and UTF-8 plain text
(no NUL byte). Text comes from pypdf and python-docx, in a worker thread, bounded: at most
``MAX_PAGES`` pages, ``MAX_TEXT_CHARS`` characters, a DOCX whose parts unpack to at most
``MAX_UNPACKED`` bytes, and ``EXTRACT_SECONDS`` of waiting. A damaged, encrypted or unreadable
file is an ``InvalidInput`` with a message that says so, never a crash.
"""

from __future__ import annotations

import asyncio
import io
import re
import zipfile

import docx
import pypdf

from isecom.errors import InvalidInput

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
TEXT = "text/plain"
MEDIA_TYPES = (PDF, DOCX, TEXT)
MAX_PAGES = 2000
MAX_TEXT_CHARS = 300_000  # also keeps PostgreSQL's tsvector (1 MB at most) within bounds
MAX_UNPACKED = 200 * 1024 * 1024
MAX_ZIP_ENTRIES = 5000
EXTRACT_SECONDS = 60.0
# Control characters, and the private-use snippet marks (library_ports.MARK_START/MARK_END).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ue000\ue001]")
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def sniff(data: bytes) -> str:
    """The media type from the content; ``InvalidInput`` for anything not accepted."""
    if data[:1024].lstrip().startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, ValueError, OSError):
            raise InvalidInput("This ZIP file is damaged.", field="file") from None
        if "word/document.xml" in names and "[Content_Types].xml" in names:
            return DOCX
        raise InvalidInput("This ZIP file is not a Word (DOCX) document.", field="file")
    if b"\x00" not in data:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            return TEXT
    raise InvalidInput(
        "This file type is not accepted: send a PDF, a Word (DOCX) document or UTF-8 plain text.", field="file"
    )


async def extract(data: bytes, media_type: str) -> str:
    """The document's text, cleaned and bounded; run in a thread so the event loop never waits."""
    try:
        return await asyncio.wait_for(asyncio.to_thread(extract_sync, data, media_type), EXTRACT_SECONDS)
    except TimeoutError:
        raise InvalidInput("Reading the text of this document took too long.", field="file") from None


def extract_sync(data: bytes, media_type: str) -> str:
    if media_type == PDF:
        raw = _pdf_text(data)
    elif media_type == DOCX:
        raw = _docx_text(data)
    elif media_type == TEXT:
        raw = data.decode("utf-8").removeprefix("\ufeff")
    else:
        raise InvalidInput("This file type is not accepted.", field="file")
    return clean(raw)


def clean(raw: str, limit: int = MAX_TEXT_CHARS) -> str:
    """No control characters (nor the snippet marks), tidy spaces, at most ``limit`` characters."""
    text = _CONTROL.sub(" ", raw.replace("\r\n", "\n").replace("\r", "\n"))
    text = _BLANK_LINES.sub("\n\n", _SPACES.sub(" ", text))
    return text.strip()[:limit]


def _pdf_text(data: bytes) -> str:
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise InvalidInput("This PDF is protected by a password; upload an unprotected copy.", field="file")
        parts: list[str] = []
        size = 0
        for index, page in enumerate(reader.pages):
            if index >= MAX_PAGES or size >= MAX_TEXT_CHARS:
                break
            text = page.extract_text() or ""
            parts.append(text)
            size += len(text)
    except InvalidInput:
        raise
    except Exception as exc:  # pypdf raises many kinds of errors on damaged files
        raise InvalidInput(
            "This PDF could not be read: it may be damaged.", field="file", debug=type(exc).__name__
        ) from None
    return "\n\n".join(parts)


def _docx_text(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
        if len(entries) > MAX_ZIP_ENTRIES or sum(e.file_size for e in entries) > MAX_UNPACKED:
            raise InvalidInput("This Word document unpacks to too much data.", field="file")
        document = docx.Document(io.BytesIO(data))
        parts = [p.text for p in document.paragraphs]
        for tbl in document.tables:
            for row in tbl.rows:
                parts.append(" | ".join(cell.text for cell in row.cells))
    except InvalidInput:
        raise
    except Exception as exc:  # python-docx and lxml raise many kinds of errors on damaged files
        raise InvalidInput(
            "This Word document could not be read: it may be damaged.", field="file", debug=type(exc).__name__
        ) from None
    return "\n".join(parts)

"""Fictional demo content for the knowledge library and the notices.

Every title, name and organisation here is invented ("Example Holdings Ltd"); the documents are
made at demo time: a one-page PDF built by hand (``tiny_pdf``), a Word file made with
python-docx (``tiny_docx``) and plain text, so the demo exercises the real upload path (type
check, text extraction, blob store, search index). Safe to run again: nothing is added twice.
"""

from __future__ import annotations

import io
import textwrap
from datetime import timedelta

import docx

from isecom.errors import Conflict
from isecom.services import library, notices
from isecom.services.ports import BlobStore, Clock, Store
from isecom.types import Email, Role

ADMIN = "ada.admin@isecom.example"

_DOCUMENTS: tuple[tuple[str, str, str, str, str, tuple[str, ...], str, str], ...] = (
    # (format, title, summary, kind, region, tags, language, text)
    (
        "pdf",
        "Freezing bank accounts within 24 hours",
        "A fictional guideline on urgent provisional measures.",
        "guideline",
        "Global",
        ("freezing", "banks"),
        "en",
        "Urgent provisional measures: ask the bank to freeze the account of Example Holdings Ltd "
        "before the funds move. Check beneficial ownership registers first.",
    ),
    (
        "docx",
        "Case study: the Sample Shipping network",
        "How a fictional task force traced vessels and shell companies.",
        "case_study",
        "Africa",
        ("shell companies", "maritime"),
        "en",
        "The task force traced three vessels owned through shell companies registered by "
        "Sample Shipping Group. Non-conviction based confiscation followed.",
    ),
    (
        "txt",
        "Bonnes pratiques : recouvrement d'avoirs immobiliers",
        "Travaux fictifs d'un groupe d'experts sur les biens immobiliers.",
        "best_practice",
        "Europe",
        ("real estate",),
        "fr",
        "Consulter le registre foncier et le cadastre. Les sociétés écrans détiennent souvent "
        "des biens immobiliers de grande valeur.",
    ),
    (
        "txt",
        "Working group output: virtual asset tracing",
        "Fictional conclusions of an expert working group.",
        "working_group",
        "Asia",
        ("crypto", "tracing"),
        "en",
        "Virtual asset service providers can freeze wallets on request. Blockchain analytics "
        "link addresses to exchanges; keep the chain of custody of every extract.",
    ),
)

_NOTICES: tuple[dict[str, object], ...] = (
    {
        "reference": "CN-2026-00001",
        "type": "corruption",
        "subject": "Example Holdings Ltd",
        "subject_kind": "entity",
        "countries": "FR KE",
        "valid_from": "2026-01-15",
        "summary": "Fictional notice: bribery of public officials through consultancy contracts.",
    },
    {
        "reference": "AF-2026-00002",
        "type": "asset_freeze",
        "subject": "Sample Shipping Group SA",
        "subject_kind": "entity",
        "countries": "BR CL",
        "valid_from": "2026-03-01",
        "valid_until": "2027-03-01",
        "summary": "Fictional asset-freeze notice on vessels and bank accounts.",
    },
    {
        "reference": "AF-2025-00007",
        "type": "asset_freeze",
        "subject": "John Example",
        "subject_kind": "person",
        "countries": "SG",
        "valid_from": "2025-01-01",
        "valid_until": "2025-12-31",
        "summary": "Fictional notice, expired.",
    },
    {
        "reference": "CN-2026-00003",
        "type": "corruption",
        "subject": "Jane Placeholder",
        "subject_kind": "person",
        "countries": "JO",
        "valid_from": "2026-02-01",
        "status": "cancelled",
        "summary": "Fictional notice, cancelled.",
    },
)


def tiny_pdf(text: str) -> bytes:
    """A one-page PDF showing ``text`` (ASCII) in Helvetica: just enough for any PDF reader."""
    lines = [_pdf_string(line) for line in textwrap.wrap(text, 80)] or [b""]
    stream = b"BT /F1 11 Tf 14 TL 50 780 Td " + b" ".join(b"(" + line + b") '" for line in lines) + b" ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _pdf_string(text: str) -> bytes:
    return text.encode("ascii", "replace").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def tiny_docx(title: str, text: str) -> bytes:
    document = docx.Document()
    document.add_heading(title, level=1)
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _content(fmt: str, title: str, text: str) -> tuple[bytes, str]:
    if fmt == "pdf":
        return tiny_pdf(text), "guideline.pdf"
    if fmt == "docx":
        return tiny_docx(title, text), "case-study.docx"
    return text.encode("utf-8"), "notes.txt"


async def load(store: Store, clock: Clock, blobs: BlobStore | None) -> tuple[int, int]:
    """Add the demo documents (when a blob store is given) and notices not present yet:
    (documents added, notices added). Needs the demo administrator."""
    async with store.read() as tx:
        admin = await tx.members.by_email(Email.parse(ADMIN))
    if admin is None or Role.ADMIN not in admin.roles:
        return 0, 0
    added_docs = 0
    if blobs is not None:
        existing = await library.search(store, library.parse_query(""))
        titles = {hit.document.title for hit in existing.hits}
        for fmt, title, summary, kind, region, tags, language, text in _DOCUMENTS:
            if title in titles:
                continue
            content, filename = _content(fmt, title, text)
            meta = library.Metadata.parse(
                title=title,
                summary=summary,
                kind=kind,
                region=region,
                language=language,
                tags=list(tags),
                filename=filename,
            )
            await library.add_document(store, blobs, clock, admin, meta, content)
            added_docs += 1
    async with store.read() as tx:
        taken = await tx.notices.existing([str(n["reference"]) for n in _NOTICES])
    rows = [dict(n) for n in _NOTICES if n["reference"] not in taken]
    if not rows:
        return added_docs, 0
    try:
        imported = await notices.import_rows(store, clock, admin, rows)
    except Conflict:
        return added_docs, 0
    return added_docs, len(imported)


def demo_until(clock: Clock, days: int = 365) -> str:
    """A validity end date relative to now (for fixtures that need a notice still valid)."""
    return (clock.now() + timedelta(days=days)).date().isoformat()

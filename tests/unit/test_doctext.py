"""Library documents: the real type from the content, bounded text extraction, clear refusals;
notice fields and files parsed strictly."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, date, datetime

import pypdf
import pytest

from isecom.errors import InvalidInput
from isecom.services import doctext, library, notices
from isecom.services.demo_library import tiny_docx, tiny_pdf

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def test_the_type_comes_from_the_magic_bytes_not_the_name() -> None:
    assert doctext.sniff(tiny_pdf("x")) == doctext.PDF
    assert doctext.sniff(tiny_docx("t", "x")) == doctext.DOCX
    assert doctext.sniff("Texte accentué, العربية".encode()) == doctext.TEXT
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "not a word document")
    with pytest.raises(InvalidInput, match="not a Word"):
        doctext.sniff(out.getvalue())
    for content in (b"MZ\x90\x00", b"\x89PNG\r\n\x1a\n\x00", b"caf\xe9"):
        with pytest.raises(InvalidInput, match="not accepted"):
            doctext.sniff(content)


def test_text_is_extracted_cleaned_and_bounded() -> None:
    assert "Example Holdings Ltd" in doctext.extract_sync(tiny_pdf("Example Holdings Ltd"), doctext.PDF)
    assert doctext.extract_sync(tiny_docx("Title", "Body text"), doctext.DOCX) == "Title\nBody text"
    raw = "\ufeffa\x00b\ue000c\r\n\r\n\r\n\r\nd   e"
    assert doctext.extract_sync(raw.encode(), doctext.TEXT) == "a b c\n\nd e"
    long = ("word " * 100_000).encode()
    assert len(doctext.extract_sync(long, doctext.TEXT)) == doctext.MAX_TEXT_CHARS


def test_broken_protected_and_oversized_files_are_refused_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidInput, match="PDF could not be read"):
        doctext.extract_sync(b"%PDF-1.7\n" + bytes(100), doctext.PDF)
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.encrypt("a fictional password", algorithm="RC4-128")
    protected = io.BytesIO()
    writer.write(protected)
    with pytest.raises(InvalidInput, match="protected by a password"):
        doctext.extract_sync(protected.getvalue(), doctext.PDF)
    monkeypatch.setattr(doctext, "MAX_UNPACKED", 1000)
    with pytest.raises(InvalidInput, match="unpacks to too much"):
        doctext.extract_sync(tiny_docx("t", "x"), doctext.DOCX)


def test_library_metadata_and_queries_are_parsed_strictly() -> None:
    meta = library.Metadata.parse(
        title="  A   title ",
        summary="Short.",
        kind="case_study",
        region="Africa",
        language="FR",
        tags=" Crypto, crypto ,real  estate,",
        filename="C:\\Users\\x\\report?.pdf",
    )
    assert (meta.title, meta.language, meta.tags, meta.filename) == (
        "A title",
        "fr",
        ("crypto", "real estate"),
        "report_.pdf",
    )
    with pytest.raises(InvalidInput, match="tag"):
        library.parse_tags("<script>")
    with pytest.raises(InvalidInput):
        library.Metadata.parse(
            title="x\u0000", summary="", kind="guideline", region="", language="en", tags="", filename=""
        )
    query = library.parse_query('"laundering" OR title:* -x NEAR(a b) Blanchiment', page=3)
    assert query.terms == ("laundering", "or", "title", "x", "near", "a", "b", "blanchiment")
    assert query.offset == 2 * library.PAGE_SIZE


def test_notice_fields_and_statuses() -> None:
    raw: dict[str, object] = {
        "reference": " cn-2026-00042 ",
        "type": "corruption",
        "subject": "Example  Holdings Ltd",
        "countries": "fr; ke,FR",
        "valid_from": "2026-01-01",
        "valid_until": "2026-11-27",
    }
    notice = notices.parse_notice(raw, NOW)
    assert (notice.ref, notice.subject, notice.countries) == ("CN-2026-00042", "Example Holdings Ltd", ("FR", "KE"))
    assert notices.status(notice, date(2026, 11, 27)) == "valid"
    assert notices.status(notice, date(2026, 11, 28)) == "expired"
    assert notices.status(notice, date(2025, 12, 31)) == "upcoming"
    for change, field in (
        ({"type": "asset_freeze"}, "reference"),
        ({"reference": "CN-26-1"}, "reference"),
        ({"valid_from": "01/02/2026"}, "valid_from"),
        ({"valid_from": "2026-02-30"}, "valid_from"),
        ({"valid_until": "2025-01-01"}, "valid_until"),
        ({"countries": ""}, "countries"),
        ({"status": "expired"}, "status"),
        ({"subject_kind": "ship"}, "subject_kind"),
    ):
        with pytest.raises(InvalidInput) as caught:
            notices.parse_notice({**raw, **change}, NOW)
        assert caught.value.field == field, change
    with pytest.raises(InvalidInput, match="Unknown CSV column"):
        notices.rows_from_csv("reference,colour\nCN-2026-00001,red\n")
    with pytest.raises(InvalidInput, match="more values"):
        notices.rows_from_csv("reference,type\nCN-2026-00001,corruption,extra\n")
    assert notices.rows_from_json('{"notices": [{"reference": "x"}]}') == [{"reference": "x"}]
    with pytest.raises(InvalidInput):
        notices.rows_from_json("[1, 2]")

"""The library's full-text search and the notices, the same tests on SQLite (FTS5) and PostgreSQL."""

from __future__ import annotations

import secrets
from dataclasses import replace

import pytest

from isecom.errors import Conflict
from isecom.services import library, notices
from isecom.services.library_ports import MARK_END, MARK_START, LibraryDocument, LibraryQuery, Notice
from isecom.types import MemberId
from storage.store import SqlStore
from tests.conftest import FakeClock
from tests.contract.test_repositories import a_member


async def _uploader(store: SqlStore, clock: FakeClock) -> MemberId:
    member = a_member(clock, email=f"u{secrets.token_hex(4)}@isecom.example")
    async with store.transaction() as tx:
        await tx.members.add(member)
    return member.id


def _doc(clock: FakeClock, owner: MemberId, title: str, **changes: object) -> LibraryDocument:
    values: dict[str, object] = {
        "id": secrets.token_hex(16),
        "title": title,
        "summary": "A fictional document for the tests.",
        "kind": "guideline",
        "region": "Europe",
        "language": "en",
        "tags": ("tracing",),
        "filename": "doc.txt",
        "media_type": "text/plain",
        "size": 10,
        "sha256": "0" * 64,
        "uploaded_by": owner,
        "created_at": clock.now(),
    }
    values.update(changes)
    return LibraryDocument(**values)  # type: ignore[arg-type]


async def _add(store: SqlStore, doc: LibraryDocument, body: str) -> None:
    async with store.transaction() as tx:
        await tx.library.add(doc, body)


def _q(text: str = "", **filters: str) -> LibraryQuery:
    return library.parse_query(text, **filters)


async def _ids(store: SqlStore, query: LibraryQuery) -> list[str]:
    async with store.read() as tx:
        page = await tx.library.search(query)
    return [hit.document.id for hit in page.hits]


async def test_search_finds_words_of_the_extracted_text_with_a_highlighted_snippet(
    store: SqlStore, clock: FakeClock
) -> None:
    owner = await _uploader(store, clock)
    doc = _doc(clock, owner, "Freezing orders")
    other = _doc(clock, owner, "Mutual legal assistance")
    await _add(store, doc, "Banks must report the beneficial ownership of Example Holdings Ltd within hours.")
    await _add(store, other, "Requests travel through the central authority.")
    async with store.read() as tx:
        page = await tx.library.search(_q("beneficial ownership"))
        assert await tx.library.get(doc.id) == doc
    assert [hit.document for hit in page.hits] == [doc]
    assert page.total == 1
    snippet = page.hits[0].snippet
    assert f"{MARK_START}beneficial{MARK_END}" in snippet.lower()
    assert await _ids(store, _q("benef")) == [doc.id]  # every term is a prefix
    assert await _ids(store, _q("beneficial assistance")) == []  # every term must match
    assert await _ids(store, _q("CENTRAL")) == [other.id]  # case-insensitive


async def test_title_and_summary_are_searched_and_a_title_match_ranks_first(store: SqlStore, clock: FakeClock) -> None:
    owner = await _uploader(store, clock)
    in_body = _doc(clock, owner, "Practice notes", summary="Short.")
    clock.advance(minutes=1)
    in_title = _doc(clock, owner, "Confiscation without conviction")
    clock.advance(minutes=1)
    in_summary = _doc(clock, owner, "Annual report", summary="Covers confiscation regimes.")
    await _add(store, in_body, "A long text. " * 50 + "confiscation appears once here.")
    await _add(store, in_title, "Unrelated words only.")
    await _add(store, in_summary, "Nothing else.")
    found = await _ids(store, _q("confiscation"))
    assert set(found) == {in_body.id, in_title.id, in_summary.id}
    assert found[0] == in_title.id


async def test_filters_by_kind_tag_region_and_language(store: SqlStore, clock: FakeClock) -> None:
    owner = await _uploader(store, clock)
    a = _doc(clock, owner, "Tracing crypto assets", kind="best_practice", tags=("crypto", "tracing"), region="Africa")
    b = _doc(clock, owner, "Tracing real estate", kind="case_study", tags=("real estate",), language="fr")
    await _add(store, a, "tracing wallets")
    await _add(store, b, "tracing land registries")
    assert set(await _ids(store, _q("tracing"))) == {a.id, b.id}
    assert await _ids(store, _q("tracing", kind="case_study")) == [b.id]
    assert await _ids(store, _q("tracing", tag="crypto")) == [a.id]
    assert await _ids(store, _q("tracing", region="Africa")) == [a.id]
    assert await _ids(store, _q("tracing", language="fr")) == [b.id]
    assert await _ids(store, _q("", tag="real estate")) == [b.id]  # no terms: filters only, newest first
    assert await _ids(store, _q("tracing", kind="guideline")) == []
    async with store.read() as tx:
        facets = await tx.library.facets()
    assert facets.tags == ("crypto", "real estate", "tracing")
    assert facets.regions == ("Africa", "Europe")
    assert facets.languages == ("en", "fr")


async def test_query_syntax_is_never_passed_through(store: SqlStore, clock: FakeClock) -> None:
    owner = await _uploader(store, clock)
    doc = _doc(clock, owner, "Wire transfers")
    await _add(store, doc, "SWIFT messages and wire transfers (MT103).")
    for hostile in ['"wire', "wire OR x", "wire* -transfers", "NEAR(wire)", "wire & | ! :* '", "title:wire"]:
        async with store.read() as tx:
            page = await tx.library.search(_q(hostile))  # no syntax error on either backend
        assert page.total in (0, 1)
    assert await _ids(store, _q("mt103")) == [doc.id]
    assert await _ids(store, _q("!!!")) == [doc.id]  # no words: everything, newest first


async def test_paging_and_delete_remove_from_the_index(store: SqlStore, clock: FakeClock) -> None:
    owner = await _uploader(store, clock)
    docs = []
    for i in range(3):
        clock.advance(minutes=1)
        docs.append(_doc(clock, owner, f"Sanctions note {i}"))
        await _add(store, docs[-1], "sanctions screening")
    query = replace(_q("sanctions"), limit=2)
    async with store.read() as tx:
        first = await tx.library.search(query)
        second = await tx.library.search(replace(query, offset=2))
    assert first.total == 3 and len(first.hits) == 2 and len(second.hits) == 1
    assert {h.document.id for h in first.hits + second.hits} == {d.id for d in docs}
    async with store.transaction() as tx:
        assert await tx.library.delete(docs[0].id)
        assert not await tx.library.delete(docs[0].id)
    assert set(await _ids(store, _q("sanctions"))) == {docs[1].id, docs[2].id}
    with pytest.raises(Conflict):
        await _add(store, docs[1], "again")


async def test_editors_are_granted_and_removed(store: SqlStore, clock: FakeClock) -> None:
    admin, editor = await _uploader(store, clock), await _uploader(store, clock)
    async with store.transaction() as tx:
        assert not await tx.library.is_editor(editor)
        assert await tx.library.add_editor(editor, admin, clock.now())
        assert not await tx.library.add_editor(editor, admin, clock.now())
    async with store.read() as tx:
        assert await tx.library.is_editor(editor)
        assert await tx.library.editors() == [(editor, clock.now())]
    async with store.transaction() as tx:
        assert await tx.library.remove_editor(editor)
        assert not await tx.library.is_editor(editor)


def _notice(ref: str, clock: FakeClock, **changes: object) -> Notice:
    raw: dict[str, object] = {
        "reference": ref,
        "type": "corruption" if ref.startswith("CN") else "asset_freeze",
        "subject": "Example Holdings Ltd",
        "subject_kind": "entity",
        "countries": "FR KE",
        "valid_from": "2026-01-01",
        "valid_until": "2026-12-31",
    }
    raw.update(changes)
    return notices.parse_notice(raw, clock.now())


async def test_notices_search_by_text_country_type_and_computed_status(store: SqlStore, clock: FakeClock) -> None:
    admin = await _uploader(store, clock)
    rows = [
        _notice("CN-2026-00001", clock),
        _notice("AF-2026-00002", clock, subject="Fictional Trading SA", countries="BR"),
        _notice("CN-2025-00003", clock, valid_from="2025-01-01", valid_until="2025-06-30"),
        _notice("AF-2026-00004", clock, status="cancelled"),
        _notice("CN-2026-00005", clock, valid_from="2027-01-01", valid_until=""),
    ]
    async with store.transaction() as tx:
        await tx.notices.add_many(rows, admin)
    day = clock.now().date()

    async def refs(**kw: str) -> list[str]:
        async with store.read() as tx:
            found, _ = await tx.notices.search(notices.parse_query(day=day, **kw))
        return sorted(n.ref for n in found)

    assert await refs(state="valid") == ["AF-2026-00002", "CN-2026-00001"]
    assert await refs(state="expired") == ["CN-2025-00003"]
    assert await refs(state="cancelled") == ["AF-2026-00004"]
    assert await refs(state="upcoming") == ["CN-2026-00005"]
    assert await refs(text="trading") == ["AF-2026-00002"]
    assert await refs(text="cn-2025") == ["CN-2025-00003"]
    assert await refs(country="br") == ["AF-2026-00002"]
    assert await refs(type="asset_freeze") == ["AF-2026-00002", "AF-2026-00004"]
    assert {notices.status(n, day) for n in rows} == {"valid", "expired", "cancelled", "upcoming"}
    async with store.transaction() as tx:
        assert await tx.notices.set_cancelled("CN-2026-00001", True, clock.now())
        assert await tx.notices.existing(["CN-2026-00001", "CN-2026-09999"]) == {"CN-2026-00001"}
    assert await refs(state="cancelled") == ["AF-2026-00004", "CN-2026-00001"]
    with pytest.raises(Conflict):
        async with store.transaction() as tx:
            await tx.notices.add_many([rows[0]], admin)

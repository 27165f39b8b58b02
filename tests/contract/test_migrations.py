"""Migrations run on every backend, and upgrade data written by older versions."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from isecom.services import audit
from storage import migrate
from storage.db import make_engine
from storage.store import SqlStore
from tests.conftest import pg_schema, postgres_url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def empty_url(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
        return
    base = postgres_url()
    if not base:
        pytest.skip("PostgreSQL tests need ISECOM_TEST_DATABASE_URL (CI sets it; see README)")
    async with pg_schema(base) as url:
        yield url


async def test_audit_entries_from_before_the_chain_are_chained_by_the_upgrade(empty_url: str) -> None:
    engine = make_engine(empty_url)
    await migrate.upgrade(engine, "0001")
    async with engine.begin() as conn:
        for i in range(3):
            await conn.execute(
                text("INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (:at, NULL, :a, NULL, :d)"),
                {
                    "at": datetime(2026, 11, 1, 9, i, tzinfo=UTC).replace(tzinfo=None),
                    "a": f"old.{i}",
                    "d": json.dumps({"n": str(i)}),
                },
            )
    await migrate.upgrade(engine)
    assert await migrate.current_revision(engine) == migrate.head_revision()
    store = SqlStore(engine)
    verdict = await audit.verify(store)
    assert verdict.intact and verdict.entries == 3
    await migrate.upgrade(engine)  # idempotent
    await store.close()


async def test_files_of_messages_stored_before_links_existed_stay_referenced(empty_url: str) -> None:
    """0013 links every earlier committed file to every message its owner or grantees sent."""
    engine = make_engine(empty_url)
    await migrate.upgrade(engine, "0012")
    at = datetime(2026, 11, 1, 9, 0, tzinfo=UTC).replace(tzinfo=None)
    async with engine.begin() as conn:
        for member in ("a" * 32, "b" * 32, "c" * 32):
            await conn.execute(
                text(
                    "INSERT INTO members (id, email, name, country, agency, status, language, created_at)"
                    " VALUES (:id, :email, 'Demo Person', 'FR', 'Demo Agency', 'active', 'en', :at)"
                ),
                {"id": member, "email": f"{member[0]}@isecom.example", "at": at},
            )
        await conn.execute(
            text(
                "INSERT INTO files (id, owner_id, n_chunks, chunk_size, plain_size, manifest, status, created_at)"
                " VALUES (:id, :owner, 1, 65536, 10, :manifest, 'committed', :at)"
            ),
            {"id": "f" * 32, "owner": "a" * 32, "manifest": bytes(32), "at": at},
        )
        await conn.execute(
            text("INSERT INTO file_access (file_id, member_id) VALUES (:f, :m)"), {"f": "f" * 32, "m": "b" * 32}
        )
        for msg, sender in (("1" * 32, "a" * 32), ("2" * 32, "b" * 32), ("3" * 32, "c" * 32)):
            await conn.execute(
                text(
                    "INSERT INTO messages (id, sender_id, origin, size, envelope, created_at)"
                    " VALUES (:id, :sender, 'web', 4, :env, :at)"
                ),
                {"id": msg, "sender": sender, "env": b"ciph", "at": at},
            )
    await migrate.upgrade(engine)
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT msg_id, file_id FROM message_files ORDER BY msg_id"))
        links = [tuple(row) for row in rows]
    await engine.dispose()
    assert links == [("1" * 32, "f" * 32), ("2" * 32, "f" * 32)]  # the owner's and the grantee's, not c's

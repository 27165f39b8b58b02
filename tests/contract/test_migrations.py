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

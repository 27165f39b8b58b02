"""The very first audit entries, written concurrently, still form one chain (no seq clash)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from isecom.services import audit
from isecom.services.ports import AuditEntry
from storage import migrate
from storage.db import make_engine
from storage.store import SqlStore
from tests.conftest import pg_schema, postgres_url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}"
        engine = make_engine(url)
        await migrate.upgrade(engine)
        s = SqlStore(engine)
        yield s
        await s.close()
        return
    base = postgres_url()
    if not base:
        pytest.skip("PostgreSQL tests need ISECOM_TEST_DATABASE_URL (CI sets it; see README)")
    async with pg_schema(base) as url:
        engine = make_engine(url)
        await migrate.upgrade(engine)
        s = SqlStore(engine)
        yield s
        await s.close()


async def test_concurrent_first_entries_chain_without_a_clash(store: SqlStore) -> None:
    gate = asyncio.Event()

    async def write(i: int) -> None:
        await gate.wait()
        async with store.transaction() as tx:
            entry = AuditEntry(
                at=datetime(2026, 11, 28, 9, 0, i, tzinfo=UTC), actor=None, action=f"test.{i}", subject=None, detail={}
            )
            await tx.audit.record(entry)

    tasks = [asyncio.create_task(write(i)) for i in range(8)]
    gate.set()
    await asyncio.gather(*tasks)
    verdict = await audit.verify(store)
    assert verdict.intact and verdict.entries == 8

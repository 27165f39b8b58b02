"""The store every contract test runs against: a fresh ``SqlStore`` on each backend (``database_url``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from storage.db import make_engine
from storage.store import SqlStore


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlStore]:
    store = SqlStore(make_engine(database_url))
    yield store
    await store.close()

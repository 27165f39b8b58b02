"""Shared fixtures: fresh instances on SQLite (and PostgreSQL when configured), live servers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from isecom import config, instance
from isecom.config import Config

REPO = Path(__file__).resolve().parent.parent
ISECOM = [sys.executable, "-m", "isecom"]


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 28, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    instance.create(path)
    return path


@pytest.fixture
def cfg(data_dir: Path) -> Config:
    return config.load(data_dir, env={})


# --- PostgreSQL: one fresh schema per test -------------------------------------------------------


def postgres_url() -> str | None:
    url = os.environ.get("ISECOM_TEST_DATABASE_URL")
    if not url and os.environ.get("ISECOM_REQUIRE_POSTGRES"):
        pytest.fail("ISECOM_REQUIRE_POSTGRES is set but ISECOM_TEST_DATABASE_URL is not")
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A migrated, empty database on each backend (PostgreSQL: a schema of its own)."""
    from storage.db import make_engine
    from storage.migrate import upgrade

    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        engine = make_engine(url)
        await upgrade(engine)
        await engine.dispose()
        yield url
        return
    base = postgres_url()
    if not base:
        pytest.skip("PostgreSQL tests need ISECOM_TEST_DATABASE_URL (CI sets it; see README)")
    async with pg_schema(base) as url:
        engine = make_engine(url)
        await upgrade(engine)
        await engine.dispose()
        yield url


class pg_schema:  # noqa: N801 - used as a context manager, reads like a function
    """Create a uniquely named schema and a URL whose connections use it; drop it afterwards."""

    def __init__(self, base: str) -> None:
        import secrets

        self.base = base.replace("postgresql://", "postgresql+asyncpg://", 1)
        self.schema = f"t_{secrets.token_hex(6)}"

    async def __aenter__(self) -> str:
        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import create_async_engine

        admin = create_async_engine(self.base)
        async with admin.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{self.schema}"'))
        await admin.dispose()
        sep = "&" if "?" in self.base else "?"
        return f"{self.base}{sep}schema={self.schema}"

    async def __aexit__(self, *exc: object) -> None:
        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import create_async_engine

        admin = create_async_engine(self.base)
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{self.schema}" CASCADE'))
        await admin.dispose()


# --- A live `isecom serve` process ---------------------------------------------------------------


@dataclass
class LiveServer:
    data: Path
    http_port: int
    smtp_port: int
    process: subprocess.Popen[bytes]
    log: Path
    demo_output: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def run_cli(
    *args: str, data: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    argv = [*ISECOM, *args]
    if data is not None:
        argv += ["--data", str(data)]
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})}, cwd=REPO
    )


def start_server(data: Path, *, env: dict[str, str] | None = None, ports: tuple[int, int] | None = None) -> LiveServer:
    """``ports``: (HTTP, SMTP) to listen on, e.g. those of a server stopped to restart it."""
    http_port, smtp_port = ports or (free_port(), free_port())
    log = data.parent / f"serve-{http_port}.log"
    full_env = {
        **os.environ,
        "ISECOM_SERVER_PUBLIC_URL": f"http://127.0.0.1:{http_port}",
        **(env or {}),
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                *ISECOM,
                "serve",
                "--data",
                str(data),
                "--http",
                f"127.0.0.1:{http_port}",
                "--smtp",
                f"127.0.0.1:{smtp_port}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=full_env,
            cwd=REPO,
        )
    server = LiveServer(data, http_port, smtp_port, process, log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"isecom serve exited with {process.returncode}:\n{server.output()}")
        try:
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=1) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"isecom serve did not become healthy:\n{server.output()}")


def stop_server(server: LiveServer) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One live instance with the demo data, shared by the read-only tests of a session."""
    data = tmp_path_factory.mktemp("demo") / "data"
    assert run_cli("init", data=data).returncode == 0
    demo = run_cli("demo", data=data)
    assert demo.returncode == 0, demo.stderr
    server = start_server(data)
    server.demo_output = demo.stdout
    yield server
    stop_server(server)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Everything under tests/browser is a browser test (run in its own process, see Makefile)."""
    for item in items:
        if "browser" in item.path.parts[-3:-1]:
            item.add_marker(pytest.mark.browser)

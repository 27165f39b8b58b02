"""Behind nginx, the sign-in throttle counts the client's address, not the proxy's.

``server.trusted_proxies`` names the proxies whose ``X-Real-IP`` header is believed
(webmail/proxy.py); from any other peer the header changes nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from ipaddress import ip_network

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from isecom import app as composition
from isecom.config import Config
from isecom.context import Context
from storage.blobs import FileBlobStore
from storage.db import make_engine
from storage.store import SqlStore
from tests.conftest import FakeClock, free_port


async def _failed_login(url: str, real_ip: str) -> int:
    body = {"username": "nobody@isecom.example", "challenge_id": "AAAA", "totp_code": "000000", "proof": "AAAA"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{url}/api/v1/auth/login", json=body, headers={"Origin": url, "X-Real-IP": real_ip}) as answer,
    ):
        return answer.status


@pytest.fixture(params=[True, False], ids=["behind-trusted-proxy", "direct"])
async def served(request: pytest.FixtureRequest, cfg: Config, clock: FakeClock) -> AsyncIterator[tuple[str, Context]]:
    port = free_port()
    trusted = (ip_network("127.0.0.1/32"),) if request.param else ()
    cfg = replace(cfg, public_url=f"http://127.0.0.1:{port}", trusted_proxies=trusted)
    await composition.check_database(cfg, upgrade=True)
    store = SqlStore(make_engine(cfg.database_url))
    context = Context(config=cfg, store=store, blobs=FileBlobStore(cfg.blob_dir), clock=clock)
    server = TestServer(composition.build_web_app(context), host="127.0.0.1", port=port)
    await server.start_server()
    try:
        yield f"http://127.0.0.1:{port}", context
    finally:
        await server.close()
        await store.close()


async def test_the_throttle_counts_the_address_the_proxy_names(served: tuple[str, Context]) -> None:
    url, context = served
    assert await _failed_login(url, "198.51.100.7") == 401
    async with context.store.transaction() as tx:
        named = await tx.throttle.get("address:198.51.100.7")
        proxy = await tx.throttle.get("address:127.0.0.1")
    if context.config.trusted_proxies:
        assert named is not None and named.failures == 1 and proxy is None
    else:  # nobody trusted: the header is the client's own claim and changes nothing
        assert named is None and proxy is not None and proxy.failures == 1

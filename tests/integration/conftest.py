"""Fixtures for the integration tests: an in-process instance on a controlled clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import pytest
from aiohttp.test_utils import TestServer

from isecom import app as composition
from isecom.auth import two_factor
from isecom.client import Client
from isecom.config import Config
from isecom.context import Context
from isecom.services import members
from storage.blobs import FileBlobStore
from storage.db import make_engine
from storage.store import SqlStore
from tests.conftest import FakeClock, free_port

PASSWORD = "a long and fictional passphrase"


@dataclass
class Instance:
    url: str
    cfg: Config
    context: Context
    clock: FakeClock

    async def invite(self, email: str = "mei.tan@isecom.example") -> str:
        new = members.NewMember.parse(email=email, name="Mei Tan", country="SG", agency="Demo FIB", roles=[])
        invitation = await members.create_member(self.context.store, self.clock, self.cfg.server_key, new, actor=None)
        return invitation.activation_token

    def client(self) -> Client:
        return Client(self.url)

    def code(self, secret: str) -> str:
        return two_factor.code_at(secret, self.clock.now())


@pytest.fixture
async def instance(cfg: Config, clock: FakeClock) -> AsyncIterator[Instance]:
    port = free_port()
    cfg = replace(cfg, public_url=f"http://127.0.0.1:{port}")
    await composition.check_database(cfg, upgrade=True)
    store = SqlStore(make_engine(cfg.database_url))
    context = Context(config=cfg, store=store, blobs=FileBlobStore(cfg.blob_dir), clock=clock)
    server = TestServer(composition.build_web_app(context), host="127.0.0.1", port=port)
    await server.start_server()
    try:
        yield Instance(f"http://127.0.0.1:{port}", cfg, context, clock)
    finally:
        await server.close()
        await store.close()


async def activated(instance: Instance) -> str:
    token = await instance.invite()
    async with instance.client() as client:
        done = await client.activate(token, PASSWORD, now=instance.clock.now())
    instance.clock.advance(seconds=30)  # the activation's code is spent; the next step is fresh
    return done.totp_secret


async def signed_in_member(
    instance: Instance, email: str, *, name: str, country: str, agency: str, roles: list[str]
) -> Client:
    """A member created, activated and signed in through the API; the caller closes the client."""
    new = members.NewMember.parse(email=email, name=name, country=country, agency=agency, roles=roles)
    invitation = await members.create_member(
        instance.context.store, instance.clock, instance.cfg.server_key, new, actor=None
    )
    client = instance.client()
    done = await client.activate(invitation.activation_token, PASSWORD, now=instance.clock.now())
    instance.clock.advance(seconds=30)
    await client.sign_in(email, PASSWORD, instance.code(done.totp_secret))
    return client

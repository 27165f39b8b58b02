"""The membership pages as the server renders them: /apply, /apply/confirm, /review, /admin, /home links.

What the pages do in a browser is in tests/browser/test_membership_flow.py; here, what each
member is shown before any script runs.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from isecom import app as composition
from isecom.config import Config
from isecom.countries import COUNTRIES
from isecom.services import sessions
from isecom.services.members import NewMember, create_member
from isecom.types import MemberStatus
from tests.conftest import FakeClock
from webmail.keys import ASSETS
from webmail.middleware import SESSION_COOKIE


@pytest.fixture
async def client(cfg: Config) -> AsyncIterator[TestClient[object, object]]:
    await composition.check_database(cfg, upgrade=True)
    async with composition.open_context(cfg) as context:
        server = TestServer(composition.build_web_app(context), host="127.0.0.1")
        async with TestClient(server) as test_client:
            test_client.context = context  # type: ignore[attr-defined]
            yield test_client


async def signed_in(client: TestClient[object, object], clock: FakeClock, local: str, roles: list[str]) -> str:
    """The session cookie of a new, active member of the French demo agency with ``roles``."""
    context = client.context  # type: ignore[attr-defined]
    new = NewMember.parse(
        email=f"{local}@isecom.example", name=local.title(), country="FR", agency="Demo ARO", roles=roles
    )
    invitation = await create_member(context.store, clock, context.config.server_key, new, actor=None)
    async with context.store.transaction() as tx:
        await tx.members.set_status(invitation.member.id, MemberStatus.ACTIVE)
    cookie, _ = await sessions.open_session(
        context.store, context.clock, context.config.server_key, invitation.member.id
    )
    return cookie


def module_of(client: TestClient[object, object], page: str, script: str) -> bool:
    assets = client.server.app[ASSETS]
    return f'src="{assets.url(script)}" integrity="{assets.integrity(script)}"' in page


async def test_the_application_form_lists_every_country_in_the_readers_language(
    client: TestClient[object, object],
) -> None:
    response = await client.get("/apply", headers={"Accept-Language": "fr"})
    assert response.status == 200
    page = await response.text()
    options = re.findall(r'<option value="([A-Z]{2})">([^<]+)</option>', page)
    assert {code for code, _ in options} == COUNTRIES and len(options) == len(COUNTRIES)
    names = [name for _, name in options]
    assert names.index("Afrique du Sud") < names.index("Albanie")  # by name, not by code
    assert names.index("Égypte") < names.index("Espagne")  # accents aside
    assert dict(options)["FR"] == "France" and dict(options)["DE"] == "Allemagne"
    boxes = re.findall(r'<input type="checkbox" value="([a-z]{2})"> ([^<]+)</label>', page)
    assert ("en", "Anglais") in boxes and ("ar", "Arabe") in boxes and len(boxes) == 9
    assert ' name="' not in page.split('id="apply-form"')[1], "with JavaScript off the form must send nothing"
    assert module_of(client, page, "js/apply.js")
    assert 'href="/apply"' in await (await client.get("/")).text()


async def test_the_confirmation_page_is_public_and_has_its_script(client: TestClient[object, object]) -> None:
    response = await client.get("/apply/confirm", headers={"Accept-Language": "ar"})
    assert response.status == 200
    page = await response.text()
    assert '<html lang="ar" dir="rtl">' in page and module_of(client, page, "js/apply-confirm.js")


@pytest.mark.parametrize("path", ["/review", "/admin"])
async def test_reviewing_and_administration_need_a_session(client: TestClient[object, object], path: str) -> None:
    response = await client.get(path, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/signin"


async def test_each_member_sees_the_decisions_of_their_roles(
    client: TestClient[object, object], clock: FakeClock
) -> None:
    plain = await signed_in(client, clock, "camille", [])
    page = await (await client.get("/review", cookies={SESSION_COOKIE: plain})).text()
    assert "Nothing is waiting for you here" in page and not module_of(client, page, "js/review.js")
    home = await (await client.get("/home", cookies={SESSION_COOKIE: plain})).text()
    assert 'href="/review"' not in home and 'href="/admin"' not in home

    head = await signed_in(client, clock, "paul", ["agency_head"])
    page = await (await client.get("/review", cookies={SESSION_COOKIE: head})).text()
    assert module_of(client, page, "js/review.js")
    assert 'id="nomination-list"' in page and 'id="authorization-list"' not in page
    home = await (await client.get("/home", cookies={SESSION_COOKIE: head})).text()
    assert 'href="/review"' in home and 'href="/admin"' not in home

    ncb = await signed_in(client, clock, "lina", ["ncb_head"])
    page = await (await client.get("/review", cookies={SESSION_COOKIE: ncb})).text()
    assert 'id="nomination-list"' not in page and 'id="authorization-list"' in page

    admin = await signed_in(client, clock, "ada", ["admin"])
    page = await (await client.get("/review", cookies={SESSION_COOKIE: admin})).text()
    assert 'id="nomination-list"' in page and 'id="authorization-list"' in page
    home = await (await client.get("/home", cookies={SESSION_COOKIE: admin})).text()
    assert 'href="/review"' in home and 'href="/admin"' in home


async def test_the_administration_page_leaves_the_refusal_to_the_api(
    client: TestClient[object, object], clock: FakeClock
) -> None:
    """Any member may load /admin; its data comes from the admin API, which answers 403."""
    cookie = await signed_in(client, clock, "camille", [])
    page = await client.get("/admin", cookies={SESSION_COOKIE: cookie})
    assert page.status == 200 and module_of(client, await page.text(), "js/admin.js")
    audit = await client.get("/api/v1/admin/audit", cookies={SESSION_COOKIE: cookie})
    assert audit.status == 403 and (await audit.json())["error"]["code"] == "auth.forbidden"

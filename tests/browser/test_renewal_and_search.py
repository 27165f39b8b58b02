"""Renewals on /review and the member search on /admin, in a real browser.

The members are made here with ``isecom admin create-member`` (no demo member is used), in
Uruguay (UY): valentina.silva (NCB head) renews; martin.acosta has a membership that ends in
20 days; bruno.pereyra (administrator) searches and suspends. The term of martin.acosta is
written straight into the demo server's database, as an authorization would have.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import BrowserContext, Page

from isecom.services.ports import Application
from isecom.types import Email, MemberId, MemberStatus
from storage.db import make_engine
from storage.store import SqlStore
from tests.browser.conftest import Watcher, watch
from tests.browser.test_account_recovery import activate_with_client, create_member, in_thread
from tests.browser.test_membership_flow import shows
from tests.browser.test_signin_flow import PASSWORD, next_code, sign_in, signed_in
from tests.conftest import LiveServer, run_cli

pytestmark = pytest.mark.browser


def member_id(server: LiveServer, email: str) -> str:
    async def find() -> str:
        store = SqlStore(make_engine(f"sqlite+aiosqlite:///{server.data / 'isecom.db'}"))
        try:
            async with store.transaction() as tx:
                member = await tx.members.by_email(Email.parse(email))
        finally:
            await store.close()
        assert member is not None
        return member.id.value

    return in_thread(find)


def give_term(server: LiveServer, email: str, days: int) -> str:
    """Make the member active with a membership that ends in ``days`` days; returns the id."""
    found = member_id(server, email)

    async def write() -> None:
        store = SqlStore(make_engine(f"sqlite+aiosqlite:///{server.data / 'isecom.db'}"))
        now = datetime.now(UTC)
        try:
            async with store.transaction() as tx:
                await tx.members.set_status(MemberId(found), MemberStatus.ACTIVE)
                await tx.applications.add(
                    Application(
                        member_id=MemberId(found),
                        phone="+598 2 123 4567",
                        position="Prosecutor",
                        languages=("es",),
                        nominator_email=Email.parse("head@isecom.example"),
                        submitted_at=now,
                        membership_expires_at=now + timedelta(days=days),
                    )
                )
        finally:
            await store.close()

    in_thread(write)
    return found


def signed_in_as(
    new_context: Callable[..., BrowserContext], server: LiveServer, email: str, name: str, role: str, **options: object
) -> tuple[Page, Watcher]:
    token = run_role_member(server, email, name, role)
    activated, step = activate_with_client(server, token)
    page, watcher = watch(new_context(**options))
    code, _ = next_code(activated.totp_secret, step)
    sign_in(page, email, PASSWORD, code)
    signed_in(page, name)
    return page, watcher


def run_role_member(server: LiveServer, email: str, name: str, role: str) -> str:
    made = run_cli(
        "admin", "create-member", "--email", email, "--name", name, "--country", "UY",
        "--agency", "Demo Fiscalía UY", "--role", role, data=server.data,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    return made.stdout.strip().rsplit("#", 1)[1]


def test_an_ncb_head_sees_memberships_ending_soon_and_renews_one(
    new_context: Callable[..., BrowserContext], demo_server: LiveServer
) -> None:
    create_member(demo_server, "martin.acosta@isecom.example", "Martín Acosta", "UY", "Demo Fiscalía UY")
    ends = datetime.now(UTC) + timedelta(days=20)
    give_term(demo_server, "martin.acosta@isecom.example", 20)
    page, watcher = signed_in_as(
        new_context, demo_server, "valentina.silva@isecom.example", "Valentina Silva", "ncb_head"
    )
    page.click("a[href='/review']")
    page.wait_for_url("**/review")
    card = page.locator("#renewal-list li", has=page.locator("h3", has_text="Martín Acosta"))
    card.wait_for()
    long_date = f"{ends:%B} {ends.day}, {ends.year}"  # Intl "long" in en-US
    assert long_date in (card.text_content() or "")

    # A window that does not reach the end date shows nothing.
    page.fill("#renewal-days", "10")
    page.click("#renewal-window button[type=submit]")
    page.locator("#renewal-empty").wait_for()
    page.fill("#renewal-days", "60")
    page.click("#renewal-window button[type=submit]")
    card.wait_for()

    card.locator("input[type=number]").fill("365")
    with page.expect_response("**/renewal") as renewed:
        card.locator("button").click()
    assert renewed.value.status == 200
    new_end = datetime.fromisoformat(renewed.value.json()["membership_expires_at"])
    assert timedelta(days=384) < new_end - datetime.now(UTC) < timedelta(days=386)
    shows(page.locator("#review-status"), "You renewed the membership of Martín Acosta until")
    page.locator("#renewal-empty").wait_for()
    watcher.assert_clean(page)


def test_an_administrator_finds_members_and_acts_on_the_result(
    new_context: Callable[..., BrowserContext], demo_server: LiveServer
) -> None:
    create_member(demo_server, "julieta.rios@isecom.example", "Julieta Ríos", "UY", "Demo Fiscalía UY")
    julieta = give_term(demo_server, "julieta.rios@isecom.example", 300)
    page, watcher = signed_in_as(new_context, demo_server, "bruno.pereyra@isecom.example", "Bruno Pereyra", "admin")
    page.click("a[href='/admin']")
    page.wait_for_url("**/admin")
    page.locator("#admin-tools").wait_for()

    page.fill("#search-text", "RÍOS")  # case does not matter
    page.click("#member-search button[type=submit]")
    row = page.locator("#search-rows tr", has_text="julieta.rios@isecom.example")
    row.wait_for()
    assert page.locator("#search-rows tr").count() == 1
    assert "Uruguay" in (row.text_content() or "") and "active" in (row.text_content() or "")

    page.fill("#search-text", "")
    page.select_option("#search-country", "UY")
    page.click("#member-search button[type=submit]")
    page.locator("#search-rows tr", has_text="bruno.pereyra@isecom.example").wait_for()
    shows(page.locator("#search-count"), "Members 1–")
    names = page.locator("#search-rows tr bdi").all_text_contents()
    assert "Julieta Ríos" in names and "Bruno Pereyra" in names

    row.locator("button").click()  # "Use": the id goes into the forms
    assert page.input_value("#membership-id") == julieta
    assert page.input_value("#keys-id") == julieta
    page.select_option("#membership-action", "suspend")
    page.fill("#membership-reason", "On leave (fictional).")
    page.click("#membership-form button[type=submit]")
    shows(page.locator("#membership-status"), "Julieta Ríos (julieta.rios@isecom.example) is now suspended.")
    page.locator("#search-rows tr", has_text="suspended").wait_for()
    time.sleep(0.2)
    watcher.assert_clean(page)

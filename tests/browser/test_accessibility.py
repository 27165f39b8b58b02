"""Accessibility: axe-core (node_modules/axe-core, pinned in package.json) runs in every page.

Public pages, a signed-in member's pages and the administrators' pages are each opened in
English and in Arabic (right to left); the test fails on any violation of impact "serious" or
"critical" and prints them all, page by page. The pages are listed once, in ``PAGES``; a
route with ``{member}``, ``{case}``, ``{country}`` or ``{document}`` gets the signed-in member's
id, a case copy of theirs, a country or a library document of the demo data, and ``#state``
names a state the page is brought to before the check (``STATES``: unlocked, composing).
axe is injected with ``page.evaluate`` (DevTools), so the pages keep their strict CSP.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page

from tests.browser.conftest import watch
from tests.browser.test_revocation import activated, browser_of
from tests.browser.test_signin_flow import KEYS_TIMEOUT_MS, PASSWORD
from tests.conftest import REPO, LiveServer

pytestmark = pytest.mark.browser
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
FAIL_ON = ("serious", "critical")
DEMO_COUNTRY = "FR"  # a country whose profile the demo data fills in
LANGUAGES = ("en", "ar")

# Every page the check opens: path -> who opens it ("public", "member" or "admin").
PAGES: dict[str, str] = {
    "/": "public",
    "/signin": "public",
    "/recover": "public",
    "/activate": "public",
    "/apply": "public",
    "/apply/confirm": "public",
    "/api/docs": "public",
    "/this-page-does-not-exist": "public",  # the error page (404)
    "/home": "member",
    "/mail": "member",
    "/mail#unlocked": "member",
    "/mail#compose": "member",
    "/directory": "member",
    "/contacts/{member}": "member",
    "/account/password": "member",
    "/account/keys": "member",
    "/review": "member",
    "/checklists": "member",
    "/checklists#unlocked": "member",
    "/checklists/{case}": "member",
    "/checklists/{case}#unlocked": "member",
    "/admin": "admin",
    "/admin/checklist": "admin",
    # The directory profiles, country pages, events, library, notices and notifications.
    "/account/profile": "member",
    "/account/notifications": "member",
    "/countries": "member",
    "/countries/{country}": "member",
    "/countries/{country}/history": "member",
    "/countries/{country}/history/1": "member",
    "/events": "member",
    "/library": "member",
    "/library/{document}": "member",
    "/notices": "member",
    "/countries/{country}/edit": "admin",
    "/profiles/{member}/edit": "admin",
    "/library/upload": "admin",
    "/library/editors": "admin",
    "/notices/manage": "admin",
}


def unlock(page: Page, root: str) -> None:
    """Open the member's keys with the password on a page that asks for it (mail, checklists)."""
    page.locator(f"#{root}[data-ready]").wait_for()
    page.fill("#unlock-password", PASSWORD)
    page.press("#unlock-password", "Enter")
    page.locator(f"#{root}[data-state=unlocked]").wait_for(timeout=KEYS_TIMEOUT_MS)


def compose(page: Page) -> None:
    unlock(page, "mail")
    page.click("#compose-button")
    page.locator("#compose-view").wait_for()


# What an unlocked page shows once its script has drawn it, by the id of the page's root element.
DRAWN = {
    "mail": "#list-title:not(:empty)",
    "checklists": "#case-list li, #cases-status:not(:empty)",
    "checklist": "#notes li",
}


def unlocked(page: Page) -> None:
    root = page.evaluate("document.querySelector('[data-ready]').id")
    unlock(page, root)
    page.locator(DRAWN[root]).first.wait_for()


# What brings a page to a "#state" of PAGES, once it is loaded.
STATES: dict[str, Callable[[Page], None]] = {"unlocked": unlocked, "compose": compose}


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """The serious and critical violations axe finds in the page as it is now."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    found: list[dict[str, Any]] = page.evaluate(
        """async () => {
          const result = await window.axe.run(document, { resultTypes: ["violations"] });
          return result.violations.map((v) => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map((n) => ({ target: n.target.join(" "), summary: n.failureSummary })),
          }));
        }"""
    )
    return [v for v in found if v["impact"] in FAIL_ON]


def report(found: dict[str, list[dict[str, Any]]]) -> str:
    lines = []
    for where, violations in found.items():
        for v in violations:
            lines.append(f"{where}: {v['id']} ({v['impact']}) {v['help']}")
            for node in v["nodes"][:5]:
                summary = " ".join(str(node["summary"]).split())
                lines.append(f"    {node['target']}: {summary[:300]}")
    return "\n".join(lines)


def wait_ready(page: Page) -> None:
    """Let the page's script finish its first requests and draw."""
    page.wait_for_load_state("networkidle")


def check(page: Page, path: str, lang: str, found: dict[str, list[dict[str, Any]]]) -> None:
    """Open ``path`` (``#state``: then bring the page to that state) and record its violations."""
    url, _, state = path.partition("#")
    response = page.goto(url)
    assert response is not None and response.status == (404 if "does-not-exist" in url else 200), path
    page.locator("main").wait_for()
    wait_ready(page)
    if state:
        STATES[state](page)
    assert page.get_attribute("html", "lang") == lang, path
    violations = axe_violations(page)
    if violations:
        found[f"{path} [{lang}]"] = violations


def first_document(page: Page) -> str:
    """The id of a document of the demo library."""
    results = page.request.get("/api/v1/library").json()["results"]
    assert results, "the demo data has library documents"
    return str(results[0]["document"]["id"])


def start_case(page: Page) -> str:
    """A case copy of the signed-in member, started in the page; its id."""
    page.goto("/checklists")
    unlock(page, "checklists")
    page.fill("#case-label", f"Accessibility case {secrets.token_hex(3)}")
    page.click("#start-form button[type=submit]")
    page.wait_for_url("**/checklists/*")
    return page.url.rsplit("/", 1)[1]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_serious_accessibility_violations_on_any_page(
    lang: str, new_context: Callable[..., BrowserContext], demo_server: LiveServer
) -> None:
    found: dict[str, list[dict[str, Any]]] = {}
    tag = secrets.token_hex(3)

    page, _ = watch(new_context())
    page.goto(f"/lang/{lang}?next=/")
    for path, who in PAGES.items():
        if who == "public":
            check(page, path, lang, found)

    member, m_step = activated(demo_server, f"axe.member.{tag}@isecom.example", "Alex Member", "PT", "Demo ARO")
    admin, a_step = activated(
        demo_server, f"axe.admin.{tag}@isecom.example", "Sam Admin", "PT", "Demo Ops", role="admin"
    )
    for who, (person, step) in {"member": (member, m_step), "admin": (admin, a_step)}.items():
        page, _ = browser_of(new_context, person, step)
        page.goto(f"/lang/{lang}?next=/home")
        values = {"member": person.member["id"], "country": DEMO_COUNTRY, "document": first_document(page)}
        if who == "member":
            values["case"] = start_case(page)
        for path, audience in PAGES.items():
            if audience == who:
                check(page, path.format(**values), lang, found)

    assert not found, (
        f"axe-core found serious or critical violations on {len(found)} pages:\n{report(found)}\n"
        + json.dumps(sorted(found), ensure_ascii=False)
    )

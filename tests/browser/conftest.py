"""Browser fixtures: Debian's chromium driven by Playwright's sync API.

One headless browser serves all the browser tests; every test gets a fresh
context (its own cookies, storage and init scripts). The browser is
package-scoped, not session-scoped, on purpose: while the sync API is running,
its event loop counts as the running loop of the main thread, and every
pytest-asyncio test that came after it would fail with "Cannot run the event
loop while another loop is running". Package scope stops it as soon as the
tests in this directory are done. ``watch(page)`` records
everything that should never happen on our pages: console errors and
warnings, uncaught exceptions, failed requests and Content-Security-Policy
violations (both the DOM ``securitypolicyviolation`` events and the console
reports chromium writes for them).

The tests stay plain functions: pytest-asyncio runs in auto mode, and the
sync API refuses to start inside a running event loop.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright, Request, sync_playwright

from tests.conftest import LiveServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000
CSP_BINDING = "__isecomReportCspViolation"
CSP_LISTENER = f"""
(() => {{
  window.__cspViolations = [];
  document.addEventListener("securitypolicyviolation", (event) => {{
    const report = {{
      page: document.location.href,
      directive: event.effectiveDirective || event.violatedDirective,
      blocked: event.blockedURI,
      source: event.sourceFile,
      line: event.lineNumber,
      sample: event.sample,
    }};
    window.__cspViolations.push(report);
    if (typeof window.{CSP_BINDING} === "function") {{
      window.{CSP_BINDING}(report);
    }}
  }}, true);
}})();
"""


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"the browser tests need Debian's chromium at {CHROMIUM}: run `make browser-deps` "
            "(make test does it) or `sudo apt-get install chromium`; no test downloads a browser",
            pytrace=False,
        )
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@dataclass
class Watcher:
    """Everything a page (and the pages it navigates to) reported that it should not have."""

    console: list[ConsoleMessage] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    csp_events: list[dict[str, Any]] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning") or "Content Security Policy" in message.text:
            self.console.append(message)

    def on_page_error(self, error: Exception) -> None:
        self.page_errors.append(str(error))

    def on_request_failed(self, request: Request) -> None:
        # A read still in flight when the test navigates away is cancelled by the browser
        # (net::ERR_ABORTED); that is the navigation, not a failure of the page.
        if request.method == "GET" and request.failure == "net::ERR_ABORTED":
            return
        self.failed_requests.append(f"{request.method} {request.url}: {request.failure}")

    def problems(
        self, page: Page, allow_console: Callable[[ConsoleMessage], bool] = lambda message: False
    ) -> dict[str, list[Any]]:
        """What went wrong so far; ``page`` is asked for the violations of the document it shows now."""
        in_page = page.evaluate("() => window.__cspViolations || []")
        csp = [message.text for message in self.console if "Content Security Policy" in message.text]
        console = [
            f"{message.type}: {message.text} ({message.location.get('url')}:{message.location.get('lineNumber')})"
            for message in self.console
            if "Content Security Policy" not in message.text and not allow_console(message)
        ]
        found = {
            "console errors and warnings": console,
            "page errors": self.page_errors,
            "failed requests": self.failed_requests,
            "CSP violation events": _dedupe([*self.csp_events, *in_page]),
            "CSP console reports": csp,
        }
        return {kind: items for kind, items in found.items() if items}

    def assert_clean(self, page: Page, allow_console: Callable[[ConsoleMessage], bool] = lambda message: False) -> None:
        problems = self.problems(page, allow_console)
        assert not problems, f"{page.url} reported problems: {problems}"


def expected_refusals(server_url: str, refusals: dict[str, int]) -> Callable[[ConsoleMessage], bool]:
    """``allow_console`` for the answers a page expects: chromium logs every 4xx response as a
    console error, so each ``{api path: status}`` listed here is allowed, nothing else."""

    def allowed(message: ConsoleMessage) -> bool:
        url = message.location.get("url", "")
        path = url.removeprefix(server_url) if url.startswith(server_url + "/") else None
        status = refusals.get(path or "")
        return (
            message.type == "error"
            and status is not None
            and message.text.startswith(f"Failed to load resource: the server responded with a status of {status}")
        )

    return allowed


def _dedupe(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    unique: list[dict[str, Any]] = []
    for report in reports:
        if report not in unique:
            unique.append(report)
    return unique


@pytest.fixture
def new_context(browser: Browser, demo_server: LiveServer) -> Iterator[Callable[..., BrowserContext]]:
    """Make browser contexts aimed at the demo server (closed after the test); English unless told."""
    made: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        # Chromium sends the locale as Accept-Language and it wins over extra_http_headers.
        if "accept-language" not in {name.lower() for name in options.get("extra_http_headers", {})}:
            options.setdefault("locale", "en-US")
        context = browser.new_context(base_url=demo_server.url, **options)
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        context.add_init_script(CSP_LISTENER)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


@pytest.fixture
def context(new_context: Callable[..., BrowserContext]) -> BrowserContext:
    return new_context()


def watch(context: BrowserContext) -> tuple[Page, Watcher]:
    """A new page in ``context`` whose problems are recorded from its very first request."""
    watcher = Watcher()
    context.expose_binding(CSP_BINDING, lambda source, report: watcher.csp_events.append(report))
    page = context.new_page()
    page.on("console", watcher.on_console)
    page.on("pageerror", watcher.on_page_error)
    page.on("requestfailed", watcher.on_request_failed)
    return page, watcher


@pytest.fixture
def watched(context: BrowserContext) -> tuple[Page, Watcher]:
    return watch(context)

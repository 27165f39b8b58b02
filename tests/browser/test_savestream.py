"""savestream.js in Chromium: a download streamed to disk through the service worker.

For browsers without a save picker (Firefox, Safari) a large attachment goes to the downloads
folder through download-sw.js instead of being held as a Blob. Chromium has the picker, so the
page here deletes ``showSaveFilePicker`` first, as such a browser would lack it. The page is the
demo server's sign-in page (its CSP, so the worker's registration and the hidden frame must pass
it); savestream.js is imported from its content-hashed URL and given chunks of bytes made here.
Closed: the browser saves exactly those bytes under the given name. Aborted (a failed check):
the browser reports the download failed and never completes it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page

from tests.browser.conftest import Watcher, watch
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser
WAIT_MS = 60_000
NO_PICKER = "delete window.showSaveFilePicker;"

# Runs in the page: a streamed download fed with `parts` (lists of byte values), closed or aborted.
FEED = """
async ([url, name, parts, finish]) => {
  const m = await import(url);
  if (!m.canStream()) return { ok: false, why: "cannot stream" };
  const size = parts.reduce((n, p) => n + p.length, 0);
  const target = await m.streamTarget({ name, size });
  if (target === null) return { ok: false, why: "no target" };
  for (const part of parts) {
    await target.write(part.blob ? new Blob([new Uint8Array(part.bytes)]) : new Uint8Array(part.bytes));
  }
  await (finish === "close" ? target.close() : target.abort());
  const registrations = await navigator.serviceWorker.getRegistrations();
  return { ok: true, scopes: registrations.map((r) => new URL(r.scope).pathname) };
}
"""


@pytest.fixture
def page_and_url(new_context: Callable[..., BrowserContext], demo_server: LiveServer) -> tuple[Page, Watcher, str]:
    context = new_context(accept_downloads=True)
    context.add_init_script(NO_PICKER)
    page, watcher = watch(context)
    response = page.goto("/signin")
    assert response is not None and response.status == 200
    src = page.get_attribute('script[src*="/js/signin.js"]', "src")
    assert src and src.endswith("/js/signin.js"), src
    url = page.evaluate("(src) => new URL(src, document.baseURI).href", src).removesuffix("signin.js") + "savestream.js"
    return page, watcher, url


def test_a_closed_stream_is_saved_and_an_aborted_one_fails(
    page_and_url: tuple[Page, Watcher, str], tmp_path: Path
) -> None:
    page, watcher, url = page_and_url
    parts = [secrets.token_bytes(n) for n in (300_000, 1, 65_536, 123_457)]
    fed = [{"bytes": list(p), "blob": i % 2 == 1} for i, p in enumerate(parts)]  # Blobs and arrays
    name = "relevé de compte 2026.bin"  # spaces and a non-ASCII letter in the file name

    with page.expect_download(timeout=WAIT_MS) as info:
        outcome = page.evaluate(FEED, [url, name, fed, "close"])
    assert outcome["ok"], outcome
    assert any(scope.endswith("/js/dl/") for scope in outcome["scopes"]), outcome
    download = info.value
    assert "/js/dl/" in download.url
    assert download.suggested_filename == name
    assert download.failure() is None
    saved = tmp_path / "saved.bin"
    download.save_as(saved)
    assert saved.read_bytes() == b"".join(parts)

    with page.expect_download(timeout=WAIT_MS) as info:
        outcome = page.evaluate(FEED, [url, "refused.bin", fed[:2], "abort"])
    assert outcome["ok"], outcome
    assert info.value.failure() is not None  # the browser never completes it
    watcher.assert_clean(page, lambda message: False)


def test_a_download_the_worker_never_sees_falls_back(page_and_url: tuple[Page, Watcher, str]) -> None:
    """If the browser does not hand the frame's request to the worker (privacy settings, developer
    tools bypassing service workers), streamTarget gives up after its wait and returns null, so
    the caller keeps the file as a Blob instead of waiting for a reader that never comes."""
    page, watcher, url = page_and_url
    outcome = page.evaluate(
        """async (url) => {
          const m = await import(url);
          // The hidden frame never navigates: as if its request bypassed the service worker.
          Object.defineProperty(HTMLIFrameElement.prototype, "src", { set() {}, configurable: true });
          const started = performance.now();
          const target = await m.streamTarget({ name: "never.bin", size: 10 });
          return { target: target === null ? null : "a target", waited: performance.now() - started,
                   frames: document.querySelectorAll("iframe").length };
        }""",
        url,
    )
    assert outcome["target"] is None, outcome
    assert outcome["waited"] >= 9_000 and outcome["frames"] == 0, outcome
    watcher.assert_clean(page, lambda message: False)

"""download.js on its own in chromium: every check of §8.4, and nothing unverified left behind.

The page is the demo server's sign-in page (its CSP, libsodium ready); download.js is imported from
its content-hashed URL and given descriptors of files made here (isecom.crypto.attachments, three
chunks of 64 KiB, the last one short). The chunk requests, which the download workers make, are
answered by the test (Playwright routes): the right blobs, or a tampered, truncated or missing one.
The target is a stand-in for the save picker's writable stream that records what was done to it:
the file must be closed only when every check passed, and aborted on any failure — a failed check
in a worker, a wrong manifest_root or SHA-256 found at the end (the SHA-256 runs in the workers, its
state handed from one to the next), a refused request, a network that keeps failing, a cancel.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Any

import pytest
from playwright.sync_api import Page, Route

from isecom.crypto.attachments import encrypt_file
from isecom.crypto.encoding import b64e
from tests.browser.conftest import Watcher, expected_refusals
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser
CHUNK = 64 * 1024
SIZE = 2 * CHUNK + 5_000
CHUNK_URL = re.compile(r"/api/v1/files/([0-9a-f]{32})/chunks/(\d+)$")

# Runs in the page: download() into a recording target (or into a Blob), the outcome as JSON.
RUN = """
async ([url, descriptor, mode, cancelAfter]) => {
  const m = await import(url);
  const calls = [];
  let written = 0;
  const target = mode === "target" ? {
    write: async (data) => { calls.push("write"); written += data.size ?? data.byteLength; },
    close: async () => { calls.push("close"); },
    abort: async () => { calls.push("abort"); },
  } : null;
  const control = new AbortController();
  let chunks = 0;
  let fraction = 0;
  const progress = (meter) => {
    chunks += 1;
    fraction = meter.fraction;
    if (chunks === cancelAfter) control.abort();
  };
  try {
    const { blob, sha256 } = await m.download(descriptor, { target, progress, signal: control.signal });
    const bytes = blob ? Array.from(new Uint8Array(await blob.arrayBuffer())) : null;
    return { ok: true, sha256, bytes, type: blob?.type ?? null, calls, written, chunks, fraction };
  } catch (error) {
    return { ok: false, check: error.check ?? null, status: error.status ?? null,
             key: m.failureKey(error), calls, chunks };
  }
}
"""


class Chunks:
    """The blobs the route answers with, per file id; a test changes them to lie."""

    def __init__(self) -> None:
        self.files: dict[str, list[bytes | None]] = {}
        self.requests: list[tuple[str, int]] = []
        self.cut: tuple[str, int] | None = None  # this chunk's requests fail as the network would

    def answer(self, route: Route) -> None:
        found = CHUNK_URL.search(route.request.url)
        assert found is not None, route.request.url
        file_id, index = found.group(1), int(found.group(2))
        self.requests.append((file_id, index))
        if self.cut == (file_id, index):
            route.abort("aborted")
            return
        blobs = self.files.get(file_id, [])
        blob = blobs[index] if index < len(blobs) else None
        if blob is None:
            route.fulfill(status=404, json={"error": {"code": "not_found", "message": "no such chunk"}})
        else:
            route.fulfill(status=200, body=blob, headers={"Content-Type": "application/octet-stream"})


@pytest.fixture
def setup(watched: tuple[Page, Watcher], demo_server: LiveServer) -> tuple[Page, Watcher, Chunks, str]:
    page, watcher = watched
    chunks = Chunks()
    page.context.route(CHUNK_URL, chunks.answer)
    response = page.goto("/signin")
    assert response is not None and response.status == 200
    page.wait_for_selector("html[data-sodium=ready]", state="attached")
    src = page.get_attribute('script[src*="/js/signin.js"]', "src")
    assert src and src.endswith("/js/signin.js"), src
    url = page.evaluate("(src) => new URL(src, document.baseURI).href", src).removesuffix("signin.js") + "download.js"
    return page, watcher, chunks, url


def make_file(chunks: Chunks, tag: str) -> tuple[bytes, dict[str, Any], list[bytes], str]:
    data = tag.encode() * 16 + secrets.token_bytes(SIZE - 16 * len(tag))
    made = encrypt_file(data, name=f"{tag}.bin", mime="image/png", chunk_size=CHUNK)
    descriptor = made.descriptor.to_json()
    blobs = list(made.blobs)
    assert len(blobs) == 3
    fid = made.descriptor.file_id.hex()
    chunks.files[fid] = list(blobs)
    return data, descriptor, blobs, fid


def run(page: Page, url: str, descriptor: dict[str, Any], mode: str = "target", cancel_after: int = 0) -> Any:
    return page.evaluate(RUN, [url, descriptor, mode, cancel_after])


def test_a_file_comes_down_verified_into_a_blob_or_the_target(setup: tuple[Page, Watcher, Chunks, str]) -> None:
    page, watcher, chunks, url = setup
    data, descriptor, _, _ = make_file(chunks, "whole")
    as_blob = run(page, url, descriptor, mode="blob")
    assert as_blob["ok"], as_blob
    assert bytes(as_blob["bytes"]) == data
    assert as_blob["sha256"] == hashlib.sha256(data).hexdigest()
    assert as_blob["type"] == "image/png"
    assert 2 <= as_blob["chunks"] <= 3 and as_blob["fraction"] == 1  # the first and last chunks at least
    to_disk = run(page, url, descriptor, mode="target")
    assert to_disk["ok"], to_disk
    assert to_disk["calls"] == ["write", "write", "write", "close"]
    assert to_disk["written"] == SIZE
    # An empty file is one empty chunk.
    empty = encrypt_file(b"", name="empty.bin", mime="text/plain", chunk_size=CHUNK)
    chunks.files[empty.descriptor.file_id.hex()] = list(empty.blobs)
    nothing = run(page, url, empty.descriptor.to_json(), mode="blob")
    assert nothing["ok"] and nothing["bytes"] == [], nothing
    assert nothing["sha256"] == hashlib.sha256(b"").hexdigest()
    watcher.assert_clean(page)


def test_every_failed_check_aborts_the_target(setup: tuple[Page, Watcher, Chunks, str]) -> None:
    page, watcher, chunks, url = setup

    def refused(descriptor: dict[str, Any], check: str, key: str) -> None:
        outcome = run(page, url, descriptor)
        assert not outcome["ok"], outcome
        assert (outcome["check"], outcome["key"]) == (check, key), outcome
        assert "close" not in outcome["calls"] and outcome["calls"][-1] == "abort", outcome

    # A flipped bit in the middle chunk's ciphertext: its AEAD tag fails in the worker.
    _, descriptor, blobs, fid = make_file(chunks, "flipped")
    chunks.files[fid][1] = blobs[1][:100] + bytes([blobs[1][100] ^ 1]) + blobs[1][101:]
    refused(descriptor, "decrypt", "msgCheckDecrypt")

    # A chunk one byte short, then one byte too long: the length check, before any crypto.
    chunks.files[fid][1] = blobs[1][:-1]
    refused(descriptor, "format", "msgCheckFormat")
    chunks.files[fid][1] = blobs[1] + b"\0"
    refused(descriptor, "format", "msgCheckFormat")

    # The last chunk swapped with the first: its length does not fit either.
    chunks.files[fid] = [blobs[2], blobs[1], blobs[0]]
    refused(descriptor, "format", "msgCheckFormat")
    chunks.files[fid] = list(blobs)

    # Every chunk decrypts, but the signed manifest_root or SHA-256 is not theirs: found at the end.
    other = b64e(hashlib.sha256(b"another file").digest())
    refused({**descriptor, "manifest_root": other}, "manifest", "msgCheckManifest")
    refused({**descriptor, "sha256": other}, "sha256", "msgCheckSha256")

    # The server no longer has the last chunk.
    chunks.files[fid][2] = None
    outcome = run(page, url, descriptor)
    assert not outcome["ok"] and outcome["status"] == 404 and outcome["key"] == "msgCheckMissing", outcome
    assert outcome["calls"][-1] == "abort" and "close" not in outcome["calls"], outcome
    chunks.files[fid] = list(blobs)

    # The network fails for the middle chunk, every time it is tried: the worker gives up.
    chunks.cut = (fid, 1)
    outcome = run(page, url, descriptor)
    assert not outcome["ok"] and outcome["status"] == 0 and outcome["key"] == "msgNetwork", outcome
    assert outcome["calls"][-1] == "abort" and "close" not in outcome["calls"], outcome
    assert chunks.requests.count((fid, 1)) >= 2  # retried
    chunks.cut = None

    # Cancelled by the member after the first chunk was written.
    outcome = run(page, url, descriptor, cancel_after=1)
    assert not outcome["ok"] and outcome["key"] == "msgDownloadCancelled", outcome
    assert outcome["calls"][-1] == "abort" and "close" not in outcome["calls"], outcome

    # And the same file, told the truth again, still comes down.
    assert run(page, url, descriptor)["ok"]
    server = page.url.split("/signin")[0]
    watcher.assert_clean(page, expected_refusals(server, {f"/api/v1/files/{fid}/chunks/2": 404}))

"""The browser protocol code (webmail/static/js/crypto) against the shared vectors, in chromium.

Each test opens the sign-in page of the demo server, imports the crypto modules from their
content-hashed static URLs (same origin, under the page's strict CSP) and runs them there:

1. the committed vectors of both producers open in the browser as they declare;
2. a document the browser generates passes the browser's own check;
3. the same document passes ``isecom.crypto.vectors.check`` (and a fresh Python document
   passes the browser's);
4. the workers: Argon2id in argon2.worker.js equals the main thread, and a pool of chunk
   workers encrypts the eight chunks of a 4 MiB file in parallel (two requests sent to each
   worker at once, answered in order).

``ISECOM_WRITE_BROWSER_VECTORS=1 pytest tests/browser/test_crypto_vectors.py -k generated``
writes the generated document to tests/vectors/browser-v1.json.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import Watcher

pytestmark = pytest.mark.browser

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
BROWSER_V1 = VECTORS / "browser-v1.json"
SEED = hashlib.sha256(b"isecom browser vectors v1").digest()
WRITE_ENV = "ISECOM_WRITE_BROWSER_VECTORS"

# Runs in the page: import a crypto module by URL, call one export, return its JSON text.
CALL = """
async ([url, name, argsJson]) => {
  const module = await import(url);
  const result = await module[name](...JSON.parse(argsJson));
  return JSON.stringify(result);
}
"""


@dataclass
class CryptoPage:
    page: Page
    watcher: Watcher
    base: str  # ".../static/<build>/js/crypto/"

    def url(self, module: str) -> str:
        return self.base + module

    def check(self, doc: dict[str, Any]) -> list[str]:
        """checkVectors(doc) in the page; the document travels as JSON text, numbers intact."""
        failures: list[str] = json.loads(self.call("vectors.js", "checkVectors", doc))
        return failures

    def generate(self, seed: bytes) -> dict[str, Any]:
        text = self.page.evaluate(
            """async ([url, seed]) => {
              const { generateVectors } = await import(url);
              return JSON.stringify(await generateVectors(new Uint8Array(seed)));
            }""",
            [self.url("vectors.js"), list(seed)],
        )
        doc: dict[str, Any] = json.loads(text)
        return doc

    def call(self, module: str, name: str, *args: Any) -> Any:
        return self.page.evaluate(CALL, [self.url(module), name, json.dumps(list(args))])


@pytest.fixture
def crypto(watched: tuple[Page, Watcher]) -> CryptoPage:
    page, watcher = watched
    response = page.goto("/signin")
    assert response is not None and response.status == 200
    page.wait_for_selector("html[data-sodium=ready]", state="attached")
    src = page.get_attribute('script[src*="/js/signin.js"]', "src")
    assert src and src.endswith("/js/signin.js"), src
    base = page.evaluate("(src) => new URL(src, document.baseURI).href", src).removesuffix("signin.js") + "crypto/"
    return CryptoPage(page, watcher, base)


def committed(prefix: str) -> list[Path]:
    return sorted(VECTORS.glob(f"{prefix}-*.json"))


def load(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


def python_check() -> Any:
    try:
        from isecom.crypto.vectors import check
    except ImportError as error:  # the Python side is written in parallel
        pytest.fail(f"isecom.crypto.vectors.check is not importable yet: {error}", pytrace=False)
    return check


# --- 1. committed vectors ----------------------------------------------------------------------


def test_committed_python_vectors_open_in_the_browser(crypto: CryptoPage) -> None:
    files = committed("python")
    assert files, f"no python-*.json vector documents in {VECTORS}: run `python -m isecom.crypto.vectors`"
    for path in files:
        doc = load(path)
        assert doc["producer"] == "python", path
        failures = crypto.check(doc)
        assert not failures, f"{path.name}: {len(failures)} failures in the browser:\n" + "\n".join(failures)
    crypto.watcher.assert_clean(crypto.page)


def test_committed_browser_vectors_still_open_in_the_browser(crypto: CryptoPage) -> None:
    files = committed("browser")
    assert files, f"no browser-*.json vector documents in {VECTORS}: see this module's docstring"
    for path in files:
        failures = crypto.check(load(path))
        assert not failures, f"{path.name}: {len(failures)} failures in the browser:\n" + "\n".join(failures)
    crypto.watcher.assert_clean(crypto.page)


# --- 2. and 3. a browser-generated document ---------------------------------------------------


@pytest.fixture
def generated(crypto: CryptoPage) -> dict[str, Any]:
    doc = crypto.generate(SEED)
    if os.environ.get(WRITE_ENV) == "1":
        BROWSER_V1.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return doc


def test_generated_document_has_every_kind_and_the_negative_cases(generated: dict[str, Any]) -> None:
    assert generated["protocol"] == 1 and generated["producer"] == "browser"
    assert {"alice", "bob", "carol", "mallory"} <= set(generated["members"])
    kinds = {case["kind"] for case in generated["cases"]}
    assert kinds == {
        "padme", "password", "login", "recovery_code", "bundle", "message", "draft", "chunk", "file",
        "key_statement", "safety_number",
    }  # fmt: skip
    for kind in kinds:
        outcomes = ["error" in case["expect"] for case in generated["cases"] if case["kind"] == kind]
        assert False in outcomes, f"no positive {kind} case"
    errors = {case["expect"]["error"] for case in generated["cases"] if "error" in case["expect"]}
    checks = {"version", "format", "params", "recipient", "unwrap", "commitment", "decrypt", "padding"}
    checks |= {"sender_key", "signature", "payload", "manifest", "truncated", "sha256"}
    assert errors == checks, f"checks without a negative case: {checks - errors}"
    names = " | ".join(case["name"] for case in generated["cases"])
    for needle in (
        "wrong password",
        "wrong recovery code",
        "recipient list swapped",
        "re-addressed by a recipient",
        "another content key",
        "final chunk missing",
        "chunks reordered",
        "duplicated",
        "mallory is not a recipient",
    ):
        assert needle in names, needle


def test_generated_document_passes_the_browser_check(crypto: CryptoPage, generated: dict[str, Any]) -> None:
    failures = crypto.check(generated)
    assert not failures, "\n".join(failures)
    # Same seed, same document, except the sealed-box wraps libsodium draws itself.
    again = crypto.generate(SEED)
    assert [case["name"] for case in again["cases"]] == [case["name"] for case in generated["cases"]]
    assert again["members"] == generated["members"]
    for first, second in zip(generated["cases"], again["cases"], strict=True):
        if first["kind"] not in ("message", "draft"):
            assert first == second, first["name"]
    crypto.watcher.assert_clean(crypto.page)


def test_generated_document_passes_the_python_check(generated: dict[str, Any]) -> None:
    failures = python_check()(generated)
    assert not failures, f"{len(failures)} failures in Python:\n" + "\n".join(failures)


def test_fresh_python_document_passes_the_browser_check(crypto: CryptoPage) -> None:
    try:
        from isecom.crypto.vectors import generate
    except ImportError as error:
        pytest.fail(f"isecom.crypto.vectors.generate is not importable yet: {error}", pytrace=False)
    failures = crypto.check(generate(b"browser-test fresh"))
    assert not failures, "\n".join(failures)
    crypto.watcher.assert_clean(crypto.page)


# --- 4. workers -----------------------------------------------------------------------------------

WORKERS = """
async (base) => {
  const { ready } = await import(base + "sodium.js");
  const keys = await import(base + "keys.js");
  const pool = await import(base + "pool.js");
  const files = await import(base + "attachments.js");
  const { b64encode } = await import(base + "encoding.js");
  const sodium = await ready();
  const out = {};

  const salt = Uint8Array.from({ length: 16 }, (_, i) => i);
  const main = keys.derivePasswordKeys("Pässwörd ﬁle", salt, keys.DEFAULT_PARAMS);
  const worker = await pool.derivePasswordKeysInWorker("Pässwörd ﬁle", salt, keys.DEFAULT_PARAMS);
  out.argon2 = Object.fromEntries(
    ["authSeed", "authPk", "authSk", "kek"].map((k) => [k, [b64encode(main[k]), b64encode(worker[k])]]),
  );
  try {
    await pool.derivePasswordKeysInWorker("x", salt, { alg: "argon2id13", ops: 2, mem: 64 << 20 });
    out.weakParams = "accepted";
  } catch (error) {
    out.weakParams = `${error.name}:${error.check}`;
  }

  const chunks = pool.chunkPool();
  out.poolSize = chunks.size;
  // (crypto.getRandomValues: libsodium.js's randombytes_buf takes seconds for megabytes.)
  const data = new Uint8Array(4 << 20);
  for (let i = 0; i < data.length; i += 65536) {
    crypto.getRandomValues(data.subarray(i, i + 65536));
  }
  const started = performance.now();
  const enc = await pool.encryptFileInPool(chunks, data, { name: "evidence.bin", chunkSize: 512 << 10 });
  out.encryptMs = performance.now() - started;
  out.workers = chunks.slots.length;
  out.nChunks = enc.descriptor.nChunks;
  out.blobLengths = enc.blobs.map((b) => b.length);
  out.sha256 = b64encode(enc.descriptor.sha256) === b64encode(sodium.crypto_hash_sha256(data));
  const openedMain = files.openFile(enc.descriptor, enc.hashes, enc.blobs);
  const openedPool = await pool.openFileInPool(chunks, enc.descriptor, enc.hashes, enc.blobs);
  out.roundTrip = sodium.memcmp(openedMain, data) && sodium.memcmp(openedPool, data);
  const fromBlob = await pool.encryptFileInPool(chunks, new Blob([data]), { chunkSize: 512 << 10 });
  out.fromBlob = sodium.memcmp(files.openFile(fromBlob.descriptor, fromBlob.hashes, fromBlob.blobs), data);
  const failure = async (blobs) => {
    try {
      await pool.openFileInPool(chunks, enc.descriptor, enc.hashes, blobs);
      return "opened";
    } catch (error) {
      return error.check ?? String(error);
    }
  };
  const b = enc.blobs;
  out.reordered = await failure([b[1], b[0], ...b.slice(2)]);
  out.missingFinal = await failure(b.slice(0, 7));
  out.extra = await failure([...b, b[7]]);
  const tampered = b[3].slice();
  tampered[50] ^= 1;
  out.tampered = await failure([...b.slice(0, 3), tampered, ...b.slice(4)]);
  out.depth = chunks.depth;
  chunks.close();

  // One worker sent two requests at once: answered in order, a failing one does not stop the next.
  const single = pool.chunkPool({ size: 1 });
  const small = files.newFile(3 * 65536, 65536);
  const settled = await Promise.allSettled(
    [0, 1, 2].map((index) => {
      const plain = index === 1 ? new Uint8Array(5) : data.slice(index * 65536, (index + 1) * 65536);
      return single.run("encrypt", { ...small, index, plain }, [plain.buffer]);
    }),
  );
  out.single = { workers: single.slots.length, outcomes: settled.map((r) => r.status) };
  single.close();
  return out;
}
"""


def test_workers_match_the_main_thread_and_encrypt_chunks_in_parallel(crypto: CryptoPage) -> None:
    out = crypto.page.evaluate(WORKERS, crypto.base)
    for name, (main, worker) in out["argon2"].items():
        assert main == worker, name
    assert out["weakParams"] == "CryptoError:params"
    assert out["poolSize"] >= 2
    assert out["nChunks"] == 8 and out["blobLengths"] == [512 * 1024 + 40] * 8
    assert out["workers"] >= 2, "the chunks did not run on more than one worker"
    assert out["sha256"] and out["roundTrip"] and out["fromBlob"]
    assert out["reordered"] == "manifest"
    assert out["missingFinal"] == "truncated"
    assert out["extra"] == "truncated"
    assert out["tampered"] == "manifest"
    assert out["depth"] == 2
    assert out["single"] == {"workers": 1, "outcomes": ["fulfilled", "rejected", "fulfilled"]}
    crypto.watcher.assert_clean(crypto.page)

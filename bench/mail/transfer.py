"""One large evidence file through /mail in Chromium: MB/s up and down, server memory, plain baseline.

    .venv/bin/python bench/mail/transfer.py [--size-mib 1024]

A fresh instance (``isecom init`` + ``isecom demo`` in a temporary folder, ``isecom serve`` on
127.0.0.1) and headless Debian Chromium driven by Playwright. A file of random bytes is written to
disk once. Then, each timed from the click to the end:

  * encrypted upload: the composer's file picker (the declaration, then encryption in workers with
    each chunk PUT as soon as it is ready, the commit), until the row says committed;
  * encrypted download: the recipient's download button, until the SHA-256 is verified and the
    browser has the file (the save-file dialog is switched off for the bench, so, as in a browser
    without one, a file over 64 MiB streams to the downloads folder through the service worker); the file
    the browser saved is then compared with the original (size and SHA-256, not timed);
  * plain upload, the baseline: the same file sent by the same page to the same server with no
    crypto in the browser — 4 MiB + 40-byte slices of the plaintext PUT as the chunks of a file
    declared with their hashes (computed here in Python, not timed), so the server does the same
    work (hash check, fsync, rename) for the same number of bytes.

The server's resident memory (VmRSS from /proc) is sampled every 100 ms; the peak growth over the
idle server is reported for each phase. So is where the CPU went: the CPU time (user + system, from
/proc/PID/stat) of the server process and of this run's Chromium processes (every descendant of
this process whose command is Chromium) during each phase, per MB moved, next to the load average.
Every wait is bounded.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import secrets
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from playwright.sync_api import Page, sync_playwright

from isecom.crypto.encoding import b64e
from isecom.crypto.hashing import h256
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, CSP_LISTENER
from tests.browser.test_mail import compose, open_mailbox
from tests.browser.test_revocation import activated
from tests.browser.test_signin_flow import PASSWORD, next_code, sign_in, signed_in
from tests.conftest import LiveServer, run_cli, start_server, stop_server

MIB = 1024 * 1024
CHUNK = 4 * MIB
PHASE_MS = 900_000  # 15 minutes at most per phase
NO_PICKER = "delete window.showSaveFilePicker;"  # no dialog: the service worker's stream (or Blobs)
# Counts the chunks the page sends to its workers to be encrypted (once each in a one-pass upload).
COUNT_ENCRYPTS = """
  window.__encrypts = 0;
  const post = Worker.prototype.postMessage;
  Worker.prototype.postMessage = function (message, transfer) {
    if (message && message.op === "encrypt") window.__encrypts += 1;
    return post.call(this, message, transfer);
  };
"""


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def process_kind(pid: int) -> str:
    """Chromium's name for a process: renderer, utility (the network service), gpu-process, zygote or
    browser. (Chromium rewrites its children's command lines as one space-separated string.)"""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return "gone"
    found = re.search(r"--type=(\S+)", command)
    return found.group(1) if found else "browser"


def browser_pids() -> list[int]:
    """This run's Chromium processes: descendants of this process running Chromium."""
    parents: dict[int, int] = {}
    commands: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            commands[int(entry.name)] = (entry / "cmdline").read_bytes().split(b"\0", 1)[0].decode(errors="replace")
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
    me, found = os.getpid(), []
    for pid in parents:
        up, steps = pid, 0
        while up in parents and up != me and steps < 64:
            up, steps = parents[up], steps + 1
        if up == me and "chrom" in commands.get(pid, ""):
            found.append(pid)
    return found


class Cpu:
    """CPU seconds spent by the server and by this run's Chromium during a phase."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self.server = self.browser = 0.0
        self.kinds: dict[str, float] = {}

    def _browser(self) -> dict[int, float]:
        return {pid: cpu_seconds(pid) for pid in browser_pids()}

    def __enter__(self) -> Cpu:
        self._server0, self._browser0 = cpu_seconds(self.server_pid), self._browser()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server = cpu_seconds(self.server_pid) - self._server0
        after = self._browser()
        self.kinds = {}
        for pid, seconds in after.items():
            kind = process_kind(pid)
            self.kinds[kind] = self.kinds.get(kind, 0.0) + seconds - self._browser0.get(pid, 0.0)
        self.browser = sum(self.kinds.values())

    def line(self, mb: float, seconds: float) -> str:
        return (
            f"CPU per MB: server {1000 * self.server / mb:.1f} ms, Chromium {1000 * self.browser / mb:.1f} ms"
            f" (of {2 * seconds:.1f} core-s on 2 cores: server {self.server:.1f} s, Chromium {self.browser:.1f} s"
            f" = {', '.join(f'{kind} {1000 * t / mb:.1f}' for kind, t in sorted(self.kinds.items()) if t >= 0.05)}"
            " ms/MB)"
        )


class Rss:
    """Peak resident memory of a process, sampled in a thread."""

    def __init__(self, pid: int) -> None:
        self.path = Path(f"/proc/{pid}/status")
        self.peak = 0
        self.running = False

    def now(self) -> int:
        for line in self.path.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def __enter__(self) -> Rss:
        self.peak, self.running = self.now(), True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _run(self) -> None:
        while self.running:
            self.peak = max(self.peak, self.now())
            time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        self.running = False
        self.thread.join()


def write_file(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    with path.open("wb") as out:
        left = size
        while left:
            piece = os.urandom(min(CHUNK, left))
            digest.update(piece)
            out.write(piece)
            left -= len(piece)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while piece := source.read(CHUNK):
            digest.update(piece)
    return digest.hexdigest()


def page_for(browser: object, server: LiveServer, who: object, step: int) -> Page:
    context = browser.new_context(base_url=server.url, locale="en-US", accept_downloads=True)  # type: ignore[attr-defined]
    context.set_default_timeout(60_000)
    context.add_init_script(CSP_LISTENER)
    context.add_init_script(NO_PICKER)
    context.add_init_script(COUNT_ENCRYPTS)
    page: Page = context.new_page()
    code, _ = next_code(who.totp_secret, step)  # type: ignore[attr-defined]
    sign_in(page, who.member["email"], PASSWORD, code)  # type: ignore[attr-defined]
    signed_in(page, who.member["name"])  # type: ignore[attr-defined]
    open_mailbox(page)
    return page


PLAIN_UPLOAD = """async ({fileId, size, piece}) => {
  const file = document.getElementById("bench-plain").files[0];
  const n = Math.ceil(size / piece);
  let next = 0;
  const lane = async () => {
    while (next < n) {
      const i = next++;
      const r = await fetch(`/api/v1/files/${fileId}/chunks/${i}`, {method: "PUT",
        headers: {"Content-Type": "application/octet-stream", "X-CSRF-Token": window.__benchCsrf},
        body: file.slice(i * piece, Math.min(size, (i + 1) * piece)), credentials: "same-origin"});
      if (r.status !== 201) throw new Error(`chunk ${i}: ${r.status}`);
    }
  };
  await Promise.all([lane(), lane(), lane()]);
}"""


def plain_upload(page: Page, path: Path, size: int) -> float:
    """The baseline: the plaintext in slices of CHUNK + 40 bytes, declared with their hashes."""
    piece = CHUNK + 40  # the blob size of a full chunk
    n_chunks = (size + piece - 1) // piece
    plain_size = size - 40 * n_chunks
    hashes = []
    with path.open("rb") as source:
        for _ in range(n_chunks):
            hashes.append(b64e(h256(source.read(piece))))
    file_id = secrets.token_hex(16)
    csrf = page.evaluate("() => fetch('/api/v1/session').then(r => r.json()).then(s => s.csrf_token)")
    page.evaluate("(t) => { window.__benchCsrf = t; }", csrf)
    declared = page.request.post(
        "/api/v1/files",
        data={
            "file_id": file_id,
            "n_chunks": n_chunks,
            "chunk_size": CHUNK,
            "plain_size": plain_size,
            "chunk_hashes": hashes,
        },
        headers={"X-CSRF-Token": csrf, "Origin": page.url.split("/mail")[0]},
    )
    assert declared.status == 201, declared.text()
    page.evaluate(
        """() => { const i = document.createElement("input"); i.type = "file"; i.id = "bench-plain";
                   i.hidden = true; document.body.append(i); }"""
    )
    page.set_input_files("#bench-plain", str(path))
    t0 = time.perf_counter()
    page.evaluate(PLAIN_UPLOAD, {"fileId": file_id, "size": size, "piece": piece})
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=1024)
    args = parser.parse_args()
    size = args.size_mib * MIB
    with tempfile.TemporaryDirectory(prefix="isecom-transfer-") as tmp:
        folder = Path(tmp)
        data = folder / "data"
        assert run_cli("init", data=data).returncode == 0
        assert run_cli("demo", data=data).returncode == 0
        server = start_server(data)
        try:
            source = folder / f"evidence-{secrets.token_hex(4)}.bin"
            t0 = time.perf_counter()
            digest = write_file(source, size)
            print(
                f"wrote {args.size_mib} MiB of random bytes in {time.perf_counter() - t0:.1f} s (not timed)", flush=True
            )
            sender_who, s_step = activated(server, "ana.lima@isecom.example", "Ana Lima", "BR", "Demo PF")
            reader_who, r_step = activated(server, "ivo.horvat@isecom.example", "Ivo Horvat", "HR", "Demo USKOK")
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
                sender = page_for(browser, server, sender_who, s_step)
                compose(sender, reader_who.member["email"], "Large evidence (bench)", "Attached.")
                failed: list[str] = []
                puts: list[str] = []
                sender.on("requestfailed", lambda r: failed.append(f"{r.method} {r.failure}"))
                sender.on("request", lambda r: puts.append(r.url) if r.method == "PUT" else None)
                rss = Rss(server.process.pid)
                idle = rss.now()
                load_before = os.getloadavg()
                with rss, Cpu(server.process.pid) as up_cpu:
                    t0 = time.perf_counter()
                    sender.set_input_files("#compose-files", str(source))
                    sender.locator("#compose-uploads li.upload[data-state='uploading']").wait_for(timeout=PHASE_MS)
                    first_pass = time.perf_counter() - t0
                    row = sender.locator("#compose-uploads li.upload[data-state='committed']")
                    row.wait_for(timeout=PHASE_MS)
                    up = time.perf_counter() - t0
                up_rss = rss.peak - idle
                up_puts, up_failed = len([u for u in puts if "/chunks/" in u]), list(failed)
                encrypts = sender.evaluate("() => window.__encrypts")
                sender.click("#compose-form button[type=submit]")
                sender.locator("#list-title", has_text="Sent").wait_for(timeout=120_000)

                reader = page_for(browser, server, reader_who, r_step)
                reader.locator("#message-list .message-row", has_text="Large evidence").first.wait_for(timeout=120_000)
                reader.locator("#message-list .message-row", has_text="Large evidence").first.locator("a").click()
                attachment = reader.locator("#read-attachments li.attachment")
                attachment.wait_for()
                idle = rss.now()
                with rss, Cpu(server.process.pid) as down_cpu:
                    t0 = time.perf_counter()
                    with reader.expect_download(timeout=PHASE_MS) as info:
                        attachment.locator("button").click()
                    reader.locator("#read-attachments li.attachment[data-integrity='verified']").wait_for(
                        timeout=PHASE_MS
                    )
                    down = time.perf_counter() - t0
                down_rss = rss.peak - idle
                assert attachment.get_attribute("data-sha256") == digest
                saved = info.value.path()  # what the browser wrote
                saved_ok = saved.stat().st_size == size and file_sha256(saved) == digest
                info.value.delete()

                idle = rss.now()
                with rss, Cpu(server.process.pid) as plain_cpu:
                    plain = plain_upload(sender, source, size)
                plain_rss = rss.peak - idle
                load_after = os.getloadavg()
                browser.close()
        finally:
            stop_server(server)
    mb = size / 1e6
    print(f"bench/mail/transfer — {args.size_mib} MiB file, Chromium headless, one server process, loopback")
    print(f"  encrypted upload    {mb / up:7.1f} MB/s  ({up:6.1f} s; declare, encrypt and send in one pass, commit)"
          f"  server RSS +{up_rss / MIB:.0f} MiB")  # fmt: skip
    n_chunks = (size + CHUNK - 1) // CHUNK
    print(f"    chunks            {n_chunks}: {encrypts} encryptions, {up_puts} PUTs, {len(up_failed)} failed"
          f"{(': ' + ', '.join(sorted(set(up_failed)))) if up_failed else ''}")  # fmt: skip
    print(f"    of which          {first_pass:6.1f} s to the declaration (first chunk's hash, resume record), "
          f"{up - first_pass:.1f} s encrypting and sending")  # fmt: skip
    print(f"  encrypted download  {mb / down:7.1f} MB/s  ({down:6.1f} s; fetch, decrypt, SHA-256 verified)"
          f"  server RSS +{down_rss / MIB:.0f} MiB")  # fmt: skip
    print(f"    saved file        {'same bytes as the original' if saved_ok else 'DIFFERENT from the original'}")
    print(f"  plain upload        {mb / plain:7.1f} MB/s  ({plain:6.1f} s; same server checks, no browser crypto)"
          f"  server RSS +{plain_rss / MIB:.0f} MiB")  # fmt: skip
    print(f"  ratio               encrypted upload / plain upload = {plain / up:.2f}")
    print(f"  encrypted upload    {up_cpu.line(mb, up)}")
    print(f"  encrypted download  {down_cpu.line(mb, down)}")
    print(f"  plain upload        {plain_cpu.line(mb, plain)}")
    print(f"  load average        {load_before[0]:.2f} before, {load_after[0]:.2f} after (1 min)")


if __name__ == "__main__":
    main()

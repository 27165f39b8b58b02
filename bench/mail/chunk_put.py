"""The server's side of an evidence upload alone: chunk PUTs from Python, server CPU per MB.

    .venv/bin/python bench/mail/chunk_put.py [--size-mib 256] [--lanes 3] [--profile FILE]

A fresh instance (``isecom init`` + ``isecom demo``, ``isecom serve`` on 127.0.0.1), one member
activated and signed in with the Python client. A file of random "blobs" (4 MiB + 40 bytes each, in
memory, made once) is declared with their BLAKE2b-256 hashes, then PUT by ``--lanes`` connections
at once (aiohttp, as ``Client.put_octets`` does), then committed. Printed: MB/s, the server's CPU
time (user + system from /proc) per MB, and the load average. No browser: this isolates what the
chunk PUT path (hash check, blob write, fsync, rename, row) costs the server, so a change there can
be compared without Chromium's share of the same two cores. ``--profile FILE`` also records the
server with py-spy (raw format) during the PUTs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from isecom.client.session import Client
from isecom.crypto.encoding import b64e
from isecom.crypto.hashing import h256
from tests.browser.test_revocation import activated
from tests.browser.test_signin_flow import PASSWORD, next_code
from tests.conftest import run_cli, start_server, stop_server

MIB = 1024 * 1024
CHUNK = 4 * MIB
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


async def run(url: str, email: str, code: str, blobs: list[bytes], lanes: int, pid: int) -> tuple[float, float]:
    async with Client(url) as client:
        await client.sign_in(email, PASSWORD, code)
        file_id = secrets.token_hex(16)
        n = len(blobs)
        await client.post(
            "/api/v1/files",
            {
                "file_id": file_id,
                "n_chunks": n,
                "chunk_size": CHUNK,
                "plain_size": sum(len(b) - 40 for b in blobs),
                "chunk_hashes": [b64e(h256(b)) for b in blobs],
            },
        )
        queue = list(range(n))

        async def lane() -> None:
            while queue:
                i = queue.pop(0)
                assert await client.put_octets(f"/api/v1/files/{file_id}/chunks/{i}", blobs[i]) == 201

        cpu0, t0 = cpu_seconds(pid), time.perf_counter()
        await asyncio.gather(*(lane() for _ in range(lanes)))
        await client.post(f"/api/v1/files/{file_id}/commit", {})
        return time.perf_counter() - t0, cpu_seconds(pid) - cpu0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--lanes", type=int, default=3)
    parser.add_argument("--profile", type=Path, default=None)
    args = parser.parse_args()
    n = max(1, args.size_mib * MIB // CHUNK)
    base = os.urandom(CHUNK + 40)
    blobs = [i.to_bytes(8, "big") + base[8:] for i in range(n)]
    with tempfile.TemporaryDirectory(prefix="isecom-chunkput-") as tmp:
        data = Path(tmp) / "data"
        assert run_cli("init", data=data).returncode == 0
        assert run_cli("demo", data=data).returncode == 0
        server = start_server(data)
        spy = None
        try:
            who, step = activated(server, "ana.lima@isecom.example", "Ana Lima", "BR", "Demo PF")
            code, _ = next_code(who.totp_secret, step)
            if args.profile is not None:
                spy = subprocess.Popen(
                    [str(REPO / ".venv/bin/py-spy"), "record", "--pid", str(server.process.pid), "--duration", "60",
                     "--format", "raw", "-o", str(args.profile), "--threads", "--nonblocking"],
                )  # fmt: skip
                time.sleep(1)
            load = os.getloadavg()[0]
            seconds, cpu = asyncio.run(
                run(server.url, who.member["email"], code, blobs, args.lanes, server.process.pid)
            )
        finally:
            if spy is not None:
                spy.send_signal(2)
                spy.wait(timeout=30)
            stop_server(server)
    mb = n * (CHUNK + 40) / 1e6
    print(f"bench/mail/chunk_put — {n} chunks of 4 MiB + 40, {args.lanes} lanes, Python client, loopback")
    print(f"  {mb / seconds:7.1f} MB/s ({seconds:.2f} s); server CPU {1000 * cpu / mb:.2f} ms per MB ({cpu:.2f} s)")
    print(f"  load average {load:.2f} before, {os.getloadavg()[0]:.2f} after (1 min)")


if __name__ == "__main__":
    main()

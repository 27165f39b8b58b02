"""HTTP load generator for bench/mail: a separate process, so the server's process only serves.

    .venv/bin/python bench/mail/load.py SPEC.json      # prints one JSON object on stdout

SPEC: {"url": "http://127.0.0.1:PORT/path", "method": "POST" | "GET",
       "clients": [{"headers": {...}}, ...],          # one connection each, used one request at a time
       "bodies": "FILE" | null,                       # lines "CLIENT<TAB>BODY"; each body is sent once
       "count": N, "seconds": S, "warmup": W}

Every client first sends W requests (not timed); then all clients start together and send until
N requests in all have completed, the client's bodies run out, or S seconds have passed. The answer
holds the timed latencies (seconds), the wall time of the timed phase and the statuses seen.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp


def read_bodies(path: str | None, clients: int) -> list[list[bytes]]:
    queues: list[list[bytes]] = [[] for _ in range(clients)]
    if path:
        with Path(path).open("rb") as lines:
            for line in lines:
                index, body = line.rstrip(b"\n").split(b"\t", 1)
                queues[int(index)].append(body)
    return queues


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    clients = spec["clients"]
    queues = read_bodies(spec.get("bodies"), len(clients))
    method, url = spec["method"], spec["url"]
    count, seconds, warmup = int(spec["count"]), float(spec["seconds"]), int(spec.get("warmup", 0))
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    started = 0
    stop_at = 0.0

    async def call(http: aiohttp.ClientSession, headers: dict[str, str], queue: list[bytes]) -> float:
        body = queue.pop() if spec.get("bodies") else None
        t0 = time.perf_counter()
        async with http.request(method, url, data=body, headers=headers) as response:
            await response.read()
            elapsed = time.perf_counter() - t0
            statuses[response.status] += 1
        return elapsed

    async def worker(http: aiohttp.ClientSession, headers: dict[str, str], queue: list[bytes]) -> None:
        nonlocal started
        while started < count and time.perf_counter() < stop_at and (queue or not spec.get("bodies")):
            started += 1
            latencies.append(await call(http, headers, queue))

    sessions = [aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) for _ in clients]
    try:
        headers = [dict(c["headers"]) for c in clients]
        await asyncio.gather(
            *(call(h, hd, q) for h, hd, q in zip(sessions, headers, queues, strict=True) for _ in range(warmup))
        )
        statuses.clear()  # the answer counts the timed requests only
        t0 = time.perf_counter()
        stop_at = t0 + seconds
        await asyncio.gather(*(worker(h, hd, q) for h, hd, q in zip(sessions, headers, queues, strict=True)))
        wall = time.perf_counter() - t0
    finally:
        for http in sessions:
            await http.close()
    return {"latencies": latencies, "wall": wall, "statuses": {str(k): v for k, v in statuses.items()}}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run(json.loads(Path(sys.argv[1]).read_text())))))

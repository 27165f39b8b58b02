"""SMTP load generator for bench/smtp: a separate process of ``smtplib`` sessions, one thread each.

    .venv/bin/python bench/smtp/load.py SPEC.json      # prints one JSON object on stdout

SPEC: {"port": P, "cafile": "ca.pem", "sessions": 16, "count": N, "seconds": S, "size": 10240,
       "sender": "...", "rcpt": "...", "helo": "...", "warmup": W}

Each session connects, says EHLO, STARTTLS (the CA's certificate checked), EHLO again, sends W
messages untimed, waits for every other session, then sends until N messages in all have been
accepted or S seconds have passed. One latency per message: MAIL FROM to the 250 after DATA, which
the gateway answers only once the sealed message is committed.
"""

from __future__ import annotations

import json
import smtplib
import ssl
import sys
import threading
import time
from pathlib import Path
from typing import Any

LINE = 76  # characters per body line, plus CRLF


def message(n: int, size: int, sender: str, rcpt: str) -> bytes:
    """A plain-text message of exactly ``size`` bytes with CRLF line endings (fictional content)."""
    head = (
        f"From: Bench <{sender}>\r\nTo: <{rcpt}>\r\nSubject: Benchmark message {n} (fictional)\r\n"
        f"Message-ID: <bench.{n}@police.example>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
    ).encode()
    filler = (b"Fictional benchmark text for the isecom SMTP gateway, line after line. " * 2)[:LINE] + b"\r\n"
    body = filler * ((size - len(head)) // len(filler) + 1)
    return head + body[: size - len(head) - 2] + b"\r\n"


def run(spec: dict[str, Any]) -> dict[str, Any]:
    sessions, count, seconds = int(spec["sessions"]), int(spec["count"]), float(spec["seconds"])
    context = ssl.create_default_context(cafile=spec["cafile"])
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    ready = threading.Barrier(sessions + 1)
    state: dict[str, float] = {"started": 0, "stop_at": 0.0, "n": 0}

    def next_number() -> int:
        with lock:
            state["n"] += 1
            return int(state["n"])

    def session() -> None:
        try:
            with smtplib.SMTP("127.0.0.1", spec["port"], timeout=60) as smtp:
                smtp.ehlo(spec["helo"])
                smtp.starttls(context=context)
                smtp.ehlo(spec["helo"])
                for _ in range(int(spec.get("warmup", 0))):
                    smtp.sendmail(
                        spec["sender"],
                        [spec["rcpt"]],
                        message(next_number(), spec["size"], spec["sender"], spec["rcpt"]),
                    )
                ready.wait()
                ready.wait()  # the timing starts
                while True:
                    with lock:
                        if state["started"] >= count or time.perf_counter() >= state["stop_at"]:
                            break
                        state["started"] += 1
                    data = message(next_number(), spec["size"], spec["sender"], spec["rcpt"])
                    t0 = time.perf_counter()
                    smtp.sendmail(spec["sender"], [spec["rcpt"]], data)
                    elapsed = time.perf_counter() - t0
                    with lock:
                        latencies.append(elapsed)
        except (smtplib.SMTPException, OSError, threading.BrokenBarrierError) as exc:
            with lock:
                errors.append(type(exc).__name__ + ": " + str(exc)[:200])
            ready.abort()

    threads = [threading.Thread(target=session, daemon=True) for _ in range(sessions)]
    for thread in threads:
        thread.start()
    try:
        ready.wait()
        t0 = time.perf_counter()
        state["stop_at"] = t0 + seconds
        ready.wait()
    except threading.BrokenBarrierError:
        t0 = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - t0
    return {"latencies": latencies, "wall": wall, "errors": errors}


if __name__ == "__main__":
    print(json.dumps(run(json.loads(Path(sys.argv[1]).read_text()))))

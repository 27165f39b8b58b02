"""``isecom backup`` and ``isecom restore`` (isecom/backup.py holds the archive format)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from isecom import backup, config, logs


@contextmanager
def _progress() -> Iterator[backup.Progress]:
    """A bar on a terminal; otherwise one line per stage (for logs and timers)."""
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not sys.stderr.isatty(),
    )
    task = bar.add_task("starting", total=None)
    said: set[str] = set()

    def report(what: str, done: int, total: int) -> None:
        bar.update(task, description=what, completed=done, total=total)
        if bar.disable and what not in said:
            said.add(what)
            print(f"  {what}", file=sys.stderr, flush=True)

    with bar:
        yield report


async def make_backup(args: argparse.Namespace) -> int:
    from isecom import app

    cfg = config.load(args.data)
    logs.configure(cfg.log_format, cfg.log_level)
    await app.check_database(cfg)
    async with app.open_blobs(cfg) as blobs:
        with _progress() as progress:
            summary = await backup.backup(cfg, blobs, args.out, progress)
    print(f"backup written: {args.out} ({summary.database}, {summary.blobs} blobs, {summary.bytes} bytes of blobs)")
    print("secrets/ is not in it: keep a copy of the secrets apart, offline (docs/operations.md)")
    return 0


async def restore(args: argparse.Namespace) -> int:
    from isecom import app

    cfg = config.load(args.data)
    logs.configure(cfg.log_format, cfg.log_level)
    async with app.open_blobs(cfg) as blobs:
        with _progress() as progress:
            summary = await backup.restore(cfg, blobs, args.archive, progress)
    await app.check_database(cfg, upgrade=True)  # a backup from an older release is brought up to date
    print(
        f"restored: {summary.database} database and {summary.blobs} blobs ({summary.bytes} bytes); "
        "every SHA-256 and the MAC verified"
    )
    print(f"the backed-up configuration is in {cfg.data_dir / 'isecom.toml.from-backup'} for comparison")
    return 0


def add_commands(commands: Any, data: Any) -> None:
    """``isecom backup`` and ``isecom restore``."""
    out = commands.add_parser("backup", help="write a consistent snapshot (database, blobs, config; no secrets)")
    data(out)
    out.add_argument("--out", type=Path, required=True, metavar="FILE", help="a new file (never overwritten)")
    out.set_defaults(run=make_backup)
    back = commands.add_parser("restore", help="restore a backup into an EMPTY instance, verifying every hash")
    data(back)
    back.add_argument("--in", dest="archive", type=Path, required=True, metavar="FILE")
    back.set_defaults(run=restore)

"""Commands that set up and run an instance: init, migrate, serve, demo."""

from __future__ import annotations

import argparse
from dataclasses import replace

from isecom import config, instance, logs
from isecom.clock import SystemClock
from isecom.services import demo as demo_data


async def init(args: argparse.Namespace) -> int:
    from isecom import app

    for path in instance.create(args.data):
        print(f"created {path}")
    cfg = config.load(args.data)
    await app.check_database(cfg, upgrade=True)
    print(f"ready: {cfg.data_dir} (database {cfg.describe()['database']})")
    return 0


async def migrate(args: argparse.Namespace) -> int:
    from isecom import app

    cfg = config.load(args.data)
    logs.configure(cfg.log_format, cfg.log_level)
    await app.check_database(cfg, upgrade=True)
    print("database schema is up to date")
    return 0


async def serve(args: argparse.Namespace) -> int:
    from isecom import app

    # An HTTP-only process (one of N behind nginx) never opens the SMTP certificate files.
    cfg = config.load(args.data, smtp_files=args.only != "http")
    logs.configure(cfg.log_format, cfg.log_level)
    if args.http:
        http = config.parse_host_port("--http", args.http)
        # A public URL that only mirrored the listening address follows it.
        public_url = f"http://{http}" if cfg.public_url == f"http://{cfg.http}" else cfg.public_url
        cfg = replace(cfg, http=http, public_url=public_url)
    if args.smtp:
        cfg = replace(cfg, smtp=config.parse_host_port("--smtp", args.smtp))
    await app.serve(cfg, only=args.only)
    return 0


async def demo(args: argparse.Namespace) -> int:
    from isecom import app

    cfg = config.load(args.data)
    logs.configure(cfg.log_format, cfg.log_level)
    await app.check_database(cfg)
    async with app.open_context(cfg) as context:
        result = await demo_data.load(context.store, SystemClock(), cfg.server_key, blobs=context.blobs)
    print(f"demo data: {len(result.created)} members created, {result.skipped} already present")
    for invitation in result.created:
        print(f"  {invitation.member.email}: {cfg.public_url}/activate#{invitation.activation_token}")
    return 0

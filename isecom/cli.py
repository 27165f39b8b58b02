"""The ``isecom`` command line. Each command calls services and prints their result."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from isecom import __version__, config, instance, logs
from isecom.clock import SystemClock
from isecom.errors import IsecomError
from isecom.services import demo, members


def _data(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, required=True, metavar="DIR", help="the instance's data directory")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="isecom", description="isecom: encrypted mail for asset-recovery Focal Points"
    )
    parser.add_argument("--version", action="version", version=f"isecom {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init = commands.add_parser("init", help="create the data directory, secrets and config; apply migrations")
    _data(init)
    serve = commands.add_parser("serve", help="serve HTTP and SMTP")
    _data(serve)
    serve.add_argument("--http", metavar="HOST:PORT", help="override server.http")
    serve.add_argument("--smtp", metavar="HOST:PORT", help="override server.smtp")
    migrate = commands.add_parser("migrate", help="apply database migrations")
    _data(migrate)
    demo_cmd = commands.add_parser("demo", help="load fictional demo members (idempotent)")
    _data(demo_cmd)

    admin = commands.add_parser("admin", help="administration commands")
    admin_commands = admin.add_subparsers(dest="admin_command", required=True, metavar="ADMIN_COMMAND")
    first = admin_commands.add_parser(
        "create-first", help="create the first platform administrator and print a one-time activation link"
    )
    _data(first)
    first.add_argument("--email", required=True)
    first.add_argument("--name", required=True)
    first.add_argument("--country", required=True, help="ISO 3166 alpha-2 code, e.g. FR")
    first.add_argument("--agency", required=True)
    first.add_argument("--language", default="en", choices=["en", "fr", "es", "ar"])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return asyncio.run(_run(args))
    except IsecomError as exc:
        print(f"isecom: error: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


async def _run(args: argparse.Namespace) -> int:
    from isecom import app  # the composition root; imported late so --help stays fast

    data: Path = args.data
    if args.command == "init":
        for path in instance.create(data):
            print(f"created {path}")
        cfg = config.load(data)
        await app.check_database(cfg, upgrade=True)
        print(f"ready: {cfg.data_dir} (database {cfg.describe()['database']})")
        return 0
    cfg = config.load(data)
    logs.configure(cfg.log_format, cfg.log_level)
    if args.command == "migrate":
        await app.check_database(cfg, upgrade=True)
        print("database schema is up to date")
    elif args.command == "serve":
        if args.http:
            http = config.parse_host_port("--http", args.http)
            # A public URL that only mirrored the listening address follows it.
            public_url = f"http://{http}" if cfg.public_url == f"http://{cfg.http}" else cfg.public_url
            cfg = replace(cfg, http=http, public_url=public_url)
        if args.smtp:
            cfg = replace(cfg, smtp=config.parse_host_port("--smtp", args.smtp))
        await app.serve(cfg)
    elif args.command == "demo":
        await app.check_database(cfg)
        async with app.open_context(cfg) as context:
            result = await demo.load(context.store, SystemClock(), cfg.server_key)
        print(f"demo data: {len(result.created)} members created, {result.skipped} already present")
        for invitation in result.created:
            print(f"  {invitation.member.email}: {cfg.public_url}/activate#{invitation.activation_token}")
    elif args.command == "admin" and args.admin_command == "create-first":
        new = members.NewMember.parse(
            email=args.email, name=args.name, country=args.country, agency=args.agency, roles=[], language=args.language
        )
        await app.check_database(cfg)
        async with app.open_context(cfg) as context:
            invitation = await members.create_first_admin(context.store, SystemClock(), cfg.server_key, new)
        print(f"created administrator {invitation.member.email} (id {invitation.member.id})")
        print(f"one-time activation link (valid 7 days): {cfg.public_url}/activate#{invitation.activation_token}")
    return 0

"""Every command and flag of ``isecom``; each sub-command names the coroutine that runs it."""

from __future__ import annotations

import argparse
from pathlib import Path

from isecom import __version__
from isecom.cli import admin, client, rootkey, server


def _data(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, required=True, metavar="DIR", help="the instance's data directory")


def _member_fields(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--email", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--country", required=True, help="ISO 3166 alpha-2 code, e.g. FR")
    parser.add_argument("--agency", required=True)
    parser.add_argument("--language", default="en", choices=["en", "fr", "es", "ar"])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="isecom", description="isecom: encrypted mail for asset-recovery Focal Points"
    )
    parser.add_argument("--version", action="version", version=f"isecom {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init = commands.add_parser("init", help="create the data directory, secrets and config; apply migrations")
    _data(init)
    init.set_defaults(run=server.init)
    serve = commands.add_parser("serve", help="serve HTTP and SMTP")
    _data(serve)
    serve.add_argument("--http", metavar="HOST:PORT", help="override server.http")
    serve.add_argument("--smtp", metavar="HOST:PORT", help="override server.smtp")
    serve.set_defaults(run=server.serve)
    migrate = commands.add_parser("migrate", help="apply database migrations")
    _data(migrate)
    migrate.set_defaults(run=server.migrate)
    demo = commands.add_parser("demo", help="load fictional demo members (idempotent)")
    _data(demo)
    demo.set_defaults(run=server.demo)

    admin_parser = commands.add_parser("admin", help="administration commands")
    admin_commands = admin_parser.add_subparsers(dest="admin_command", required=True, metavar="ADMIN_COMMAND")
    first = admin_commands.add_parser(
        "create-first", help="create the first platform administrator and print a one-time activation link"
    )
    _data(first)
    _member_fields(first)
    first.set_defaults(run=admin.create_first)
    member = admin_commands.add_parser(
        "create-member", help="create a pre-approved member and print a one-time activation link"
    )
    _data(member)
    _member_fields(member)
    member.add_argument(
        "--role", action="append", default=[], choices=["agency_head", "ncb_head", "admin"], help="repeatable"
    )
    member.set_defaults(run=admin.create_member)

    for action, text in (
        ("suspend", "suspend an active membership (signs the member out)"),
        ("reinstate", "reinstate a suspended membership"),
        ("expire", "end a membership at its term (signs the member out)"),
        ("revoke", "revoke a membership for good (signs the member out)"),
    ):
        change = admin_commands.add_parser(action, help=text)
        _data(change)
        change.add_argument("--email", required=True)
        change.add_argument("--reason", required=True, help="kept in the audit log")
        change.set_defaults(run=admin.change_membership, action=action)
    importer = admin_commands.add_parser(
        "import-members", help="create pre-approved members from a CSV file and print their activation links"
    )
    _data(importer)
    importer.add_argument(
        "--csv", type=Path, required=True, help="header: email,name,country,agency[,roles][,language]; roles a;b"
    )
    importer.set_defaults(run=admin.import_members)

    audit = commands.add_parser("audit", help="the hash-chained audit log")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True, metavar="AUDIT_COMMAND")
    verify = audit_commands.add_parser("verify", help="prove the chain intact or name the first broken entry")
    _data(verify)
    verify.set_defaults(run=admin.audit_verify)

    rootkey.add_commands(commands, _data)

    kt = commands.add_parser("kt", help="the key-transparency log")
    kt_commands = kt.add_subparsers(dest="kt_command", required=True, metavar="KT_COMMAND")
    kt_verify = kt_commands.add_parser(
        "verify", help="audit the whole key log from scratch; name the first problem (exit 1)"
    )
    _data(kt_verify)
    kt_verify.set_defaults(run=admin.kt_verify)

    client_parser = commands.add_parser("client", help="act as a member, without a browser")
    client_commands = client_parser.add_subparsers(dest="client_command", required=True, metavar="CLIENT_COMMAND")
    activate = client_commands.add_parser("activate", help="complete an activation link: keys, password, TOTP")
    activate.add_argument("url", help="the activation link, https://host/activate#TOKEN")
    activate.add_argument("--password-file", type=Path, required=True)
    activate.add_argument("--totp-secret-out", type=Path, required=True, help="written with mode 0600")
    activate.add_argument("--recovery-code-out", type=Path, required=True, help="written with mode 0600")
    activate.set_defaults(run=client.activate)
    sign_in = client_commands.add_parser("sign-in", help="sign in and unlock the keys (checks the account works)")
    sign_in.add_argument("--url", required=True, help="the server, https://host")
    sign_in.add_argument("--email", required=True)
    sign_in.add_argument("--password-file", type=Path, required=True)
    sign_in.add_argument("--totp-secret-file", type=Path, required=True)
    sign_in.set_defaults(run=client.sign_in)
    return parser

"""Every command and flag of ``isecom``; each sub-command names the coroutine that runs it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from isecom import __version__
from isecom.cli import admin, backup, client, rootkey, server
from isecom.crypto.payload import HANDLING


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
    serve.add_argument(
        "--only",
        choices=["http", "smtp"],
        help="http: HTTP alone (one of several application processes); "
        "smtp: the SMTP gateway and the background jobs (run exactly one such process)",
    )
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
    backup.add_commands(commands, _data)

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
    _mail_commands(client_parser, client_commands)
    return parser


CLIENT_HELP = """\
Mail commands act as one member: --server URL --email ADDRESS, with --password-file and
--totp-secret-file (the password and the TOTP code are asked for when these are not given).
These options may come before or after the command.

Trust: the platform root key comes from the server's GET /keys/ on first use and is pinned
in the state file, unless given with --root-key HEX. First use therefore trusts the server;
compare the printed key with one from the platform operators, or pass --root-key. If the
server's root key ever changes, every command refuses to run.

The state file (mode 0600; default: next to the TOTP secret file, TOTP_FILE.state.json)
remembers the root key, the key log checkpoint, the log entries seen and the keys you
verified, and the session cookie, so later runs need the password but no new TOTP code.
It holds no keys and no password.
"""


def _member_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """The same options on ``client`` and on each mail command (SUPPRESS keeps an earlier value)."""
    default: Any = None if top else argparse.SUPPRESS
    parser.add_argument("--server", metavar="URL", default=default, help="the instance, https://host")
    parser.add_argument("--email", metavar="ADDRESS", default=default, help="the member's address")
    parser.add_argument("--password-file", type=Path, metavar="F", default=default)
    parser.add_argument("--totp-secret-file", type=Path, metavar="F", default=default)
    parser.add_argument(
        "--root-key",
        metavar="HEX",
        default=default,
        help="the platform root public key (instead of trusting the server)",
    )
    parser.add_argument("--state-file", type=Path, metavar="F", default=default, help="where to remember state")


def _mail_commands(client_parser: argparse.ArgumentParser, commands: argparse._SubParsersAction[Any]) -> None:
    client_parser.description = CLIENT_HELP
    client_parser.formatter_class = argparse.RawDescriptionHelpFormatter
    _member_options(client_parser, top=True)

    def command(name: str, text: str, run: Any) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = commands.add_parser(
            name,
            help=text,
            description=f"{text}\n\n{CLIENT_HELP}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _member_options(sub, top=False)
        sub.add_argument("--json", action="store_true", help="stable machine-readable output on stdout")
        sub.set_defaults(run=run)
        return sub

    command("login", "sign in with password and TOTP; remember the session and pin the root key", client.login)
    send = command("send", "encrypt, sign and send a message; prints its id", client.send)
    send.add_argument("--to", action="append", required=True, metavar="ADDRESS", help="repeatable")
    send.add_argument("--cc", action="append", default=[], metavar="ADDRESS", help="repeatable")
    send.add_argument("--subject", required=True)
    send.add_argument("--body-file", type=Path, required=True, metavar="F", help="UTF-8 text; - for stdin")
    send.add_argument(
        "--attach", action="append", type=Path, default=[], metavar="FILE", help="repeatable; encrypted in chunks"
    )
    send.add_argument("--handling", default="H1", choices=sorted(HANDLING), help="handling code (default H1)")
    listing = command("list", "a page of a folder, newest first, each message opened and verified", client.list_folder)
    listing.add_argument("--folder", default="inbox", help="inbox, sent, archive, trash … (default inbox)")
    listing.add_argument("--limit", type=int, default=50, help="messages per page (default 50)")
    read = command("read", "open and verify a message; mark it read", client.read)
    read.add_argument("id", help="the message id")
    read.add_argument(
        "--save-attachments", type=Path, metavar="DIR", help="download, decrypt and verify every attachment into DIR"
    )
    read.add_argument(
        "--eml-out", type=Path, metavar="FILE", help="mail that arrived by SMTP: write the original message to FILE"
    )
    reply = command("reply", "reply to the sender (--all: to every recipient too)", client.reply)
    reply.add_argument("id", help="the message id")
    reply.add_argument("--all", action="store_true", help="reply to everyone, every jurisdiction kept")
    reply.add_argument("--body-file", type=Path, required=True, metavar="F", help="UTF-8 text; - for stdin")
    forward = command("forward", "forward with the same attachments (nothing uploaded again)", client.forward)
    forward.add_argument("id", help="the message id")
    forward.add_argument("--to", action="append", required=True, metavar="ADDRESS", help="repeatable")
    forward.add_argument("--cc", action="append", default=[], metavar="ADDRESS", help="repeatable")
    forward.add_argument("--body-file", type=Path, metavar="F", help="a note above the forwarded message")

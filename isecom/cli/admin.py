"""Administration commands: create members, verify the audit log."""

from __future__ import annotations

import argparse

from isecom import config, logs
from isecom.clock import SystemClock
from isecom.errors import InvalidInput
from isecom.services import admin, audit, keyaudit, members
from isecom.types import Email


def _new_member(args: argparse.Namespace, roles: list[str]) -> members.NewMember:
    return members.NewMember.parse(
        email=args.email,
        name=args.name,
        country=args.country,
        agency=args.agency,
        roles=roles,
        language=args.language,
    )


async def create_first(args: argparse.Namespace) -> int:
    from isecom import app

    cfg = config.load(args.data)
    logs.configure(cfg.log_format, cfg.log_level)
    new = _new_member(args, [])
    await app.check_database(cfg)
    async with app.open_context(cfg) as context:
        invitation = await members.create_first_admin(context.store, SystemClock(), cfg.server_key, new)
    print(f"created administrator {invitation.member.email} (id {invitation.member.id})")
    print(f"one-time activation link (valid 7 days): {cfg.public_url}/activate#{invitation.activation_token}")
    return 0


async def create_member(args: argparse.Namespace) -> int:
    from isecom import app

    cfg = config.load(args.data)
    logs.configure(cfg.log_format, cfg.log_level)
    new = _new_member(args, args.role)
    await app.check_database(cfg)
    async with app.open_context(cfg) as context:
        invitation = await members.create_member(context.store, SystemClock(), cfg.server_key, new, actor=None)
    roles = ", ".join(sorted(r.value for r in invitation.member.roles))
    print(f"created member {invitation.member.email} (id {invitation.member.id}; roles: {roles})")
    print(f"one-time activation link (valid 7 days): {cfg.public_url}/activate#{invitation.activation_token}")
    return 0


async def audit_verify(args: argparse.Namespace) -> int:
    from isecom import app

    cfg = config.load(args.data)
    await app.check_database(cfg)
    async with app.open_context(cfg) as context:
        verdict = await audit.verify(context.store)
    if verdict.intact:
        print(f"audit log intact: {verdict.entries} entries, every hash verified")
        return 0
    print(f"audit log BROKEN at entry {verdict.first_broken}: {verdict.problem}")
    return 1


async def kt_verify(args: argparse.Namespace) -> int:
    from isecom import app

    cfg = config.load(args.data)
    await app.check_database(cfg)
    async with app.open_context(cfg) as context:
        verdict = await keyaudit.audit_log(context.store, context.authority)
    if verdict.intact:
        print(
            f"key log intact: {verdict.leaves} leaves, {verdict.checkpoints} checkpoints; "
            "every root, checkpoint signature, consistency step and key history verified"
        )
        return 0
    print(f"key log BROKEN: {verdict.problem}")
    return 1


async def change_membership(args: argparse.Namespace) -> int:
    from isecom import app

    cfg = config.load(args.data)
    await app.check_database(cfg)
    async with app.open_context(cfg) as context:
        member = await admin.change_membership(
            context.store,
            SystemClock(),
            None,
            action=args.action,
            email=Email.parse(args.email),
            reason=args.reason,
            authority=context.authority,
        )
    print(f"{member.email}: {member.status.value.replace('_', ' ')}")
    return 0


async def import_members(args: argparse.Namespace) -> int:
    from isecom import app

    cfg = config.load(args.data)
    try:
        text = args.csv.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read {args.csv}: {exc}") from None
    rows = admin.parse_csv(text)
    await app.check_database(cfg)
    async with app.open_context(cfg) as context:
        invitations = await admin.import_members(context.store, SystemClock(), cfg.server_key, rows, actor=None)
    print(f"imported {len(invitations)} members; one-time activation links (valid 7 days):")
    for invitation in invitations:
        print(f"  {invitation.member.email}: {cfg.public_url}/activate#{invitation.activation_token}")
    return 0

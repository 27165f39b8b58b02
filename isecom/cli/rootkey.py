"""``isecom keys root …``: move the platform root key off the server and sign for it from there.

The root signs platform approvals, approver certificates, the log key and platform
revocations (PROTOCOL.md §9). On the server it lives in ``secrets/root.key``;
``export --remove`` takes it away. From then on those entries wait in the database;
``requests`` writes what is waiting, ``sign`` (run where the key is, needing nothing
but the key file) signs it after showing each item, and ``import-signature`` checks every
signature against ``root.pub`` and publishes what is complete.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from isecom import config
from isecom.clock import SystemClock
from isecom.crypto import keytrans
from isecom.crypto.encoding import b64d, b64e
from isecom.crypto.errors import CryptoError
from isecom.errors import ConfigError, InvalidInput
from isecom.services import keyroot

FORMAT = "isecom-root-requests-v1"


def _root_file(cfg: config.Config) -> Path:
    return cfg.data_dir / "secrets" / "root.key"


def _write_private(path: Path, text: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InvalidInput(f"{path} already exists; choose another file.") from None
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _read_seed(path: Path, root_pk: bytes | None = None) -> bytes:
    try:
        seed = bytes.fromhex(config.read_secret("--key", path).decode("ascii"))
    except ValueError:
        raise ConfigError(f"{path} must hold the root key as 64 hexadecimal digits") from None
    if len(seed) != 32:
        raise ConfigError(f"{path} must hold the root key as 64 hexadecimal digits")
    if root_pk is not None and keytrans.signing_keypair(seed)[0] != root_pk:
        raise ConfigError(f"{path} is not this instance's root key (it does not match root.pub)")
    return seed


async def export(args: argparse.Namespace) -> int:
    cfg = config.load(args.data)
    if cfg.root_seed is None:
        raise ConfigError("the root key is not on this server (already exported?)")
    _write_private(args.out, cfg.root_seed.hex() + "\n")
    if _read_seed(args.out, cfg.root_pk) != cfg.root_seed:
        raise ConfigError(f"{args.out} could not be written back correctly; nothing was removed")
    print(f"root key written to {args.out} (mode 0600); public key {cfg.root_pk.hex()}")
    if args.remove:
        _root_file(cfg).unlink()
        print("removed from this server: approvals and certificates now wait for `isecom keys root sign`")
    return 0


async def bring_back(args: argparse.Namespace) -> int:
    cfg = config.load(args.data)
    if cfg.root_seed is not None:
        raise ConfigError("the root key is already on this server")
    seed = _read_seed(args.key, cfg.root_pk)
    _write_private(_root_file(cfg), seed.hex() + "\n")
    print(f"root key back in {_root_file(cfg)}; run `isecom keys root requests` to see what still waits")
    return 0


async def requests(args: argparse.Namespace) -> int:
    from isecom import app

    cfg = config.load(args.data)
    await app.check_database(cfg)
    async with app.open_context(cfg) as context:
        waiting = await keyroot.root_requests(context.store)
    doc = {
        "format": FORMAT,
        "origin": cfg.public_url,
        "root_key": cfg.root_pk.hex(),
        "requests": [{"id": item.id, "body": b64e(item.body)} for item in waiting],
    }
    args.out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(f"{len(waiting)} request(s) written to {args.out}")
    return 0


async def sign(args: argparse.Namespace) -> int:
    seed = _read_seed(args.key)
    pk, sk = keytrans.signing_keypair(seed)
    doc = _load(args.requests)
    if doc.get("root_key") != pk.hex():
        raise ConfigError("these requests are for another root key")
    signatures = []
    for request in doc["requests"]:
        body = b64d(request["body"])
        try:
            summary = keytrans.root_request_summary(body)
        except CryptoError:
            raise InvalidInput(f"request {request['id']} is not something the root signs; nothing was signed") from None
        print(f"  {request['id']}: {summary}")
        signatures.append({"id": request["id"], "signature": b64e(keytrans.sign(sk, body)[-64:])})
    out = {"format": FORMAT, "root_key": pk.hex(), "signatures": signatures}
    args.out.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(f"{len(signatures)} signature(s) written to {args.out}")
    return 0


async def import_signature(args: argparse.Namespace) -> int:
    from isecom import app

    cfg = config.load(args.data)
    doc = _load(args.signatures)
    if doc.get("root_key") != cfg.root_pk.hex():
        raise ConfigError("these signatures were made with another root key than root.pub")
    try:
        signatures = {int(s["id"]): b64d(s["signature"], size=64) for s in doc["signatures"]}
    except (KeyError, TypeError, ValueError, CryptoError):
        raise InvalidInput(f"{args.signatures} is not a signature file from `isecom keys root sign`") from None
    await app.check_database(cfg)
    async with app.open_context(cfg) as context:
        done = await keyroot.import_signatures(context.store, SystemClock(), context.authority, signatures)
    print(f"{done.signed} signature(s) checked; {done.published} group(s) published; {done.waiting} still waiting")
    return 0


def _load(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"cannot read {path}: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InvalidInput(f"{path} is not an isecom root requests or signatures file")
    return doc


def add_commands(commands: Any, data: Any) -> None:
    """``isecom keys root export|import|requests|sign|import-signature``."""
    keys = commands.add_parser("keys", help="the platform root key")
    key_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="KEYS_COMMAND")
    root = key_commands.add_parser("root", help="move the root key offline and sign for it from there")
    root_commands = root.add_subparsers(dest="root_command", required=True, metavar="ROOT_COMMAND")
    out = root_commands.add_parser("export", help="write the root key to a file (0600); --remove takes it off")
    data(out)
    out.add_argument("--out", type=Path, required=True, metavar="FILE", help="a new file (never overwritten)")
    out.add_argument("--remove", action="store_true", help="then delete secrets/root.key from this server")
    out.set_defaults(run=export)
    back = root_commands.add_parser("import", help="bring the root key back onto this server")
    data(back)
    back.add_argument("--key", type=Path, required=True, metavar="FILE")
    back.set_defaults(run=bring_back)
    req = root_commands.add_parser("requests", help="write what waits for the root's signature")
    data(req)
    req.add_argument("--out", type=Path, required=True, metavar="FILE")
    req.set_defaults(run=requests)
    signer = root_commands.add_parser("sign", help="sign requests where the root key is (shows each item)")
    signer.add_argument("--key", type=Path, required=True, metavar="FILE", help="the exported root key")
    signer.add_argument("--in", dest="requests", type=Path, required=True, metavar="FILE")
    signer.add_argument("--out", type=Path, required=True, metavar="FILE")
    signer.set_defaults(run=sign)
    imp = root_commands.add_parser("import-signature", help="check signatures against root.pub and publish")
    data(imp)
    imp.add_argument("--in", dest="signatures", type=Path, required=True, metavar="FILE")
    imp.set_defaults(run=import_signature)

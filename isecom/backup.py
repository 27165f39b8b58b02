"""``isecom backup`` and ``isecom restore``: one tar file holding a consistent snapshot.

The archive (format ``isecom-backup-v1``, docs/operations.md "Backup and restore"):

    config/isecom.toml      the configuration (it holds no secrets; a password in database.url is masked)
    config/root.pub         the platform root's public key
    database/sqlite.db      SQLite online-backup copy, or database/postgresql.dump (pg_dump -Fc)
    blobs/<id>              every stored chunk the snapshot refers to (ciphertext)
    manifest.json           name, size and SHA-256 of every member above, the schema revision, ...
    manifest.mac            keyed BLAKE2b of manifest.json under a key derived from the server key

Secrets (``secrets/``) are never in the archive: keep them apart, offline. The MAC makes any
change to the archive (a byte, a member added, removed or renamed) fail the restore, and ties
the archive to the instance's server key, which the restored instance needs anyway (TOTP
seeds are sealed with it, the key log's and the SMTP gateway's keys derive from it).

Restore reads the whole archive and checks every hash and the MAC before it writes anything,
refuses an instance that already holds data, then writes blobs, then the database, checking
each member's hash again as it goes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tarfile
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol

from isecom import config as config_module
from isecom.config import Config
from isecom.crypto.tokens import derive, equal
from isecom.errors import ConfigError, InvalidInput, NotFound
from isecom.services.files import blob_id
from isecom.services.ports import BlobStore
from storage import migrate, snapshot
from storage.blobs import check_blob_id
from storage.db import make_engine

FORMAT = "isecom-backup-v1"
MANIFEST, MAC = "manifest.json", "manifest.mac"
_NAME = re.compile(r"(config/isecom\.toml|config/root\.pub|database/(sqlite\.db|postgresql\.dump)|blobs/[a-z0-9_-]+)")
_READ = 1024 * 1024
_DB_FILE = {"sqlite": "sqlite.db", "postgresql": "postgresql.dump"}

Progress = Callable[[str, int, int], None]  # what is being done, bytes done, bytes in all


class ListableBlobs(BlobStore, Protocol):
    def ids(self) -> AsyncIterator[str]: ...


@dataclass(frozen=True)
class Summary:
    database: str
    blobs: int
    bytes: int


def instance_id(server_key: bytes) -> str:
    """Names the instance (its server key) without revealing anything about the key."""
    return derive(server_key, "backup-instance", size=16).hex()


def _mac(server_key: bytes, manifest: bytes) -> str:
    return derive(server_key, "backup-manifest", manifest).hex()


def _masked_config(cfg: Config) -> bytes:
    path = cfg.data_dir / config_module.CONFIG_NAME
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    for line_url in re.findall(r"postgres(?:ql)?(?:\+asyncpg)?://[^\s\"']+", text):
        text = text.replace(line_url, config_module.redact_url(line_url))
    return text.encode("utf-8")


class _Writer:
    """Adds members to the tar and keeps their hashes for the manifest."""

    def __init__(self, tar: tarfile.TarFile, when: datetime) -> None:
        self.tar = tar
        self.when = when.timestamp()
        self.entries: list[dict[str, Any]] = []

    def add(self, name: str, size: int, stream: IO[bytes]) -> None:
        digest = hashlib.sha256()
        hashing = _HashingReader(stream, digest)
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = size, 0o600, int(self.when)
        self.tar.addfile(info, hashing)
        if hashing.read_bytes != size:
            raise InvalidInput(f"{name} changed size while it was being backed up; run the backup again.")
        self.entries.append({"name": name, "size": size, "sha256": digest.hexdigest()})

    def add_bytes(self, name: str, data: bytes) -> None:
        import io

        self.add(name, len(data), io.BytesIO(data))


class _HashingReader:
    def __init__(self, stream: IO[bytes], digest: Any) -> None:
        self.stream, self.digest, self.read_bytes = stream, digest, 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.digest.update(data)
        self.read_bytes += len(data)
        return data


async def backup(cfg: Config, blobs: BlobStore, out: Path, progress: Progress) -> Summary:
    """Write the archive to ``out`` (refused when it exists); nothing is left behind on failure."""
    partial = _prepare_out(out)
    kind = snapshot.kind(cfg.database_url)
    engine = make_engine(cfg.database_url)
    try:
        revision = await migrate.current_revision(engine)
    finally:
        await engine.dispose()
    with tempfile.TemporaryDirectory(prefix="isecom-backup-") as scratch:
        db_file = Path(scratch) / _DB_FILE[kind]
        if kind == "sqlite":
            chunks = snapshot.sqlite_snapshot(cfg.database_url, db_file)
        else:
            chunks = await snapshot.pg_snapshot(cfg.database_url, db_file)
        db_size = db_file.stat().st_size
        grand = db_size + sum(size for _, _, size in chunks)
        progress("database snapshot taken", db_size, grand)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        total = 0
        try:
            with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
                writer = _Writer(tar, datetime.now(UTC))
                writer.add_bytes("config/isecom.toml", _masked_config(cfg))
                root_pub = cfg.data_dir / "root.pub"
                if root_pub.exists():
                    writer.add_bytes("config/root.pub", root_pub.read_bytes())
                with db_file.open("rb") as handle:
                    writer.add(f"database/{db_file.name}", db_file.stat().st_size, handle)
                for file_id, index, _ in chunks:
                    name = blob_id(file_id, index)
                    try:
                        data = b"".join([part async for part in blobs.get(name)])
                    except NotFound:
                        raise InvalidInput(f"blob {name} was deleted while backing up; run the backup again.") from None
                    writer.add_bytes(f"blobs/{name}", data)
                    total += len(data)
                    progress(f"blobs ({len(chunks)})", db_size + total, grand)
                manifest = json.dumps(
                    {
                        "format": FORMAT,
                        "created_at": datetime.now(UTC).isoformat(),
                        "instance": instance_id(cfg.server_key),
                        "database": kind,
                        "pg_schema": snapshot.pg_schema(cfg.database_url) if kind == "postgresql" else None,
                        "schema_revision": revision,
                        "members": writer.entries,
                    },
                    indent=1,
                    sort_keys=True,
                ).encode("utf-8")
                writer.add_bytes(MANIFEST, manifest)
                writer.add_bytes(MAC, _mac(cfg.server_key, manifest).encode("ascii"))
                raw.flush()
                os.fsync(raw.fileno())
            os.replace(partial, out)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    return Summary(kind, len(chunks), total)


def _prepare_out(out: Path) -> Path:
    if out.exists():
        raise InvalidInput(f"{out} already exists; choose another file.")
    out.parent.mkdir(parents=True, exist_ok=True)
    return out.with_name(out.name + ".partial")


def _valid_blob(name: str) -> bool:
    try:
        check_blob_id(name)
    except InvalidInput:
        return False
    return True


def _hash_member(tar: tarfile.TarFile, member: tarfile.TarInfo) -> str:
    handle = tar.extractfile(member)
    if handle is None:
        raise InvalidInput(f"the archive is damaged or was changed: {member.name} is not a file.")
    digest = hashlib.sha256()
    while data := handle.read(_READ):
        digest.update(data)
    return digest.hexdigest()


def verify(cfg: Config, archive: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Check the MAC and every member's size and SHA-256; return the manifest and the config
    members (small). Writes nothing."""
    refused = f"{archive} is not an intact isecom backup of this instance"
    try:
        tar = tarfile.open(archive, mode="r:")  # noqa: SIM115 - the with below closes it
    except (OSError, tarfile.TarError) as exc:
        raise InvalidInput(f"{refused}: {exc}") from None
    with tar:
        seen: dict[str, tuple[int, str]] = {}
        special: dict[str, bytes] = {}
        try:
            for member in tar:
                if member.name in seen or member.name in special:
                    raise InvalidInput(f"{refused}: {member.name} appears twice.")
                if not member.isreg():
                    raise InvalidInput(f"{refused}: {member.name} is not a plain file.")
                if member.name in (MANIFEST, MAC):
                    handle = tar.extractfile(member)
                    special[member.name] = handle.read(16 * 1024 * 1024) if handle else b""
                    continue
                if not _NAME.fullmatch(member.name) or (
                    member.name.startswith("blobs/") and not _valid_blob(member.name.removeprefix("blobs/"))
                ):
                    raise InvalidInput(f"{refused}: unexpected member {member.name!r}.")
                seen[member.name] = (member.size, _hash_member(tar, member))
                if member.name.startswith("config/") and member.size <= 1024 * 1024:
                    handle = tar.extractfile(member)
                    special[member.name] = handle.read() if handle else b""
        except (OSError, tarfile.TarError, EOFError) as exc:
            raise InvalidInput(f"{refused}: the archive is truncated or damaged ({exc}).") from None
    if MANIFEST not in special or MAC not in special:
        raise InvalidInput(f"{refused}: the manifest is missing (truncated archive?).")
    body = special[MANIFEST]
    try:
        manifest = json.loads(body)
        instance = manifest["instance"]
        entries = {e["name"]: (int(e["size"]), str(e["sha256"])) for e in manifest["members"]}
    except (ValueError, KeyError, TypeError):
        raise InvalidInput(f"{refused}: the manifest cannot be read.") from None
    if manifest.get("format") != FORMAT:
        raise InvalidInput(f"{refused}: unknown format {manifest.get('format')!r}.")
    if instance != instance_id(cfg.server_key):
        raise ConfigError(
            f"{archive} was made by an instance with another server key: put that instance's "
            f"secrets/server.key in {cfg.data_dir / 'secrets'} (secrets are never in backups) and try again."
        )
    if not equal(special[MAC].strip(), _mac(cfg.server_key, body).encode("ascii")):
        raise InvalidInput(f"{refused}: the manifest's MAC does not match (the archive was changed).")
    for name in sorted(set(entries) | set(seen)):
        if entries.get(name) != seen.get(name):
            raise InvalidInput(f"{refused}: {name} does not match its SHA-256 in the manifest.")
    small = {name: data for name, data in special.items() if name.startswith("config/") and name in seen}
    if any(hashlib.sha256(data).hexdigest() != seen[name][1] for name, data in small.items()):
        raise InvalidInput(f"{refused}: the archive changed while it was read.")
    return dict(manifest), small


async def _hashed(source: IO[bytes], digest: Any) -> AsyncIterator[bytes]:
    while data := source.read(_READ):
        digest.update(data)
        yield data


async def restore(cfg: Config, blobs: ListableBlobs, archive: Path, progress: Progress) -> Summary:
    """Bring a verified archive back into an EMPTY instance (refuses one that holds data)."""
    manifest, config_files = verify(cfg, archive)
    grand = sum(int(e["size"]) for e in manifest["members"])
    progress(f"verified {len(manifest['members'])} members", 0, grand)
    kind = snapshot.kind(cfg.database_url)
    if manifest["database"] != kind:
        raise ConfigError(
            f"the backup holds a {manifest['database']} database but database.url is {kind}; "
            "restore into the same kind of database (then move data with the usual tools)"
        )
    if kind == "postgresql" and manifest["pg_schema"] != snapshot.pg_schema(cfg.database_url):
        raise ConfigError(
            f"the backup is of PostgreSQL schema {manifest['pg_schema'] or 'public (the database)'}; "
            "database.url must name the same schema (?schema=NAME) in an empty database"
        )
    if f"database/{_DB_FILE[kind]}" not in {e["name"] for e in manifest["members"]}:
        raise InvalidInput(f"{archive} is not an intact isecom backup of this instance: it holds no database.")
    if not await snapshot.is_empty(cfg.database_url):
        raise ConfigError(
            f"the database at {cfg.describe()['database']} already holds data: restore only into an "
            "empty instance (a new database after `isecom init`), so nothing is overwritten"
        )
    async for _ in blobs.ids():
        raise ConfigError(
            f"the blob store ({cfg.describe()['blobs']}) already holds blobs: restore only into an empty instance"
        )
    root_pub = cfg.data_dir / "root.pub"
    saved_pub = config_files.get("config/root.pub", b"").strip()
    if saved_pub and (not root_pub.exists() or root_pub.read_bytes().strip() != saved_pub):
        raise ConfigError(
            f"{root_pub} is not the root key of the backed-up instance: copy that instance's root.pub "
            f"and secrets/ (kept together, apart from backups) into {cfg.data_dir}"
        )
    expected = {e["name"]: e for e in manifest["members"]}
    count = total = done = 0
    with tarfile.open(archive, mode="r:") as tar, tempfile.TemporaryDirectory(prefix="isecom-restore-") as scratch:
        for member in tar:
            if member.name in (MANIFEST, MAC) or member.name.startswith("config/"):
                continue
            handle = tar.extractfile(member)
            if handle is None:  # verify() refused anything but plain files
                raise InvalidInput(f"{member.name} changed during the restore; start again from an empty instance.")
            digest = hashlib.sha256()
            if member.name.startswith("blobs/"):
                name = member.name.removeprefix("blobs/")
                await blobs.put(name, _hashed(handle, digest), max_bytes=member.size)
                count += 1
                total += member.size
            else:
                with (Path(scratch) / Path(member.name).name).open("wb") as staged:
                    while data := handle.read(_READ):
                        digest.update(data)
                        staged.write(data)
            done += member.size
            progress("restoring", done, grand)
            if digest.hexdigest() != expected[member.name]["sha256"]:
                raise InvalidInput(f"{member.name} changed during the restore; start again from an empty instance.")
        if "config/isecom.toml" in config_files:
            (cfg.data_dir / "isecom.toml.from-backup").write_bytes(config_files["config/isecom.toml"])
        if kind == "sqlite":
            snapshot.restore_sqlite(cfg.database_url, Path(scratch) / _DB_FILE[kind])
        else:
            await snapshot.restore_pg(cfg.database_url, Path(scratch) / _DB_FILE[kind])
    progress(f"database restored ({kind}, schema {manifest['schema_revision']})", grand, grand)
    return Summary(kind, count, total)

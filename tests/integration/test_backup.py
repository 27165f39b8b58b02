"""``isecom backup`` / ``isecom restore``: a populated instance is backed up, destroyed and restored,
and every message and evidence file still opens and verifies with the members' own keys.

Runs on SQLite and (with ISECOM_TEST_DATABASE_URL) on PostgreSQL, where the restore goes into a
freshly created database named for the test (dropped afterwards), and with the blobs in files
and in an S3 bucket (moto's server on loopback).
"""

from __future__ import annotations

import io
import json
import secrets
import shutil
import subprocess
import tarfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from isecom import app as composition
from isecom import backup, config, instance
from isecom.client import Client
from isecom.client import files as clientfiles
from isecom.client import mail as mailclient
from isecom.client.keyring import KeyRing
from isecom.config import Config
from isecom.context import Context
from isecom.crypto.attachments import Descriptor
from isecom.errors import ConfigError, InvalidInput
from isecom.services import keydir, members
from storage.db import make_engine
from storage.store import SqlStore
from tests.conftest import ISECOM, REPO, FakeClock, free_port, pg_schema, postgres_url
from tests.integration.conftest import PASSWORD
from tests.s3server import make_bucket, s3_endpoint  # noqa: F401 - a fixture

PEOPLE = [
    ("amara.diallo@isecom.example", "Amara Diallo", "SN"),
    ("bao.nguyen@isecom.example", "Bao Nguyen", "VN"),
    ("clara.weiss@isecom.example", "Clara Weiss", "AT"),
]


@dataclass
class Live:
    cfg: Config
    context: Context
    url: str


@asynccontextmanager
async def serving(cfg: Config, clock: FakeClock, port: int) -> AsyncIterator[Live]:
    """The instance's web app on ``port`` (the same public URL before and after the restore)."""
    await composition.check_database(cfg, upgrade=True)
    store = SqlStore(make_engine(cfg.database_url))
    async with composition.open_blobs(cfg) as blobs:
        context = Context(config=cfg, store=store, blobs=blobs, clock=clock)
        server = TestServer(composition.build_web_app(context), host="127.0.0.1", port=port)
        await server.start_server()
        try:
            yield Live(cfg, context, cfg.public_url)
        finally:
            await server.close()
            await store.close()


async def sign_in(live: Live, clock: FakeClock, email: str, totp: str) -> Client:
    from isecom.auth import two_factor

    client = Client(live.url)
    await client.sign_in(email, PASSWORD, two_factor.code_at(totp, clock.now()))
    return client


def ring(cfg: Config) -> KeyRing:
    return KeyRing(root_pk=cfg.root_pk, origin=cfg.public_url)


@pytest.fixture(params=["files", "s3"])
async def blob_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    """(source URL, restore-target URL). PostgreSQL: the source is a schema of the test database;
    the target is a new database named for this test, with the same schema name, dropped after."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'a' / 'isecom.db'}", f"sqlite+aiosqlite:///{tmp_path / 'b' / 'x.db'}"
        return
    base = postgres_url()
    if not base:
        pytest.skip("PostgreSQL tests need ISECOM_TEST_DATABASE_URL (CI sets it; see README)")
    async with pg_schema(base) as source:
        name = f"isecom_restore_{secrets.token_hex(5)}"
        admin = create_async_engine(
            base.replace("postgresql://", "postgresql+asyncpg://", 1), isolation_level="AUTOCOMMIT"
        )
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        target = make_url(source).set(database=name).render_as_string(hide_password=False)
        maker = create_async_engine(make_url(target).difference_update_query(["schema"]))
        async with maker.begin() as conn:  # the operator's empty schema, as for `isecom init`
            await conn.execute(text(f'CREATE SCHEMA "{make_url(source).query["schema"]}"'))
        await maker.dispose()
        try:
            yield source, target
        finally:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await admin.dispose()


def new_instance(path: Path, url: str, object_store: config.ObjectStore | None, port: int) -> Config:
    instance.create(path)
    cfg = config.load(path, env={})
    return replace(cfg, database_url=url, object_store=object_store, public_url=f"http://127.0.0.1:{port}")


async def test_backup_destroy_restore_every_message_and_file_still_opens(
    tmp_path: Path, clock: FakeClock, database: tuple[str, str], blob_backend: str, request: pytest.FixtureRequest
) -> None:
    source_url, target_url = database
    endpoint = request.getfixturevalue("s3_endpoint") if blob_backend == "s3" else ""
    port = free_port()
    cfg_a = new_instance(tmp_path / "a", source_url, await make_bucket(endpoint) if endpoint else None, port)
    evidence = tmp_path / "statement.pdf"
    evidence.write_bytes(secrets.token_bytes(3 * 64 * 1024 + 11))
    totps: dict[str, str] = {}
    async with serving(cfg_a, clock, port) as live:
        clients = []
        for email, name, country in PEOPLE:
            new = members.NewMember.parse(email=email, name=name, country=country, agency="Demo ARO", roles=[])
            invitation = await members.create_member(live.context.store, clock, cfg_a.server_key, new, actor=None)
            client = Client(live.url)
            done = await client.activate(invitation.activation_token, PASSWORD, now=clock.now())
            totps[email] = done.totp_secret
            clock.advance(seconds=30)
            await client.sign_in(email, PASSWORD, two_factor_code(done.totp_secret, clock))
            clients.append(client)
        await keydir.sign_checkpoint(live.context.store, clock, live.context.authority)
        a, b, c = clients
        prepared = clientfiles.prepare(evidence, chunk_size=64 * 1024)
        file_id = await clientfiles.upload(a, prepared)
        with_file = await mailclient.send(
            a,
            ring(cfg_a),
            mailclient.Draft(
                to=[PEOPLE[1][0], PEOPLE[2][0]],
                subject="Freeze request: account ending 0042",
                body="Statements attached.",
                attachments=[prepared.descriptor.to_json()],
            ),
            files=[file_id],
        )
        reply = await mailclient.send(
            b, ring(cfg_a), mailclient.Draft(to=[PEOPLE[0][0]], subject="Re: Freeze request", body="Frozen at 14:02.")
        )
        for client in clients:
            await client.close()
        archive = tmp_path / "backups" / "isecom.tar"
        steps: list[tuple[str, int, int]] = []
        summary = await backup.backup(cfg_a, live.context.blobs, archive, lambda *step: steps.append(step))
    assert summary.blobs == prepared.descriptor.n_chunks == 4
    assert steps[-1][1] == steps[-1][2] > summary.bytes > evidence.stat().st_size  # the bar ends full
    assert [done for _, done, _ in steps] == sorted(done for _, done, _ in steps)
    assert archive.stat().st_mode & 0o077 == 0

    # Destroy the instance: its data folder (database, blobs, config) goes; the secrets were kept apart.
    kept = tmp_path / "kept-secrets"
    shutil.copytree(cfg_a.data_dir / "secrets", kept)
    shutil.copyfile(cfg_a.data_dir / "root.pub", kept / "root.pub")
    shutil.rmtree(cfg_a.data_dir)

    # A new, empty instance with the same public URL and the original secrets put back.
    cfg_b = new_instance(tmp_path / "b", target_url, await make_bucket(endpoint) if endpoint else None, port)
    shutil.rmtree(cfg_b.data_dir / "secrets")
    shutil.copytree(kept, cfg_b.data_dir / "secrets")
    shutil.move(cfg_b.data_dir / "secrets" / "root.pub", cfg_b.data_dir / "root.pub")
    cfg_b = replace(
        config.load(cfg_b.data_dir, env={}),
        database_url=target_url,
        object_store=cfg_b.object_store,
        public_url=cfg_b.public_url,
    )
    await composition.check_database(cfg_b, upgrade=True)  # `isecom init` made the empty schema
    async with composition.open_blobs(cfg_b) as blobs:
        steps.clear()
        restored = await backup.restore(cfg_b, blobs, archive, lambda *step: steps.append(step))
        assert (restored.blobs, restored.bytes) == (4, summary.bytes)
        assert steps[-1][1] == steps[-1][2]
        with pytest.raises(ConfigError, match="already holds"):  # a second restore would overwrite
            await backup.restore(cfg_b, blobs, archive, lambda *_: None)
    assert (cfg_b.data_dir / "isecom.toml.from-backup").exists()

    clock.advance(seconds=60)  # the TOTP steps spent before the backup stay spent after it
    async with serving(cfg_b, clock, port) as live:
        a = await sign_in(live, clock, PEOPLE[0][0], totps[PEOPLE[0][0]])
        b = await sign_in(live, clock, PEOPLE[1][0], totps[PEOPLE[1][0]])
        c = await sign_in(live, clock, PEOPLE[2][0], totps[PEOPLE[2][0]])
        try:
            for reader, folder in ((b, "b"), (c, "c")):
                opened = await mailclient.read(reader, ring(cfg_b), with_file)
                assert opened.payload["subject"] == "Freeze request: account ending 0042"
                [descriptor] = opened.payload["attachments"]
                out = tmp_path / "downloads" / folder
                out.mkdir(parents=True)
                saved = await clientfiles.download(reader, Descriptor.from_json(descriptor), out)
                assert saved.path.read_bytes() == evidence.read_bytes()
            answer = await mailclient.read(a, ring(cfg_b), reply)
            assert answer.payload["body"] == "Frozen at 14:02."
        finally:
            for client in (a, b, c):
                await client.close()


def two_factor_code(secret: str, clock: FakeClock) -> str:
    from isecom.auth import two_factor

    return two_factor.code_at(secret, clock.now())


# --- Integrity and refusals through the command line (SQLite, files) ----------------------------


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ISECOM, *args], capture_output=True, text=True, cwd=REPO, timeout=120, check=False)


@pytest.fixture(scope="module")
def backed_up(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An instance with the demo members and its backup (read-only for the tests that use it)."""
    tmp_path = tmp_path_factory.mktemp("backed-up")
    data = tmp_path / "data"
    assert run("init", "--data", str(data)).returncode == 0
    assert run("demo", "--data", str(data)).returncode == 0
    out = tmp_path / "isecom.tar"
    done = run("backup", "--data", str(data), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "backup written" in done.stdout
    return data, out


def fresh_with_secrets_of(source: Path, target: Path) -> None:
    assert run("init", "--data", str(target)).returncode == 0
    shutil.rmtree(target / "secrets")
    shutil.copytree(source / "secrets", target / "secrets")
    shutil.copyfile(source / "root.pub", target / "root.pub")


def test_cli_refuses_a_non_empty_instance_and_restores_into_an_empty_one(
    backed_up: tuple[Path, Path], tmp_path: Path
) -> None:
    data, archive = backed_up
    refused = run("restore", "--data", str(data), "--in", str(archive))
    assert refused.returncode == 1 and "already holds data" in refused.stderr
    other = tmp_path / "other"
    assert run("init", "--data", str(other)).returncode == 0
    foreign = run("restore", "--data", str(other), "--in", str(archive))
    assert foreign.returncode == 1 and "another server key" in foreign.stderr
    target = tmp_path / "restored"
    fresh_with_secrets_of(data, target)
    done = run("restore", "--data", str(target), "--in", str(archive))
    assert done.returncode == 0, done.stderr
    assert "every SHA-256 and the MAC verified" in done.stdout
    # The demo members are back: loading the demo again finds them all present.
    again = run("demo", "--data", str(target))
    assert again.returncode == 0 and "0 members created" in again.stdout


def _rewrite(archive: Path, out: Path, change: str) -> None:
    """Copy the archive, altering it the way an attacker or a bad disk would."""
    with tarfile.open(archive) as src, tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as dst:
        for member in src:
            handle = src.extractfile(member)
            data = handle.read() if handle else b""
            if change == "flip-db" and member.name.startswith("database/"):
                data = data[:100] + bytes([data[100] ^ 1]) + data[101:]
            if change == "fix-manifest" and member.name == backup.MANIFEST:
                manifest = json.loads(data)
                manifest["members"] = [m for m in manifest["members"] if m["name"] != "config/root.pub"]
                data = json.dumps(manifest).encode()
            if change == "drop-root" and member.name == "config/root.pub":
                continue
            if change == "truncate" and member.name == backup.MAC:
                break
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
        if change == "extra":
            info = tarfile.TarInfo("blobs/planted")
            info.size = 3
            dst.addfile(info, io.BytesIO(b"bad"))


@pytest.mark.parametrize("change", ["flip-db", "fix-manifest", "drop-root", "truncate", "extra"])
def test_a_tampered_archive_is_refused_before_anything_is_written(
    backed_up: tuple[Path, Path], tmp_path: Path, change: str
) -> None:
    data, archive = backed_up
    tampered = tmp_path / f"{change}.tar"
    _rewrite(archive, tampered, change)
    target = tmp_path / "restored"
    fresh_with_secrets_of(data, target)
    refused = run("restore", "--data", str(target), "--in", str(tampered))
    assert refused.returncode == 1
    assert "not an intact isecom backup" in refused.stderr
    assert not (target / "isecom.toml.from-backup").exists()
    assert [p for p in (target / "blobs").rglob("*") if p.is_file()] == []


async def test_verify_names_the_damaged_member(backed_up: tuple[Path, Path], tmp_path: Path) -> None:
    data, archive = backed_up
    tampered = tmp_path / "flip.tar"
    _rewrite(archive, tampered, "flip-db")
    cfg = config.load(data, env={})
    with pytest.raises(InvalidInput, match=r"database/sqlite\.db does not match its SHA-256"):
        backup.verify(cfg, tampered)
    manifest, files = backup.verify(cfg, archive)
    assert manifest["database"] == "sqlite" and "config/isecom.toml" in files


def test_a_database_password_in_the_config_is_masked(tmp_path: Path) -> None:
    data = tmp_path / "data"
    instance.create(data)
    toml = data / "isecom.toml"
    toml.write_text(
        toml.read_text().replace(
            'url = "sqlite:///isecom.db"', 'url = "postgresql://isecom:fictional-db-pass@db.example.org/isecom"'
        )
    )
    masked = backup._masked_config(config.load(data, env={})).decode()
    assert "fictional-db-pass" not in masked
    assert "postgresql://isecom:***@db.example.org/isecom" in masked

"""The platform root key offline: activations wait for its signature, which is made elsewhere and imported."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from isecom import config
from isecom.client import ClientError
from isecom.client.keyring import KeyRing
from isecom.config import Config
from isecom.services import keyaudit, keydir, members
from tests.conftest import run_cli
from tests.integration.conftest import PASSWORD, Instance


@pytest.fixture
def cfg(data_dir: Path) -> Config:
    """An instance whose root key is not on the server (as after `isecom keys root export --remove`)."""
    return replace(config.load(data_dir, env={}), root_seed=None)


async def _root(instance: Instance, *args: str) -> tuple[int, str]:
    """``isecom keys root ARGS`` as an operator runs it, against this instance's data directory."""
    env = {"ISECOM_SERVER_PUBLIC_URL": instance.cfg.public_url}
    result = await asyncio.to_thread(run_cli, "keys", "root", *args, env=env)
    return result.returncode, result.stdout + result.stderr


async def test_activation_waits_for_the_offline_roots_signature(instance: Instance, tmp_path: Path) -> None:
    new = members.NewMember.parse(
        email="ines.duarte@isecom.example", name="Inês Duarte", country="PT", agency="Demo PJ", roles=["ncb_head"]
    )
    invitation = await members.create_member(
        instance.context.store, instance.clock, instance.cfg.server_key, new, actor=None
    )
    async with instance.client() as client:
        done = await client.activate(invitation.activation_token, PASSWORD, now=instance.clock.now())
    instance.clock.advance(seconds=30)
    await keydir.sign_checkpoint(instance.context.store, instance.clock, instance.context.authority)
    async with instance.client() as client:
        await client.sign_in("ines.duarte@isecom.example", PASSWORD, instance.code(done.totp_secret))
        with pytest.raises(ClientError) as unpublished:
            await client.get(f"/keys/v1/members/{done.member['id']}")
        assert unpublished.value.status == 404  # nothing in the log until the root has signed

        data = str(instance.cfg.data_dir)
        requests, signatures = tmp_path / "requests.json", tmp_path / "signatures.json"
        code, out = await _root(instance, "requests", "--data", data, "--out", str(requests))
        assert code == 0 and "3 request(s)" in out, out  # the log key, the approval, the NCB head's certificate
        # A key that is not the root signs: refused by `sign` (wrong key for these requests) ...
        other = tmp_path / "other.key"
        other.write_text(os.urandom(32).hex() + "\n", encoding="ascii")
        other.chmod(0o600)
        code, out = await _root(instance, "sign", "--key", str(other), "--in", str(requests), "--out", str(signatures))
        assert code == 1 and "another root key" in out
        # ... and a forged signature file is refused by `import-signature`, all or nothing.
        doc = json.loads(requests.read_text())
        forged = {
            "format": doc["format"],
            "root_key": doc["root_key"],
            "signatures": [{"id": r["id"], "signature": "A" * 86} for r in doc["requests"]],
        }
        signatures.write_text(json.dumps(forged))
        code, out = await _root(instance, "import-signature", "--data", data, "--in", str(signatures))
        assert code == 1 and "not made by the platform root key" in out
        signatures.unlink()
        # Where the root key is: sign, after seeing what each request vouches for.
        root_key = instance.cfg.data_dir / "secrets" / "root.key"
        code, out = await _root(
            instance, "sign", "--key", str(root_key), "--in", str(requests), "--out", str(signatures)
        )
        assert code == 0 and "approve member" in out and "as NCB head" in out and "key log of" in out, out
        code, out = await _root(instance, "import-signature", "--data", data, "--in", str(signatures))
        assert code == 0 and "3 signature(s) checked; 2 group(s) published; 0 still waiting" in out, out

        await keydir.sign_checkpoint(instance.context.store, instance.clock, instance.context.authority)
        ring = KeyRing(root_pk=instance.cfg.root_pk, origin=instance.cfg.public_url)
        verified = await ring.fetch(client, member_id=done.member["id"])
        assert verified.keys.sig_pk == done.identity.sig_pk and verified.approval.name == "Inês Duarte"
        assert [c.role.name for c in verified.certificates] == ["NCB_HEAD"]
    verdict = await keyaudit.audit_log(instance.context.store, instance.context.authority)
    assert verdict.intact, verdict.problem


def test_export_removes_the_root_key_and_import_brings_it_back(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run_cli("init", data=data).returncode == 0
    before = config.load(data, env={})
    assert before.root_seed is not None
    out = tmp_path / "root-offline.key"
    result = run_cli("keys", "root", "export", "--out", str(out), "--remove", data=data)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert not (data / "secrets" / "root.key").exists()
    assert config.load(data, env={}).root_seed is None
    again = run_cli("keys", "root", "export", "--out", str(tmp_path / "x.key"), data=data)
    assert again.returncode == 1 and "not on this server" in again.stderr
    assert run_cli("keys", "root", "import", "--key", str(out), data=data).returncode == 0
    assert config.load(data, env={}).root_seed == before.root_seed

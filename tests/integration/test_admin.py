"""Administrators suspend, reinstate, expire and revoke memberships; bulk onboarding from CSV."""

from __future__ import annotations

from pathlib import Path

import pytest

from isecom.client import ClientError
from isecom.services import audit
from tests.conftest import run_cli
from tests.integration.conftest import PASSWORD, Instance, activated, signed_in_member


async def test_admin_suspends_and_reinstates_and_the_member_is_signed_out(instance: Instance) -> None:
    secret = await activated(instance)
    admin = await signed_in_member(
        instance,
        "ada.admin@isecom.example",
        name="Ada Admin",
        country="FR",
        agency="Demo Platform Operations",
        roles=["admin"],
    )
    instance.clock.advance(seconds=30)
    try:
        async with instance.client() as member:
            signed = await member.sign_in("mei.tan@isecom.example", PASSWORD, instance.code(secret))
            path = f"/api/v1/admin/members/{signed.member['id']}"
            with pytest.raises(ClientError) as caught:  # a member is not an administrator
                await member._call("POST", f"{path}/suspend", {"reason": "testing"})
            assert caught.value.status == 403
            with pytest.raises(ClientError) as caught:
                await admin._call("POST", f"{path}/suspend", {})
            assert caught.value.status == 400
            done = await admin._call("POST", f"{path}/suspend", {"reason": "Left the agency (fictional)."})
            assert done["member"]["status"] == "suspended"
            with pytest.raises(ClientError) as caught:
                await member.session()
            assert caught.value.status == 401
            with pytest.raises(ClientError) as caught:  # cannot suspend twice
                await admin._call("POST", f"{path}/suspend", {"reason": "again"})
            assert caught.value.status == 409
            await admin._call("POST", f"{path}/reinstate", {"reason": "Back in post."})
        instance.clock.advance(seconds=30)
        async with instance.client() as member:
            await member.sign_in("mei.tan@isecom.example", PASSWORD, instance.code(secret))
        await admin._call("POST", f"{path}/revoke", {"reason": "Membership withdrawn."})
        with pytest.raises(ClientError) as caught:
            await admin._call("POST", f"{path}/reinstate", {"reason": "no"})
        assert caught.value.status == 409
        with pytest.raises(ClientError) as caught:
            await admin._call("POST", f"{path}/promote", {"reason": "no"})
        assert caught.value.status == 404
    finally:
        await admin.close()
    async with instance.context.store.transaction() as tx:
        actions = [e.action for e in await tx.audit.recent(30)]
    assert {"membership.suspend", "membership.reinstate", "membership.revoke"} <= set(actions)
    assert (await audit.verify(instance.context.store)).intact


def test_csv_import_is_all_or_nothing_and_prints_links(tmp_path: Path) -> None:
    data = tmp_path / "inst"
    assert run_cli("init", data=data).returncode == 0
    good = tmp_path / "good.csv"
    good.write_text(
        "email,name,country,agency,roles,language\n"
        "ana.silva@isecom.example,Ana Silva,BR,Demo Federal Prosecution Service,,es\n"
        "kofi.mensah@isecom.example,Kofi Mensah,GH,Demo Economic Crime Office,agency_head;ncb_head,en\n",
        encoding="utf-8",
    )
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "email,name,country,agency\nlee.park@isecom.example,Lee Park,KR,Demo Prosecutors\nbroken,No Mail,KR,X\n",
        encoding="utf-8",
    )
    result = run_cli("admin", "import-members", "--csv", str(bad), data=data)
    assert result.returncode == 1 and "line 3" in result.stderr
    result = run_cli("admin", "import-members", "--csv", str(good), data=data)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("/activate#") == 2
    again = run_cli("admin", "import-members", "--csv", str(good), data=data)
    assert again.returncode == 1 and "already a member" in again.stderr
    suspend = run_cli("admin", "suspend", "--email", "ana.silva@isecom.example", "--reason", "x", data=data)
    assert suspend.returncode == 1 and "cannot be suspended" in suspend.stderr
    revoke = run_cli("admin", "revoke", "--email", "ana.silva@isecom.example", "--reason", "test", data=data)
    assert revoke.returncode == 0 and "revoked" in revoke.stdout
    verify = run_cli("audit", "verify", data=data)
    assert verify.returncode == 0 and "intact: 3 entries" in verify.stdout  # two imports, one revocation


async def test_audit_filter_export_and_own_events(instance: Instance) -> None:
    import csv
    import io

    secret = await activated(instance)
    admin = await signed_in_member(
        instance,
        "ada.admin@isecom.example",
        name="Ada Admin",
        country="FR",
        agency="Demo Platform Operations",
        roles=["admin"],
    )
    try:
        async with instance.client() as member:
            with pytest.raises(ClientError):
                await member.sign_in("mei.tan@isecom.example", "wrong password", instance.code(secret))
            await member.sign_in("mei.tan@isecom.example", PASSWORD, instance.code(secret))
            own = await member._call("GET", "/api/v1/me/security-events")
            assert [e["action"] for e in own["events"]][:3] == ["signin.success", "signin.failure", "member.activated"]
            with pytest.raises(ClientError) as caught:
                await member._call("GET", "/api/v1/admin/audit")
            assert caught.value.status == 403
        found = await admin._call("GET", "/api/v1/admin/audit?action=signin.&limit=50")
        assert {e["action"] for e in found["entries"]} == {"signin.success", "signin.failure"}
        with pytest.raises(ClientError) as caught:
            await admin._call("GET", "/api/v1/admin/audit?since=yesterday")
        assert caught.value.status == 400
        async with admin._http.get(f"{instance.url}/api/v1/admin/audit?format=csv&action=member.") as response:
            assert response.status == 200 and response.content_type == "text/csv"
            rows = list(csv.DictReader(io.StringIO(await response.text())))
        assert {r["action"] for r in rows} == {"member.created", "member.activated"}
    finally:
        await admin.close()


async def test_lost_everything_means_new_keys_after_a_fresh_authorization(instance: Instance, tmp_path: Path) -> None:
    import re

    from isecom import app as composition
    from isecom.mailer.transport import DirectorySink

    token = await instance.invite()
    async with instance.client() as client:
        old = await client.activate(token, PASSWORD, now=instance.clock.now())
    admin = await signed_in_member(
        instance,
        "ada.admin@isecom.example",
        name="Ada Admin",
        country="FR",
        agency="Demo Platform Operations",
        roles=["admin"],
    )
    mailer = composition.make_mailer(instance.context)
    mailer.transport = DirectorySink(tmp_path / "sink")
    try:
        await admin._call(
            "POST",
            f"/api/v1/admin/members/{old.member['id']}/reset-keys",
            {"reason": "Lost laptop, password and recovery code (fictional)."},
        )
    finally:
        await admin.close()
    await mailer.deliver_due()
    [mail] = [p.read_text() for p in (tmp_path / "sink").glob("*.eml") if "mei.tan" in p.read_text()]
    assert "can no longer be opened" in mail
    new_token = re.search(r"/activate#([A-Za-z0-9_-]{43})", mail)
    assert new_token
    instance.clock.advance(seconds=30)
    async with instance.client() as client:
        with pytest.raises(ClientError):  # the old password opens nothing any more
            await client.sign_in("mei.tan@isecom.example", PASSWORD, instance.code(old.totp_secret))
        fresh = await client.activate(new_token.group(1), "a brand new fictional passphrase", now=instance.clock.now())
    assert fresh.identity.sig_pk != old.identity.sig_pk


async def test_repeated_failures_are_mailed_to_the_member(instance: Instance, tmp_path: Path) -> None:
    from isecom import app as composition
    from isecom.mailer.transport import DirectorySink

    secret = await activated(instance)
    mailer = composition.make_mailer(instance.context)
    mailer.transport = DirectorySink(tmp_path / "sink")
    for _ in range(7):
        async with instance.client() as client:
            with pytest.raises(ClientError):
                await client.sign_in("mei.tan@isecom.example", "wrong password", instance.code(secret))
    await mailer.deliver_due()
    mails = [p.read_text() for p in (tmp_path / "sink").glob("*.eml")]
    assert len(mails) == 1 and "failed attempts to sign in" in mails[0]

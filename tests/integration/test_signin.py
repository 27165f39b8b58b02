"""Activation and sign-in over HTTP, driven by the Python client (isecom.client), on a controlled clock."""

from __future__ import annotations

import aiohttp
import pytest

from isecom.client import Client, ClientError
from tests.integration.conftest import PASSWORD, Instance, activated


async def test_activate_then_sign_in_unlocks_the_same_keys(instance: Instance) -> None:
    token = await instance.invite()
    async with instance.client() as client:
        done = await client.activate(token, PASSWORD, now=instance.clock.now())
        assert done.member["status"] == "active"
        with pytest.raises(ClientError) as again:
            await client.activate(token, PASSWORD, now=instance.clock.now())
        assert again.value.status == 410  # single use
    instance.clock.advance(seconds=30)
    async with instance.client() as client:
        signed = await client.sign_in("Mei.Tan@isecom.example", PASSWORD, instance.code(done.totp_secret))
        assert signed.identity == done.identity  # the bundle unwraps to the keys made at activation
        assert (await client.session())["member"]["email"] == "mei.tan@isecom.example"
        listed = await client.sessions()
        assert len(listed) == 1 and listed[0]["current"]


async def test_the_server_stores_nothing_that_opens_the_account(instance: Instance) -> None:
    """Invariant 2: a full copy of the database holds neither the password nor the key-wrapping key."""
    from isecom.crypto import keys
    from isecom.crypto.encoding import b64d

    secret = await activated(instance)
    async with instance.client() as client:
        signed = await client.sign_in("mei.tan@isecom.example", PASSWORD, instance.code(secret))
        pre = await client._call("POST", "/api/v1/auth/prelogin", {"username": "mei.tan@isecom.example"})
    derived = keys.derive_password_keys(PASSWORD, b64d(pre["salt"]), pre["params"])
    database = (instance.cfg.data_dir / "isecom.db").read_bytes()
    for wal in instance.cfg.data_dir.glob("isecom.db-wal"):
        database += wal.read_bytes()
    for secret_bytes in (
        PASSWORD.encode(),
        derived.kek,
        derived.auth_seed,
        signed.identity.sig_seed,
        signed.identity.current.sk,
        secret.encode(),
    ):
        assert secret_bytes not in database


async def test_wrong_password_unknown_user_and_bad_code_look_the_same(instance: Instance) -> None:
    secret = await activated(instance)
    answers = []
    for email, password, code in (
        ("mei.tan@isecom.example", "wrong password", instance.code(secret)),
        ("nobody@isecom.example", PASSWORD, instance.code(secret)),
        ("mei.tan@isecom.example", PASSWORD, "000000"),
    ):
        async with instance.client() as client:
            with pytest.raises(ClientError) as caught:
                await client.sign_in(email, password, code)
            answers.append((caught.value.status, caught.value.code, caught.value.message))
    assert len(set(answers)) == 1 and answers[0][0] == 401


async def test_unknown_users_get_a_stable_salt_of_the_same_shape(instance: Instance) -> None:
    await activated(instance)
    async with instance.client() as client:
        known = await client._call("POST", "/api/v1/auth/prelogin", {"username": "mei.tan@isecom.example"})
        ghost = await client._call("POST", "/api/v1/auth/prelogin", {"username": "ghost@isecom.example"})
        again = await client._call("POST", "/api/v1/auth/prelogin", {"username": "ghost@isecom.example"})
    assert set(known) == set(ghost) and known["params"] == ghost["params"]
    assert ghost["salt"] == again["salt"] and ghost["challenge_id"] != again["challenge_id"]
    assert len(ghost["salt"]) == len(known["salt"])


async def test_a_totp_code_is_accepted_once(instance: Instance) -> None:
    secret = await activated(instance)
    code = instance.code(secret)
    async with instance.client() as client:
        await client.sign_in("mei.tan@isecom.example", PASSWORD, code)
    async with instance.client() as client:
        with pytest.raises(ClientError) as caught:
            await client.sign_in("mei.tan@isecom.example", PASSWORD, code)
    assert caught.value.status == 401


async def test_a_challenge_is_single_use(instance: Instance) -> None:
    from isecom.crypto import keys
    from isecom.crypto.encoding import b64d, b64e

    secret = await activated(instance)
    async with instance.client() as client:
        pre = await client._call("POST", "/api/v1/auth/prelogin", {"username": "mei.tan@isecom.example"})
        derived = keys.derive_password_keys(PASSWORD, b64d(pre["salt"]), pre["params"])
        code = instance.code(secret)
        transcript = keys.login_transcript(
            origin=instance.url,
            username="mei.tan@isecom.example",
            challenge_id=b64d(pre["challenge_id"]),
            challenge=b64d(pre["challenge"]),
            totp_code=code,
        )
        body = {
            "username": "mei.tan@isecom.example",
            "challenge_id": pre["challenge_id"],
            "totp_code": code,
            "proof": b64e(keys.login_proof(derived.auth_seed, transcript)),
        }
        await client._call("POST", "/api/v1/auth/login", body)
        instance.clock.advance(seconds=30)
        body["totp_code"] = instance.code(secret)
        with pytest.raises(ClientError) as caught:
            await client._call("POST", "/api/v1/auth/login", body)  # same challenge, fresh code
    assert caught.value.status == 401


async def test_a_proof_made_for_another_origin_is_refused(instance: Instance) -> None:
    """A phishing site that relays the challenge gets a proof bound to its own origin: useless here."""
    from isecom.crypto import keys
    from isecom.crypto.encoding import b64d, b64e

    secret = await activated(instance)
    async with instance.client() as client:
        pre = await client._call("POST", "/api/v1/auth/prelogin", {"username": "mei.tan@isecom.example"})
        derived = keys.derive_password_keys(PASSWORD, b64d(pre["salt"]), pre["params"])
        code = instance.code(secret)
        transcript = keys.login_transcript(
            origin="https://phish.example",
            username="mei.tan@isecom.example",
            challenge_id=b64d(pre["challenge_id"]),
            challenge=b64d(pre["challenge"]),
            totp_code=code,
        )
        body = {
            "username": "mei.tan@isecom.example",
            "challenge_id": pre["challenge_id"],
            "totp_code": code,
            "proof": b64e(keys.login_proof(derived.auth_seed, transcript)),
        }
        with pytest.raises(ClientError) as caught:
            await client._call("POST", "/api/v1/auth/login", body)
    assert caught.value.status == 401


async def test_throttling_engages_before_the_password_is_checked(instance: Instance) -> None:
    secret = await activated(instance)
    statuses = []
    for _ in range(7):
        async with instance.client() as client:
            try:
                await client.sign_in("mei.tan@isecom.example", "wrong password", instance.code(secret))
            except ClientError as exc:
                statuses.append(exc.status)
    assert statuses[:5] == [401] * 5 and statuses[-1] == 429
    async with instance.client() as client:  # even the right password is refused while blocked
        with pytest.raises(ClientError) as caught:
            await client.sign_in("mei.tan@isecom.example", PASSWORD, instance.code(secret))
    assert caught.value.status == 429
    instance.clock.advance(hours=2)
    async with instance.client() as client:
        await client.sign_in("mei.tan@isecom.example", PASSWORD, instance.code(secret))


async def test_csrf_token_is_required_on_state_changes(instance: Instance) -> None:
    secret = await activated(instance)
    async with instance.client() as client:
        signed = await client.sign_in("mei.tan@isecom.example", PASSWORD, instance.code(secret))
        for token in (None, "0" * 64, signed.csrf_token[::-1]):
            client.csrf_token = token
            with pytest.raises(ClientError) as caught:
                await client.revoke_other_sessions()
            assert caught.value.status == 403
        client.csrf_token = signed.csrf_token
        assert await client.revoke_other_sessions() == 0
        await client.sign_out()
        with pytest.raises(ClientError) as caught:
            await client.session()
        assert caught.value.status == 401


async def test_revoking_a_session_signs_the_other_browser_out(instance: Instance) -> None:
    secret = await activated(instance)
    async with instance.client() as laptop, instance.client() as phone:
        await laptop.sign_in("mei.tan@isecom.example", PASSWORD, instance.code(secret))
        instance.clock.advance(seconds=30)
        await phone.sign_in("mei.tan@isecom.example", PASSWORD, instance.code(secret))
        other = next(s for s in await laptop.sessions() if not s["current"])
        await laptop.revoke_session(other["id"])
        with pytest.raises(ClientError) as caught:
            await phone.session()
        assert caught.value.status == 401
        assert (await laptop.session())["member"]["email"] == "mei.tan@isecom.example"


async def test_idle_sessions_end(instance: Instance) -> None:
    secret = await activated(instance)
    async with instance.client() as client:
        await client.sign_in("mei.tan@isecom.example", PASSWORD, instance.code(secret))
        instance.clock.advance(minutes=31)
        with pytest.raises(ClientError) as caught:
            await client.session()
    assert caught.value.status == 401


async def test_session_cookie_is_strict_and_http_only(instance: Instance) -> None:
    secret = await activated(instance)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        client = Client(instance.url, http=http)
        await client.sign_in("mei.tan@isecom.example", PASSWORD, instance.code(secret))
        cookie = next(c for c in http.cookie_jar if c.key == "isecom_session")
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/"


async def test_audit_records_the_story_and_stays_intact(instance: Instance) -> None:
    from isecom.services import audit

    secret = await activated(instance)
    async with instance.client() as client:
        with pytest.raises(ClientError):
            await client.sign_in("mei.tan@isecom.example", "wrong", instance.code(secret))
        await client.sign_in("mei.tan@isecom.example", PASSWORD, instance.code(secret))
        await client.sign_out()
    async with instance.context.store.transaction() as tx:
        actions = [e.action for e in reversed(await tx.audit.recent(10))]
    assert actions == ["member.created", "member.activated", "signin.failure", "signin.success", "session.signed_out"]
    assert (await audit.verify(instance.context.store)).intact

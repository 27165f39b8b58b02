"""Password change and recovery: same identity keys, new wraps, sessions ended, events logged."""

from __future__ import annotations

import pytest

from isecom.client import ClientError
from tests.integration.conftest import PASSWORD, Instance, activated

NEW_PASSWORD = "another long fictional passphrase"


async def test_password_change_rewraps_and_signs_out_elsewhere(instance: Instance) -> None:
    secret = await activated(instance)
    async with instance.client() as laptop, instance.client() as phone:
        signed = await laptop.sign_in("mei.tan@isecom.example", PASSWORD, instance.code(secret))
        instance.clock.advance(seconds=30)
        await phone.sign_in("mei.tan@isecom.example", PASSWORD, instance.code(secret))
        instance.clock.advance(seconds=30)
        with pytest.raises(ClientError) as caught:  # the current password is required
            await laptop.change_password(signed, "not my password", NEW_PASSWORD, instance.code(secret))
        assert caught.value.status == 401
        instance.clock.advance(seconds=30)
        changed = await laptop.change_password(signed, PASSWORD, NEW_PASSWORD, instance.code(secret))
        assert changed.bundle_version == 2
        await laptop.session()  # this session stays...
        with pytest.raises(ClientError) as caught:
            await phone.session()  # ...every other one ends
        assert caught.value.status == 401
    instance.clock.advance(seconds=30)
    async with instance.client() as client:
        with pytest.raises(ClientError):
            await client.sign_in("mei.tan@isecom.example", PASSWORD, instance.code(secret))
    instance.clock.advance(seconds=30)
    async with instance.client() as client:
        again = await client.sign_in("mei.tan@isecom.example", NEW_PASSWORD, instance.code(secret))
    assert again.identity == signed.identity and again.bundle_version == 2
    async with instance.context.store.transaction() as tx:
        mails = [q.mail.template for q in await tx.outbox.due(instance.clock.now(), 50)]
    assert mails.count("security.password_changed") == 1


async def test_recovery_code_resets_the_password_and_is_replaced(instance: Instance) -> None:
    token = await instance.invite()
    async with instance.client() as client:
        done = await client.activate(token, PASSWORD, now=instance.clock.now())
    instance.clock.advance(seconds=30)
    async with instance.client() as before:
        await before.sign_in("mei.tan@isecom.example", PASSWORD, instance.code(done.totp_secret))
        instance.clock.advance(seconds=30)
        async with instance.client() as client:
            recovered = await client.recover(
                "mei.tan@isecom.example", done.recovery_code, NEW_PASSWORD, instance.code(done.totp_secret)
            )
        assert recovered.identity == done.identity
        assert recovered.recovery_code and recovered.recovery_code != done.recovery_code
        with pytest.raises(ClientError):
            await before.session()  # recovery ends every session
    instance.clock.advance(seconds=30)
    async with instance.client() as client:
        signed = await client.sign_in("mei.tan@isecom.example", NEW_PASSWORD, instance.code(done.totp_secret))
    assert signed.identity == done.identity and signed.bundle_version == 2
    instance.clock.advance(seconds=30)
    async with instance.client() as client:
        with pytest.raises(ClientError) as caught:  # the old code no longer opens the new wrap
            await client.recover(
                "mei.tan@isecom.example", done.recovery_code, PASSWORD, instance.code(done.totp_secret)
            )
    assert caught.value.code == "recovery.code"
    async with instance.context.store.transaction() as tx:
        actions = [e.action for e in await tx.audit.recent(20)]
        mails = [q.mail.template for q in await tx.outbox.due(instance.clock.now(), 50)]
    assert "recovery.used" in actions
    assert "security.recovery_used" in mails


async def test_wrong_recovery_code_and_unknown_user_fail_alike(instance: Instance) -> None:
    from isecom.crypto import keys

    secret = await activated(instance)
    outcomes = []
    for email in ("mei.tan@isecom.example", "ghost@isecom.example"):
        async with instance.client() as client:
            with pytest.raises(ClientError) as caught:
                await client.recover(email, keys.new_recovery_code(), NEW_PASSWORD, instance.code(secret))
            outcomes.append(caught.value.code)
    assert outcomes == ["recovery.code", "recovery.code"]
    async with instance.client() as client:
        real = await client._call("POST", "/api/v1/recovery/start", {"username": "mei.tan@isecom.example"})
        fake = await client._call("POST", "/api/v1/recovery/start", {"username": "ghost@isecom.example"})
    assert len(real["wrapped_recovery"]) == len(fake["wrapped_recovery"]) and set(real) == set(fake)


async def test_recovery_after_a_password_change(instance: Instance) -> None:
    """The recovery wrap is older than the password wrap after a change: recovery still works."""
    token = await instance.invite()
    async with instance.client() as client:
        done = await client.activate(token, PASSWORD, now=instance.clock.now())
    instance.clock.advance(seconds=30)
    async with instance.client() as client:
        signed = await client.sign_in("mei.tan@isecom.example", PASSWORD, instance.code(done.totp_secret))
        instance.clock.advance(seconds=30)
        await client.change_password(signed, PASSWORD, NEW_PASSWORD, instance.code(done.totp_secret))
    instance.clock.advance(seconds=30)
    async with instance.client() as client:
        recovered = await client.recover(
            "mei.tan@isecom.example",
            done.recovery_code,
            "a third fictional passphrase",
            instance.code(done.totp_secret),
        )
    assert recovered.identity == done.identity
    instance.clock.advance(seconds=30)
    async with instance.client() as client:
        again = await client.sign_in(
            "mei.tan@isecom.example", "a third fictional passphrase", instance.code(done.totp_secret)
        )
    assert again.identity == done.identity and again.bundle_version == 3

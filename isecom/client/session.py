"""HTTP calls of the client: activation, sign-in, sessions."""

from __future__ import annotations

import asyncio
import io
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from yarl import URL

from isecom.auth import two_factor
from isecom.crypto import keys, keytrans
from isecom.crypto.encoding import b64d, b64e
from isecom.crypto.errors import CryptoError


class ClientError(Exception):
    """The server refused a request: ``status`` and its error ``code`` and ``message``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Activated:
    member: dict[str, Any]
    identity: keys.Identity = field(repr=False)
    totp_secret: str = field(repr=False)
    recovery_code: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Rotation:
    """A rotation ready to send: the request body and the identity it installs."""

    body: dict[str, Any] = field(repr=False)
    identity: keys.Identity = field(repr=False)
    bundle_version: int


@dataclass(frozen=True, slots=True)
class SignedIn:
    member: dict[str, Any]
    identity: keys.Identity = field(repr=False)
    csrf_token: str = field(repr=False)
    bundle_version: int


def split_activation_link(link: str) -> tuple[str, str]:
    """``https://host/activate#TOKEN`` → (base URL, token)."""
    parts = urlsplit(link)
    if parts.scheme not in ("http", "https") or not parts.netloc or not parts.fragment:
        raise ValueError("expected an activation link like https://host/activate#TOKEN")
    return f"{parts.scheme}://{parts.netloc}", parts.fragment


class Client:
    def __init__(self, base_url: str, *, http: aiohttp.ClientSession | None = None) -> None:
        parts = urlsplit(base_url)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        # Cookies from a loopback IP address must be accepted for local instances.
        self._http = http or aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self._own_http = http is None
        self.csrf_token: str | None = None
        self.signed: SignedIn | None = None  # the member and unlocked keys after sign_in

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._own_http:
            await self._http.close()

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        headers = {"Accept": "application/json", "Origin": self.origin}
        if self.csrf_token and method != "GET":
            headers["X-CSRF-Token"] = self.csrf_token
        async with self._http.request(method, self.origin + path, json=body, headers=headers) as response:
            if response.status == 204:
                return None
            data = await response.json(content_type=None)
            if response.status >= 400:
                error = data.get("error", {}) if isinstance(data, dict) else {}
                raise ClientError(response.status, error.get("code", "?"), error.get("message", ""))
            return data

    async def get(self, path: str) -> Any:
        """A GET of this instance's JSON API (with the session cookie)."""
        return await self._call("GET", path)

    async def put_octets(self, path: str, data: bytes) -> int:
        """A PUT of raw bytes (an encrypted attachment chunk); the HTTP status."""
        headers = {"Content-Type": "application/octet-stream", "Origin": self.origin}
        if self.csrf_token:
            headers["X-CSRF-Token"] = self.csrf_token
        # A file object, not bytes: aiohttp warns (ResourceWarning) on raw bodies over 1 MiB.
        body = io.BytesIO(data)
        async with self._http.put(self.origin + path, data=body, headers=headers) as response:
            if response.status >= 400:
                await self._refuse(response)
            return response.status

    async def get_octets(self, path: str) -> bytes:
        """A GET of raw bytes (one encrypted chunk, at most 16 MiB + 40)."""
        async with self._http.get(self.origin + path, headers={"Origin": self.origin}) as response:
            if response.status >= 400:
                await self._refuse(response)
            return await response.read()

    async def _refuse(self, response: aiohttp.ClientResponse) -> None:
        try:
            data = await response.json(content_type=None)
        except ValueError:
            data = None
        error = data.get("error", {}) if isinstance(data, dict) else {}
        raise ClientError(response.status, error.get("code", "?"), error.get("message", ""))

    def session_cookies(self) -> dict[str, str]:
        """The cookies this client holds for its server (to resume the session in a later run)."""
        return {name: morsel.value for name, morsel in self._http.cookie_jar.filter_cookies(URL(self.origin)).items()}

    def restore_cookies(self, cookies: dict[str, str]) -> None:
        self._http.cookie_jar.update_cookies(cookies, URL(self.origin))

    async def unlock(self, password: str) -> SignedIn:
        """With a session resumed from cookies: unwrap the keys again with the password (no TOTP).

        The wrap comes from ``/api/v1/account/keys``, as a reloaded browser page gets it.
        """
        current = await self.session()
        member = current["member"]
        pre = await self._call("POST", "/api/v1/auth/prelogin", {"username": member["email"].lower()})
        derived = await asyncio.to_thread(keys.derive_password_keys, password, b64d(pre["salt"]), pre["params"])
        held = await self._call("GET", "/api/v1/account/keys")
        try:
            identity, version = keys.unwrap_bundle(
                b64d(held["wrapped_bundle"]), derived.kek, uid=bytes.fromhex(member["id"]), kind=keys.WRAP_PASSWORD
            )
        except CryptoError:
            raise ClientError(0, "auth.password", "The password does not open this account's keys.") from None
        self.signed = SignedIn(member, identity, current["csrf_token"], version)
        return self.signed

    async def http_patch(self, path: str, body: dict[str, Any]) -> Any:
        return await self._call("PATCH", path, body)

    async def http_put(self, path: str, body: dict[str, Any]) -> Any:
        return await self._call("PUT", path, body)

    async def http_delete(self, path: str) -> Any:
        return await self._call("DELETE", path)

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        """A POST to this instance's JSON API (session cookie, Origin and CSRF token)."""
        return await self._call("POST", path, body)

    async def activate(self, token: str, password: str, *, now: datetime | None = None) -> Activated:
        """Create keys, wrap them under the password and a new recovery code, enrol TOTP."""
        started = await self._call("POST", "/api/v1/activation/start", {"token": token})
        member = started["member"]
        created = int(time.time())
        identity = keys.Identity.generate(bytes.fromhex(member["id"]), created)
        salt = keys.random_bytes(keys.SALT_BYTES)
        params = dict(keys.DEFAULT_PARAMS)
        derived = await asyncio.to_thread(keys.derive_password_keys, password, salt, params)
        recovery_code = keys.new_recovery_code()
        wrapped_password = keys.wrap_bundle(identity, derived.kek, kind=keys.WRAP_PASSWORD, version=1)
        wrapped_recovery = keys.wrap_bundle(
            identity, keys.recovery_key(recovery_code), kind=keys.WRAP_RECOVERY, version=1
        )
        secret = started["totp_secret"]
        body = {
            "token": token,
            "salt": b64e(salt),
            "params": params,
            "auth_pk": b64e(derived.auth_pk),
            "wrapped_password": b64e(wrapped_password),
            "wrapped_recovery": b64e(wrapped_recovery),
            "sig_pk": b64e(identity.sig_pk),
            "enc_pk": b64e(identity.current.pk),
            "key_statement": b64e(
                keytrans.key_statement(
                    identity.sig_sk,
                    uid=identity.uid,
                    email=member["email"],
                    seqno=started["key_statement"]["seqno"],
                    prev=b64d(started["key_statement"]["prev"], size=32),
                    enc_pk=identity.current.pk,
                    created=created,
                )
            ),
            "totp_code": two_factor.code_at(secret, now or datetime.now(UTC)),
        }
        done = await self._call("POST", "/api/v1/activation/complete", body)
        return Activated(done["member"], identity, secret, recovery_code)

    async def sign_in(self, email: str, password: str, totp_code: str) -> SignedIn:
        """Prove the login key over a fresh challenge, then unwrap the key bundle locally."""
        username = email.strip().lower()
        pre = await self._call("POST", "/api/v1/auth/prelogin", {"username": username})
        derived = await asyncio.to_thread(keys.derive_password_keys, password, b64d(pre["salt"]), pre["params"])
        challenge_id = b64d(pre["challenge_id"])
        transcript = keys.login_transcript(
            origin=self.origin,
            username=username,
            challenge_id=challenge_id,
            challenge=b64d(pre["challenge"]),
            totp_code=totp_code,
        )
        body = {
            "username": username,
            "challenge_id": b64e(challenge_id),
            "totp_code": totp_code,
            "proof": b64e(keys.login_proof(derived.auth_seed, transcript)),
        }
        done = await self._call("POST", "/api/v1/auth/login", body)
        self.csrf_token = done["csrf_token"]
        uid = bytes.fromhex(done["member"]["id"])
        identity, version = keys.unwrap_bundle(
            b64d(done["wrapped_bundle"]), derived.kek, uid=uid, kind=keys.WRAP_PASSWORD
        )
        self.signed = SignedIn(done["member"], identity, done["csrf_token"], version)
        return self.signed

    async def session(self) -> dict[str, Any]:
        data: dict[str, Any] = await self._call("GET", "/api/v1/session")
        self.csrf_token = data["csrf_token"]
        return data

    async def sessions(self) -> list[dict[str, Any]]:
        data = await self._call("GET", "/api/v1/sessions")
        return list(data["sessions"])

    async def revoke_session(self, public_id: str) -> None:
        await self._call("DELETE", f"/api/v1/sessions/{public_id}")

    async def revoke_other_sessions(self) -> int:
        data = await self._call("POST", "/api/v1/sessions/revoke-others")
        return int(data["revoked"])

    async def sign_out(self) -> None:
        await self._call("POST", "/api/v1/auth/logout")
        self.csrf_token = None

    async def _new_wraps(
        self, identity: keys.Identity, password: str, version: int, *, recovery: bool
    ) -> tuple[dict[str, Any], keys.PasswordKeys, str | None]:
        salt = keys.random_bytes(keys.SALT_BYTES)
        params = dict(keys.DEFAULT_PARAMS)
        derived = await asyncio.to_thread(keys.derive_password_keys, password, salt, params)
        wrapped_password = keys.wrap_bundle(identity, derived.kek, kind=keys.WRAP_PASSWORD, version=version)
        new = {
            "salt": salt,
            "params": params,
            "auth_pk": derived.auth_pk,
            "wrapped_password": wrapped_password,
            "wrapped_recovery": b"",
        }
        code = None
        if recovery:
            code = keys.new_recovery_code()
            new["wrapped_recovery"] = keys.wrap_bundle(
                identity, keys.recovery_key(code), kind=keys.WRAP_RECOVERY, version=version
            )
        return new, derived, code

    @staticmethod
    def _encoded(new: dict[str, Any]) -> dict[str, Any]:
        out = {name: b64e(value) for name, value in new.items() if isinstance(value, bytes) and value}
        out["params"] = new["params"]
        return out

    async def change_password(
        self, signed: SignedIn, current_password: str, new_password: str, totp_code: str
    ) -> SignedIn:
        """Re-wrap the same keys under a new password (PROTOCOL.md §4.1); other sessions end."""
        username = signed.member["email"]
        pre = await self._call("POST", "/api/v1/auth/prelogin", {"username": username})
        old = await asyncio.to_thread(keys.derive_password_keys, current_password, b64d(pre["salt"]), pre["params"])
        version = signed.bundle_version + 1
        new, _, _ = await self._new_wraps(signed.identity, new_password, version, recovery=False)
        transcript = keys.account_transcript(
            "rekey",
            origin=self.origin,
            username=username,
            challenge_id=b64d(pre["challenge_id"]),
            challenge=b64d(pre["challenge"]),
            totp_code=totp_code,
            material=keys.material_bytes(**new),
        )
        body = {
            **self._encoded(new),
            "challenge_id": pre["challenge_id"],
            "totp_code": totp_code,
            "proof": b64e(keys.login_proof(old.auth_seed, transcript)),
        }
        await self._call("POST", "/api/v1/account/password", body)
        return SignedIn(signed.member, signed.identity, signed.csrf_token, version)

    async def recover(self, email: str, recovery_code: str, new_password: str, totp_code: str) -> Activated:
        """Open the recovery wrap, choose a new password, get a new recovery code; all sessions end."""
        username = email.strip().lower()
        start = await self._call("POST", "/api/v1/recovery/start", {"username": username})
        uid = bytes.fromhex(start["uid"])
        try:
            identity, version = keys.unwrap_bundle(
                b64d(start["wrapped_recovery"]), keys.recovery_key(recovery_code), uid=uid, kind=keys.WRAP_RECOVERY
            )
        except CryptoError:
            raise ClientError(0, "recovery.code", "The recovery code does not open this account's keys.") from None
        # After a password change the recovery wrap is older than the current bundle version.
        current = max(version, int(start.get("bundle_version", version)))
        new, _, code = await self._new_wraps(identity, new_password, current + 1, recovery=True)
        transcript = keys.account_transcript(
            "recover",
            origin=self.origin,
            username=username,
            challenge_id=b64d(start["challenge_id"]),
            challenge=b64d(start["challenge"]),
            totp_code=totp_code,
            material=keys.material_bytes(**new),
        )
        body = {
            **self._encoded(new),
            "username": username,
            "challenge_id": start["challenge_id"],
            "totp_code": totp_code,
            "proof": b64e(keys.identity_sign(identity, transcript)),
        }
        done = await self._call("POST", "/api/v1/recovery/complete", body)
        return Activated(done["member"], identity, "", code or "")

    async def prepare_rotation(
        self, password: str, recovery_code: str, totp_code: str, *, created: int | None = None
    ) -> Rotation:
        """Open both wraps, add a new encryption key, wrap it twice, sign the next key statement
        and prove the password over both new wraps (PROTOCOL.md §4.2). Nothing is sent yet."""
        member = self.signed.member if self.signed else (await self.session())["member"]
        username = member["email"].lower()
        uid = bytes.fromhex(member["id"])
        pre = await self._call("POST", "/api/v1/auth/prelogin", {"username": username})
        derived = await asyncio.to_thread(keys.derive_password_keys, password, b64d(pre["salt"]), pre["params"])
        held = await self._call("GET", "/api/v1/account/rotate")
        try:
            identity, version = keys.unwrap_bundle(
                b64d(held["wrapped_password"]), derived.kek, uid=uid, kind=keys.WRAP_PASSWORD
            )
        except CryptoError:
            raise ClientError(0, "rotation.password", "The password does not open this account's keys.") from None
        seen = self.signed.bundle_version if self.signed else 0
        if version != held["bundle_version"] or version < seen:
            raise ClientError(0, "rotation.version", "The server offered an older wrap of the keys.")
        try:
            backup, _ = keys.unwrap_bundle(
                b64d(held["wrapped_recovery"]), keys.recovery_key(recovery_code), uid=uid, kind=keys.WRAP_RECOVERY
            )
        except CryptoError:
            raise ClientError(0, "recovery.code", "The recovery code does not open this account's keys.") from None
        if backup.sig_seed != identity.sig_seed:
            raise ClientError(0, "recovery.code", "The recovery code opens other keys than the password.")
        try:
            current = keytrans.parse_key_statement(b64d(held["key_statement"]))
        except CryptoError:
            current = None
        if current is None or current.uid != uid or current.sig_pk != identity.sig_pk:
            raise ClientError(0, "rotation.statement", "The server named a key statement that is not yours.")
        made = int(time.time()) if created is None else created
        rotated = identity.rotated(made)
        new_version = version + 1
        recovery = keys.recovery_key(recovery_code)
        wrapped_password = keys.wrap_bundle(rotated, derived.kek, kind=keys.WRAP_PASSWORD, version=new_version)
        wrapped_recovery = keys.wrap_bundle(rotated, recovery, kind=keys.WRAP_RECOVERY, version=new_version)
        statement = keytrans.key_statement(
            rotated.sig_sk,
            uid=uid,
            email=current.email,
            seqno=current.seqno + 1,
            prev=current.hash,
            enc_pk=rotated.current.pk,
            created=made,
        )
        transcript = keys.account_transcript(
            "rekey",
            origin=self.origin,
            username=username,
            challenge_id=b64d(pre["challenge_id"]),
            challenge=b64d(pre["challenge"]),
            totp_code=totp_code,
            material=keys.material_bytes(
                salt=b64d(pre["salt"]),
                params=pre["params"],
                auth_pk=derived.auth_pk,
                wrapped_password=wrapped_password,
                wrapped_recovery=wrapped_recovery,
            ),
        )
        body = {
            "wrapped_password": b64e(wrapped_password),
            "wrapped_recovery": b64e(wrapped_recovery),
            "key_statement": b64e(statement),
            "challenge_id": pre["challenge_id"],
            "totp_code": totp_code,
            "proof": b64e(keys.login_proof(derived.auth_seed, transcript)),
        }
        return Rotation(body, rotated, new_version)

    async def send_rotation(self, rotation: Rotation) -> keys.Identity:
        await self._call("POST", "/api/v1/account/rotate", rotation.body)
        if self.signed is not None:
            self.signed = replace(self.signed, identity=rotation.identity, bundle_version=rotation.bundle_version)
        return rotation.identity

    async def rotate_keys(self, password: str, recovery_code: str, totp_code: str) -> keys.Identity:
        """A new encryption key, made here; both wraps renewed; old keys kept (PROTOCOL.md §4.2).

        Needs a signed-in session. Returns the new identity (its last encryption key is the new one).
        """
        return await self.send_rotation(await self.prepare_rotation(password, recovery_code, totp_code))

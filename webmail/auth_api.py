"""JSON API for activation, sign-in and sessions (``/api/v1``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import segno
from aiohttp import web

from isecom.access import public
from isecom.crypto.encoding import b64d, b64e
from isecom.crypto.errors import CryptoError
from isecom.errors import InvalidInput
from isecom.services import activation, rekey, rotation, sessions, signin
from webmail.api import member_json, read_json
from webmail.keys import CONTEXT
from webmail.middleware import CURRENT, session_cookie_name

routes = web.RouteTableDef()


def _bytes(body: dict[str, Any], name: str, size: int | None = None) -> bytes:
    try:
        return b64d(body.get(name), size=size)
    except CryptoError:
        expected = f"{size} bytes" if size else "bytes"
        raise InvalidInput(f"{name} must be base64url without padding ({expected}).", field=name) from None


def _text(body: dict[str, Any], name: str, limit: int = 1000) -> str:
    value = body.get(name)
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidInput(f"{name} is required.", field=name)
    return value


def _limits(request: web.Request) -> sessions.Limits:
    config = request.config_dict[CONTEXT].config
    return sessions.Limits(idle=config.session_idle, absolute=config.session_absolute)


def _origin(public_url: str) -> str:
    parts = urlsplit(public_url)
    return f"{parts.scheme}://{parts.netloc}"


@routes.post("/api/v1/activation/start")
@public
async def activation_start(request: web.Request) -> web.Response:
    body = await read_json(request)
    context = request.config_dict[CONTEXT]
    started = await activation.start(context.store, context.clock, context.config.server_key, _text(body, "token"))
    qr = segno.make(started.totp_uri, error="m").svg_data_uri(scale=5, border=2)
    return web.json_response(
        {
            "member": member_json(started.member),
            "totp_secret": started.totp_secret,
            "totp_uri": started.totp_uri,
            "totp_qr": qr,
            "key_statement": {"seqno": started.next_seqno, "prev": b64e(started.prev_statement)},
        }
    )


@routes.post("/api/v1/activation/complete")
@public
async def activation_complete(request: web.Request) -> web.Response:
    body = await read_json(request)
    params = body.get("params")
    if not isinstance(params, dict):
        raise InvalidInput("params is required.", field="params")
    material = activation.Material(
        salt=_bytes(body, "salt", 16),
        params=params,
        auth_pk=_bytes(body, "auth_pk", 32),
        wrapped_password=_bytes(body, "wrapped_password"),
        wrapped_recovery=_bytes(body, "wrapped_recovery"),
        sig_pk=_bytes(body, "sig_pk", 32),
        enc_pk=_bytes(body, "enc_pk", 32),
        key_statement=_bytes(body, "key_statement"),
    )
    context = request.config_dict[CONTEXT]
    member = await activation.complete(
        context.store,
        context.clock,
        context.config.server_key,
        context.authority,
        _text(body, "token"),
        material,
        _text(body, "totp_code", 16),
    )
    return web.json_response({"member": member_json(member)}, status=201)


@routes.post("/api/v1/auth/prelogin")
@public
async def prelogin(request: web.Request) -> web.Response:
    body = await read_json(request)
    context = request.config_dict[CONTEXT]
    result = await signin.prelogin(
        context.store, context.clock, context.config.server_key, _text(body, "username", 254), request.remote or "-"
    )
    return web.json_response(
        {
            "salt": b64e(result.salt),
            "params": result.params,
            "challenge_id": b64e(result.challenge_id),
            "challenge": b64e(result.challenge),
            "expires_in": result.expires_in,
        }
    )


@routes.post("/api/v1/auth/login")
@public
async def login(request: web.Request) -> web.Response:
    body = await read_json(request)
    context = request.config_dict[CONTEXT]
    config = context.config
    done = await signin.login(
        context.store,
        context.clock,
        config.server_key,
        origin=_origin(config.public_url),
        username=_text(body, "username", 254),
        challenge_id=_bytes(body, "challenge_id"),
        totp_code=_text(body, "totp_code", 16),
        proof=_bytes(body, "proof"),
        address=request.remote or "-",
        user_agent=request.headers.get("User-Agent", "")[:200],
        limits=_limits(request),
    )
    response = web.json_response(
        {
            "member": member_json(done.member),
            "csrf_token": done.csrf,
            "wrapped_bundle": b64e(done.credentials.wrapped_password),
            "bundle_version": done.credentials.bundle_version,
        }
    )
    response.set_cookie(
        session_cookie_name(config.uses_tls),
        done.cookie,
        path="/",
        httponly=True,
        secure=config.uses_tls,
        samesite="Strict",
        max_age=int(config.session_absolute.total_seconds()),
    )
    return response


@routes.post("/api/v1/auth/logout")
async def logout(request: web.Request) -> web.Response:
    context = request.config_dict[CONTEXT]
    await sessions.sign_out(context.store, context.clock, request[CURRENT])
    response = web.Response(status=204)
    response.del_cookie(session_cookie_name(context.config.uses_tls), path="/")
    return response


@routes.get("/api/v1/session")
async def current_session(request: web.Request) -> web.Response:
    """Who is signed in, and the CSRF token a reloaded page needs."""
    context = request.config_dict[CONTEXT]
    current = request[CURRENT]
    return web.json_response(
        {
            "member": member_json(current.member),
            "csrf_token": sessions.csrf_token(context.config.server_key, current.session.digest),
        }
    )


@routes.get("/api/v1/sessions")
async def list_sessions(request: web.Request) -> web.Response:
    context = request.config_dict[CONTEXT]
    current = request[CURRENT]
    found = await sessions.list_sessions(context.store, context.clock, current.member.id)
    return web.json_response(
        {
            "sessions": [
                {
                    "id": s.public_id,
                    "created_at": s.created_at.isoformat(),
                    "last_seen_at": (s.last_seen_at or s.created_at).isoformat(),
                    "user_agent": s.user_agent,
                    "current": s.digest == current.session.digest,
                }
                for s in found
            ]
        }
    )


@routes.delete("/api/v1/sessions/{id}")
async def revoke_session(request: web.Request) -> web.Response:
    context = request.config_dict[CONTEXT]
    await sessions.revoke(context.store, context.clock, request[CURRENT], request.match_info["id"])
    return web.Response(status=204)


@routes.post("/api/v1/sessions/revoke-others")
async def revoke_others(request: web.Request) -> web.Response:
    context = request.config_dict[CONTEXT]
    count = await sessions.revoke_others(context.store, context.clock, request[CURRENT])
    return web.json_response({"revoked": count})


def _new_credentials(body: dict[str, Any], *, with_recovery: bool) -> rekey.NewCredentials:
    params = body.get("params")
    if not isinstance(params, dict):
        raise InvalidInput("params is required.", field="params")
    return rekey.NewCredentials(
        salt=_bytes(body, "salt", 16),
        params=params,
        auth_pk=_bytes(body, "auth_pk", 32),
        wrapped_password=_bytes(body, "wrapped_password"),
        wrapped_recovery=_bytes(body, "wrapped_recovery") if with_recovery else b"",
    )


@routes.get("/api/v1/account/keys")
async def account_keys(request: web.Request) -> web.Response:
    """The signed-in member's password wrap, as the login gave it: the password page re-wraps it.

    Useless without the password (PROTOCOL.md §2.2); see docs/threat-model.md on what a stolen
    session gains from it.
    """
    context = request.config_dict[CONTEXT]
    credentials = await rekey.current_wrap(context.store, request[CURRENT].member)
    return web.json_response(
        {"wrapped_bundle": b64e(credentials.wrapped_password), "bundle_version": credentials.bundle_version}
    )


@routes.post("/api/v1/account/password")
async def change_password(request: web.Request) -> web.Response:
    """New wraps under a new password, proven with the current one; other sessions end."""
    body = await read_json(request)
    context = request.config_dict[CONTEXT]
    await rekey.change_password(
        context.store,
        context.clock,
        context.config.server_key,
        request[CURRENT],
        origin=_origin(context.config.public_url),
        challenge_id=_bytes(body, "challenge_id"),
        totp_code=_text(body, "totp_code", 16),
        proof=_bytes(body, "proof"),
        new=_new_credentials(body, with_recovery=False),
    )
    return web.Response(status=204)


@routes.get("/api/v1/account/rotate")
async def rotation_start(request: web.Request) -> web.Response:
    """What renewing the encryption key needs: both wraps, their version and the current key statement.

    The recovery wrap is what /api/v1/recovery/start gives anyone who names the account; both wraps are
    useless without the password or the recovery code (PROTOCOL.md §2.2, §4.2).
    """
    context = request.config_dict[CONTEXT]
    start = await rotation.start(context.store, request[CURRENT].member)
    return web.json_response(
        {
            "wrapped_password": b64e(start.wrapped_password),
            "wrapped_recovery": b64e(start.wrapped_recovery),
            "bundle_version": start.bundle_version,
            "key_statement": b64e(start.statement),
        }
    )


@routes.post("/api/v1/account/rotate")
async def rotate(request: web.Request) -> web.Response:
    """A new encryption key: both wraps renewed and the next key statement logged (§4.2); sessions stay."""
    body = await read_json(request)
    context = request.config_dict[CONTEXT]
    done = await rotation.rotate(
        context.store,
        context.clock,
        context.config.server_key,
        context.authority,
        request[CURRENT],
        origin=_origin(context.config.public_url),
        challenge_id=_bytes(body, "challenge_id"),
        totp_code=_text(body, "totp_code", 16),
        proof=_bytes(body, "proof"),
        wrapped_password=_bytes(body, "wrapped_password"),
        wrapped_recovery=_bytes(body, "wrapped_recovery"),
        key_statement=_bytes(body, "key_statement"),
    )
    return web.json_response({"seqno": done.seqno, "enc_pk": b64e(done.enc_pk), "bundle_version": done.bundle_version})


@routes.post("/api/v1/recovery/start")
@public
async def recovery_start(request: web.Request) -> web.Response:
    body = await read_json(request)
    context = request.config_dict[CONTEXT]
    username = _text(body, "username", 254)
    start = await rekey.recovery_start(
        context.store, context.clock, context.config.server_key, username, request.remote or "-"
    )
    pre = await signin.prelogin(
        context.store, context.clock, context.config.server_key, username, request.remote or "-"
    )
    return web.json_response(
        {
            "uid": start.member_uid.hex(),
            "wrapped_recovery": b64e(start.wrapped_recovery),
            "bundle_version": start.bundle_version,
            "challenge_id": b64e(pre.challenge_id),
            "challenge": b64e(pre.challenge),
            "expires_in": pre.expires_in,
        }
    )


@routes.post("/api/v1/recovery/complete")
@public
async def recovery_complete(request: web.Request) -> web.Response:
    body = await read_json(request)
    context = request.config_dict[CONTEXT]
    member = await rekey.recover(
        context.store,
        context.clock,
        context.config.server_key,
        origin=_origin(context.config.public_url),
        username=_text(body, "username", 254),
        challenge_id=_bytes(body, "challenge_id"),
        totp_code=_text(body, "totp_code", 16),
        proof=_bytes(body, "proof"),
        new=_new_credentials(body, with_recovery=True),
        address=request.remote or "-",
    )
    return web.json_response({"member": member_json(member)})

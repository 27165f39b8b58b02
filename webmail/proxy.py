"""The client's address behind a reverse proxy (``server.trusted_proxies``, deploy/nginx).

Behind nginx every request comes from the proxy's address, so the per-address sign-in
throttle would count everyone as one client. When the peer is a configured trusted proxy,
its ``X-Real-IP`` header (which deploy/nginx sets to ``$remote_addr``, replacing whatever
the client sent) becomes ``request.remote``. From any other peer the header is ignored.
"""

from __future__ import annotations

import ipaddress

from aiohttp import web
from aiohttp.typedefs import Handler

from webmail.keys import CONTEXT

HEADER = "X-Real-IP"


def client_address(
    peer: str | None, header: str | None, trusted: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
) -> str | None:
    """The client's address: the header's when ``peer`` is a trusted proxy and it is an IP address."""
    if not trusted or peer is None or header is None:
        return peer
    try:
        peer_ip = ipaddress.ip_address(peer)
        client = ipaddress.ip_address(header.strip())
    except ValueError:
        return peer
    return str(client) if any(peer_ip in net for net in trusted) else peer


@web.middleware
async def proxy_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    trusted = request.config_dict[CONTEXT].config.trusted_proxies
    remote = client_address(request.remote, request.headers.get(HEADER), trusted)
    if remote is not None and remote != request.remote:
        request = request.clone(remote=remote)
    return await handler(request)

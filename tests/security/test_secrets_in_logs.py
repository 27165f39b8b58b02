"""Nothing secret is ever logged: not the server key, not tokens, not request bodies."""

from __future__ import annotations

import json
import re
import urllib.request

from tests.conftest import LiveServer


def test_tokens_and_keys_never_reach_the_log(demo_server: LiveServer) -> None:
    tokens = re.findall(r"#([A-Za-z0-9_-]{43})", demo_server.demo_output)
    assert len(tokens) == 12
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{demo_server.url}/api/v1/activation/check",
        data=json.dumps({"token": tokens[0]}).encode(),
        headers={"Content-Type": "application/json", "Origin": demo_server.url},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback
        assert response.status == 200
    with urllib.request.urlopen(f"{demo_server.url}/activate?probe=1", timeout=5) as response:  # noqa: S310
        assert response.status == 200
    log = demo_server.output()
    assert "POST /api/v1/activation/check 200" in log
    assert "probe=1" not in log  # query strings are not logged
    key = (demo_server.data / "secrets" / "server.key").read_text().strip()
    for secret in [*tokens, key]:
        assert secret not in log

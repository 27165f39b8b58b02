"""No two routes claim the same method and path: a later one would silently shadow the first."""

from __future__ import annotations

from collections import Counter

from isecom import app as composition
from isecom.config import Config


async def test_no_method_and_path_is_registered_twice(cfg: Config) -> None:
    async with composition.open_context(cfg) as context:
        app = composition.build_web_app(context)
        seen = Counter(
            (route.method, route.resource.canonical)
            for route in app.router.routes()
            if route.resource is not None and route.method != "HEAD"
        )
    assert [key for key, count in seen.items() if count > 1] == []

"""The public-route marker shared by every HTTP adapter (deny by default).

Adapters may not import each other, so the marker lives in the core: a
handler wrapped with ``@public`` is reachable without a session; every other
handler needs one, which the webmail's auth middleware enforces for the
whole application, mounted sub-applications included.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

_PUBLIC = "__isecom_public__"

F = TypeVar("F", bound=Callable[..., Any])


def public(handler: F) -> F:
    setattr(handler, _PUBLIC, True)
    return handler


def is_public(handler: object) -> bool:
    return bool(getattr(handler, _PUBLIC, False))

"""Typed request keys shared by the HTTP adapters (which may not import each other).

The webmail's auth middleware runs for the whole application, mounted
sub-applications included, and stores the signed-in member here; the keyserver
reads it from the same key.
"""

from __future__ import annotations

from aiohttp import web

from isecom.services.ports import Member

MEMBER = web.RequestKey("member", Member)

"""Typed application keys (no globals)."""

from __future__ import annotations

import jinja2
from aiohttp import web

from isecom.context import Context
from webmail.assets import Assets
from webmail.i18n import Catalogs

CONTEXT = web.AppKey("context", Context)
ASSETS = web.AppKey("assets", Assets)
CATALOGS = web.AppKey("catalogs", Catalogs)
JINJA = web.AppKey("jinja", jinja2.Environment)

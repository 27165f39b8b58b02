"""Render Jinja2 pages in the request's language."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from isecom.types import Language
from webmail import i18n
from webmail.keys import ASSETS, CATALOGS, CONTEXT, JINJA

TEMPLATES = Path(__file__).parent / "templates"
LANGUAGE = web.RequestKey("language", Language)


def make_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def language(request: web.Request) -> Language:
    chosen = request.get(LANGUAGE)
    if isinstance(chosen, Language):
        return chosen
    catalogs = request.app[CATALOGS]
    lang = catalogs.choose(request.cookies.get(i18n.COOKIE), request.headers.get("Accept-Language"))
    request[LANGUAGE] = lang
    return lang


def render(request: web.Request, template: str, status: int = 200, **values: Any) -> web.Response:
    app = request.config_dict
    lang = language(request)
    translations = app[CATALOGS].get(lang)
    assets = app[ASSETS]
    page = (
        app[JINJA]
        .get_template(template)
        .render(
            _=translations.gettext,
            ngettext=translations.ngettext,
            lang=lang,
            languages=list(Language),
            language_name=i18n.language_name,
            asset_url=assets.url,
            asset_integrity=assets.integrity,
            module_graph=assets.module_graph,
            path=request.path,
            public_url=app[CONTEXT].config.public_url,
            **values,
        )
    )
    response = web.Response(text=page, status=status, content_type="text/html", charset="utf-8")
    response.headers["Content-Language"] = lang.value
    response.headers["Vary"] = "Accept-Language, Cookie"
    return response

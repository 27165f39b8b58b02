"""Markdown to safe HTML for country profiles and event descriptions.

markdown-it-py (pinned) with raw HTML off: any tag in the source is shown as text. Links
keep only http(s), mailto and same-site targets (markdown-it already refuses javascript:,
vbscript:, file: and data:); images are off, so no page loads anything from elsewhere.
The page's CSP forbids inline script in any case.
"""

from __future__ import annotations

from markdown_it import MarkdownIt
from markupsafe import Markup

_SAFE_LINK = ("https://", "http://", "mailto:", "/", "#")


def _validate(url: str) -> bool:
    link = url.strip().lower()
    # "//host" and "/\host" leave the site (browsers read a backslash as a slash).
    return link.startswith(_SAFE_LINK) and not link.startswith(("//", "/\\", "/%5c"))


_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).disable("image")
_md.validateLink = _validate  # type: ignore[method-assign]


def render(source: str) -> Markup:
    """Safe HTML (a ``Markup`` Jinja2 does not escape again)."""
    return Markup(_md.render(source))  # noqa: S704 - html is off, links validated: the output is safe

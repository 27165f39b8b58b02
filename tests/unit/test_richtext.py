"""Markdown of country profiles and events becomes safe HTML: no raw HTML, no script links, no images."""

from __future__ import annotations

import pytest

from webmail.richtext import render


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](vbscript:msgbox(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "[x](//evil.example/)",
        "[x](/\\evil.example/)",
        "<a href='javascript:alert(1)'>x</a>",
        "![pixel](https://tracker.example/p.png)",
    ],
)
def test_nothing_active_survives(source: str) -> None:
    html = str(render(source))
    for bad in ("<script", "<img", 'href="javascript', 'href="vbscript', 'href="data:', 'href="//', 'onerror="'):
        assert bad not in html.lower(), html


def test_ordinary_markdown_is_kept() -> None:
    html = str(render("## Demo\n\n- **one**\n- [two](https://law.example/a) and [three](/countries/FR)"))
    assert "<h2>Demo</h2>" in html and "<strong>one</strong>" in html
    assert '<a href="https://law.example/a">two</a>' in html and '<a href="/countries/FR">three</a>' in html

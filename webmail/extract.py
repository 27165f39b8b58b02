"""A Babel extractor for the ``default_message`` of each domain error.

Error pages translate ``error.message``; this puts those messages into the
catalog without marking up the core, which knows nothing of gettext.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import IO, Any


def error_messages(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any
) -> Iterator[tuple[int, str | None, str, list[str]]]:
    tree = ast.parse(fileobj.read())
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "default_message" for t in node.targets)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            yield node.lineno, None, node.value.value, []

"""The ``isecom`` command line. Each command calls services and prints their result."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

from isecom.cli.parser import build_parser
from isecom.errors import IsecomError


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result: int = asyncio.run(args.run(args))
        return result
    except IsecomError as exc:
        print(f"isecom: error: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130

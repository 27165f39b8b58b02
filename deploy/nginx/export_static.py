#!/usr/bin/env python3
"""Write the application's static files where nginx serves them: ROOT/static/<build>/<name>.

    .venv/bin/python deploy/nginx/export_static.py /var/lib/isecom/www

The files are exactly what the application serves from memory (``webmail/assets.py``: the
files under webmail/static and the vendored browser packages, imports rewritten), under the
same content-hashed build id, so nginx answers ``/static/<build>/…`` with the same bytes.
Earlier builds are left in place: during a rolling upgrade, pages from old and new processes
both find their files. Prints the build id. Run it at every upgrade, before restarting.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from webmail.assets import Assets


def export(root: Path) -> str:
    assets = Assets.load()
    base = root / "static" / assets.build
    for name, asset in assets.files.items():
        target = base / name
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        partial.write_bytes(asset.body)
        partial.chmod(0o644)
        os.replace(partial, target)
    for folder in [base, *(p for p in base.rglob("*") if p.is_dir())]:
        folder.chmod(0o755)
    return assets.build


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: export_static.py ROOT  (writes ROOT/static/<build>/…)", file=sys.stderr)
        return 2
    print(export(Path(argv[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

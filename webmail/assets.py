"""Static files served from our origin with content-hashed URLs and SRI.

At start-up every file under ``webmail/static`` and each pinned browser package
listed in ``VENDOR`` (from ``node_modules``, installed by ``npm ci``) is read
once. All files share one build id (a hash over every file) as their URL
prefix, ``/static/<build>/js/app.js``, so relative module imports keep working
and any change gives every URL a new name that can be cached forever. Each
file also gets its own SRI digest (``sha384-…``) for ``integrity=``.
"""

from __future__ import annotations

import base64
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
NODE_MODULES = Path(__file__).parent.parent / "node_modules"

# URL path -> (file in node_modules, (old, new) text replacements). The ESM
# build of libsodium-wrappers imports the bare name "libsodium-sumo", which a
# browser cannot resolve without an import map; point it at our own copy.
VENDOR: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "vendor/libsodium-wrappers.mjs": (
        "libsodium-wrappers-sumo/dist/modules-sumo-esm/libsodium-wrappers.mjs",
        (('from"libsodium-sumo"', 'from"./libsodium-sumo.mjs"'),),
    ),
    "vendor/libsodium-sumo.mjs": ("libsodium-sumo/dist/modules-sumo-esm/libsodium-sumo.mjs", ()),
}

_TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    content_type: str
    integrity: str


class MissingAsset(LookupError):
    pass


class Assets:
    def __init__(self, files: dict[str, Asset], build: str) -> None:
        self.files = files
        self.build = build

    @classmethod
    def load(cls, static_dir: Path = STATIC_DIR, node_modules: Path = NODE_MODULES) -> Assets:
        files: dict[str, Asset] = {}
        for path in sorted(static_dir.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                files[path.relative_to(static_dir).as_posix()] = _asset(path.name, path.read_bytes())
        for url, (source, replacements) in VENDOR.items():
            file = node_modules / source
            if not file.exists():
                raise MissingAsset(f"{file} is missing: run `npm ci` (make run does it)")
            text = file.read_text(encoding="utf-8")
            for old, new in replacements:
                if old not in text:
                    raise MissingAsset(f"{file}: expected import {old!r} not found (package changed?)")
                text = text.replace(old, new)
            files[url] = _asset(url, text.encode("utf-8"))
        build = hashlib.sha256()
        for name in sorted(files):
            build.update(name.encode() + b"\0" + files[name].integrity.encode() + b"\0")
        return cls(files, build.hexdigest()[:16])

    def url(self, name: str) -> str:
        if name not in self.files:
            raise MissingAsset(name)
        return f"/static/{self.build}/{name}"

    def integrity(self, name: str) -> str:
        if name not in self.files:
            raise MissingAsset(name)
        return self.files[name].integrity


def _asset(name: str, body: bytes) -> Asset:
    suffix = Path(name).suffix
    content_type = _TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    digest = base64.b64encode(hashlib.sha384(body).digest()).decode("ascii")
    return Asset(body=body, content_type=content_type, integrity=f"sha384-{digest}")

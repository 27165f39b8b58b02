"""Static files served from our origin with content-hashed URLs and SRI.

At start-up every file under ``webmail/static`` and the pinned browser packages
listed in ``VENDOR`` and ``VENDOR_TREES`` (from ``node_modules``, installed by
``npm ci``) are read once. All files share one build id (a hash over every
file) as their URL prefix, ``/static/<build>/js/app.js``, so relative module
imports keep working and any change gives every URL a new name that can be
cached forever. Each file also gets its own SRI digest (``sha384-…``) for
``integrity=``.

Browsers cannot resolve bare module names (``import x from "pkg"``) without an
import map, and an import map would be an inline script. So the static imports
of every vendored module are rewritten: a bare name listed in ``BARE`` becomes
the relative URL of our copy, and any other bare name stops the start-up. The
static import graph of each script is known (``module_graph``), so a page can
``modulepreload`` every module its script imports with an ``integrity`` each.
"""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
NODE_MODULES = Path(__file__).parent.parent / "node_modules"

# URL path -> one file in node_modules.
VENDOR: dict[str, str] = {
    "vendor/libsodium-wrappers.mjs": "libsodium-wrappers-sumo/dist/modules-sumo-esm/libsodium-wrappers.mjs",
    "vendor/libsodium-sumo.mjs": "libsodium-sumo/dist/modules-sumo-esm/libsodium-sumo.mjs",
    "vendor/fastest-levenshtein.mjs": "fastest-levenshtein/esm/mod.js",
    "vendor/zxcvbn-ts/dictionary-compression/decompress.mjs": "@zxcvbn-ts/dictionary-compression/dist/decompress.mjs",
    "vendor/uqr.mjs": "uqr/dist/index.mjs",
    "vendor/dompurify.mjs": "dompurify/dist/purify.es.mjs",
}

# URL folder -> (folder in node_modules, entry module). A package built as many small ES
# modules: exactly the files its entry reaches through static imports are served.
VENDOR_TREES: dict[str, tuple[str, str]] = {
    "vendor/zxcvbn-ts/core/": ("@zxcvbn-ts/core/dist", "index.mjs"),
    "vendor/zxcvbn-ts/language-common/": ("@zxcvbn-ts/language-common/dist", "index.mjs"),
    "vendor/postal-mime/": ("postal-mime/dist/esm", "postal-mime.js"),
}

# Bare module names that vendored modules import -> the URL path of our copy.
BARE: dict[str, str] = {
    "libsodium-sumo": "vendor/libsodium-sumo.mjs",
    "fastest-levenshtein": "vendor/fastest-levenshtein.mjs",
    "@zxcvbn-ts/dictionary-compression/decompress": "vendor/zxcvbn-ts/dictionary-compression/decompress.mjs",
}

_TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
_MODULES = (".js", ".mjs")

# A static import or re-export: `import x from "m"`, `import {a, b as c} from'm'`,
# `export * from "m"`, `import "m"` (minified code too). Dynamic import() is not followed.
_IMPORT = re.compile(
    r"""(?:^|(?<=[;\s}]))(?P<keyword>import|export)\s*(?:[\w*${},\s]+?\s*from\s*)?(?P<q>["'])(?P<spec>[^"'\r\n]+)(?P=q)""",
    re.MULTILINE,
)
# Source maps are not served: drop the comment so no browser asks for one.
_SOURCE_MAP = re.compile(r"^//# sourceMappingURL=\S+\s*$", re.MULTILINE)


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
        self.imports = {name: _static_imports(name, asset.body) for name, asset in files.items() if _is_module(name)}

    @classmethod
    def load(cls, static_dir: Path = STATIC_DIR, node_modules: Path = NODE_MODULES) -> Assets:
        files: dict[str, Asset] = {}
        for path in sorted(static_dir.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                files[path.relative_to(static_dir).as_posix()] = _asset(path.name, path.read_bytes())
        for url, source in VENDOR.items():
            files[url] = _asset(url, _vendored(url, _read(node_modules / source)).encode("utf-8"))
        for folder, (source, entry) in VENDOR_TREES.items():
            for name, text in _tree(node_modules / source, entry).items():
                url = folder + name
                files[url] = _asset(url, _vendored(url, text).encode("utf-8"))
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

    def module_graph(self, entry: str) -> list[str]:
        """Every module that ``entry`` imports, directly or not (static imports only), entry excluded."""
        if entry not in self.imports:
            raise MissingAsset(entry)
        seen: list[str] = []
        pending = [entry]
        while pending:
            name = pending.pop()
            for imported in self.imports[name]:
                if imported not in self.files:
                    raise MissingAsset(f"{name} imports {imported}, which is not served")
                if imported != entry and imported not in seen:
                    seen.append(imported)
                    pending.append(imported)
        return seen


def _is_module(name: str) -> bool:
    return name.endswith(_MODULES)


def _read(file: Path) -> str:
    if not file.exists():
        raise MissingAsset(f"{file} is missing: run `npm ci` (make run does it)")
    return file.read_text(encoding="utf-8")


def _relative(importer: str, target: str) -> str:
    path = posixpath.relpath(target, posixpath.dirname(importer) or ".")
    return path if path.startswith("../") else "./" + path


def _vendored(url: str, text: str) -> str:
    """Point the bare imports of a vendored module at our copies; drop its source-map comment."""

    def rewrite(match: re.Match[str]) -> str:
        spec = match["spec"]
        if spec.startswith(("./", "../")):
            return match[0]
        if spec not in BARE:
            raise MissingAsset(f"{url} imports {spec!r}, which is not vendored (add it to BARE)")
        start, end = match.span("spec")
        offset = match.start()
        return match[0][: start - offset] + _relative(url, BARE[spec]) + match[0][end - offset :]

    return _SOURCE_MAP.sub("", _IMPORT.sub(rewrite, text))


def _tree(root: Path, entry: str) -> dict[str, str]:
    """The modules under ``root`` that ``entry`` reaches, by path relative to ``root``."""
    found: dict[str, str] = {}
    pending = [entry]
    while pending:
        name = pending.pop()
        if name in found:
            continue
        text = _read(root / name)
        found[name] = text
        for match in _IMPORT.finditer(text):
            spec = match["spec"]
            if not spec.startswith(("./", "../")):
                continue  # a bare name: _vendored rewrites it or refuses it
            target = posixpath.normpath(posixpath.join(posixpath.dirname(name), spec))
            if target.startswith("../"):
                raise MissingAsset(f"{root / name} imports {spec!r}, outside its package")
            pending.append(target)
    return found


def _static_imports(name: str, body: bytes) -> tuple[str, ...]:
    """The served names that module ``name`` imports statically."""
    text = body.decode("utf-8")
    found: list[str] = []
    for match in _IMPORT.finditer(text):
        spec = match["spec"]
        if not spec.startswith(("./", "../")):
            raise MissingAsset(f"{name} imports the bare name {spec!r}; browsers cannot resolve it")
        target = posixpath.normpath(posixpath.join(posixpath.dirname(name), spec))
        if target not in found:
            found.append(target)
    return tuple(found)


def _asset(name: str, body: bytes) -> Asset:
    suffix = Path(name).suffix
    content_type = _TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    digest = base64.b64encode(hashlib.sha384(body).digest()).decode("ascii")
    return Asset(body=body, content_type=content_type, integrity=f"sha384-{digest}")

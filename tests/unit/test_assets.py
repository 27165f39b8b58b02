"""Static assets: vendored ES modules, rewritten imports and the import graph behind modulepreload."""

from __future__ import annotations

from pathlib import Path

import pytest

from webmail import assets
from webmail.assets import Assets, MissingAsset


@pytest.fixture(scope="module")
def loaded() -> Assets:
    return Assets.load()


def test_zxcvbn_is_served_from_our_origin_with_its_bare_imports_rewritten(loaded: Assets) -> None:
    levenshtein = loaded.files["vendor/zxcvbn-ts/core/utils/levenshtein.mjs"].body
    assert b"from '../../../fastest-levenshtein.mjs'" in levenshtein
    passwords = loaded.files["vendor/zxcvbn-ts/language-common/passwords.json.mjs"].body
    assert passwords.startswith(b"import decompress from '../dictionary-compression/decompress.mjs';")
    wrappers = loaded.files["vendor/libsodium-wrappers.mjs"].body
    assert b'from"./libsodium-sumo.mjs"' in wrappers and b'from"libsodium-sumo"' not in wrappers
    for name, asset in loaded.files.items():
        if name.startswith("vendor/zxcvbn-ts/"):
            assert b"sourceMappingURL" not in asset.body, name
    # Exactly what the entries reach: the CommonJS builds and the compressor are not served.
    assert not any(name.endswith(".cjs") for name in loaded.files)
    assert "vendor/zxcvbn-ts/dictionary-compression/compress.mjs" not in loaded.files


def test_module_graph_follows_static_imports_to_every_vendored_file(loaded: Assets) -> None:
    graph = loaded.module_graph("js/activate.js")
    assert "js/activate.js" not in graph and len(graph) == len(set(graph))
    for needed in (
        "js/crypto/keys.js",
        "js/crypto/pool.js",
        "vendor/libsodium-sumo.mjs",
        "vendor/zxcvbn-ts/core/index.mjs",
        "vendor/zxcvbn-ts/core/matcher/dictionary/variants/matching/l33t.mjs",
        "vendor/fastest-levenshtein.mjs",
        "vendor/zxcvbn-ts/dictionary-compression/decompress.mjs",
    ):
        assert needed in graph, needed
    assert all(name in loaded.files for name in graph)
    assert not any(name.startswith("vendor/zxcvbn-ts/") for name in loaded.module_graph("js/signin.js"))
    with pytest.raises(MissingAsset):
        loaded.module_graph("css/app.css")


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("files", "problem"),
    [
        ({"pkg/index.mjs": "import x from 'unknown-package';\n"}, "not vendored"),
        ({"pkg/index.mjs": "export { a } from '../../elsewhere.mjs';\n"}, "outside its package"),
        ({"pkg/index.mjs": "import './missing.mjs';\n"}, "missing"),
    ],
)
def test_a_vendored_tree_that_cannot_be_served_stops_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str], problem: str
) -> None:
    node_modules = write(tmp_path / "node_modules", files)
    static = write(tmp_path / "static", {"js/app.js": "export const x = 1;\n"})
    monkeypatch.setattr(assets, "VENDOR", {})
    monkeypatch.setattr(assets, "VENDOR_TREES", {"vendor/pkg/": ("pkg", "index.mjs")})
    with pytest.raises(MissingAsset, match=problem):
        Assets.load(static, node_modules)


def test_a_bare_import_in_our_own_scripts_stops_the_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    static = write(tmp_path / "static", {"js/app.js": 'import sodium from "libsodium-wrappers";\n'})
    monkeypatch.setattr(assets, "VENDOR", {})
    monkeypatch.setattr(assets, "VENDOR_TREES", {})
    with pytest.raises(MissingAsset, match="bare name"):
        Assets.load(static, tmp_path)


def test_a_tree_is_served_under_its_folder_with_relative_imports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    node_modules = write(
        tmp_path / "node_modules",
        {
            "pkg/dist/index.mjs": "import { a } from './lib/a.mjs';\nexport { a };\n//# sourceMappingURL=x.map\n",
            "pkg/dist/lib/a.mjs": "import dep from 'dep';\nexport const a = dep;\n",
            "pkg/dist/unused.mjs": "export const unused = 1;\n",
            "dep/mod.js": "export default 2;\n",
        },
    )
    static = write(tmp_path / "static", {"js/app.js": 'import { a } from "../vendor/pkg/index.mjs";\n'})
    monkeypatch.setattr(assets, "VENDOR", {"vendor/dep.mjs": "dep/mod.js"})
    monkeypatch.setattr(assets, "VENDOR_TREES", {"vendor/pkg/": ("pkg/dist", "index.mjs")})
    monkeypatch.setattr(assets, "BARE", {"dep": "vendor/dep.mjs"})
    served = Assets.load(static, node_modules)
    assert sorted(served.files) == ["js/app.js", "vendor/dep.mjs", "vendor/pkg/index.mjs", "vendor/pkg/lib/a.mjs"]
    assert served.files["vendor/pkg/lib/a.mjs"].body.startswith(b"import dep from '../../dep.mjs';")
    assert b"sourceMappingURL" not in served.files["vendor/pkg/index.mjs"].body
    assert served.module_graph("js/app.js") == ["vendor/pkg/index.mjs", "vendor/pkg/lib/a.mjs", "vendor/dep.mjs"]

from __future__ import annotations

from isecom.types import Language
from webmail.i18n import Catalogs, parse_accept_language


def test_accept_language_is_ordered_by_quality() -> None:
    assert parse_accept_language("fr-CA,fr;q=0.9,en;q=0.8") == ["fr", "fr", "en"]
    assert parse_accept_language("en;q=0.1, ar") == ["ar", "en"]
    assert parse_accept_language("de;q=0, es;q=bogus, ES") == ["es"]
    assert parse_accept_language("") == []


def test_choice_prefers_cookie_then_header_then_default() -> None:
    catalogs = Catalogs.load(Language.EN)
    assert catalogs.choose("ar", "fr") is Language.AR
    assert catalogs.choose("xx", "de, es;q=0.5") is Language.ES
    assert catalogs.choose(None, "de") is Language.EN


def test_every_catalog_translates_every_message() -> None:
    from babel.messages.pofile import read_po

    from webmail.i18n import LOCALE_DIR

    with (LOCALE_DIR / "messages.pot").open("rb") as handle:
        template = read_po(handle)
    wanted = {m.id for m in template if m.id}
    for lang in ("fr", "es", "ar"):
        with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as handle:
            catalog = read_po(handle, locale=lang)
        translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
        assert wanted <= translated, f"{lang}: untranslated {sorted(wanted - translated)[:5]}"
    catalogs = Catalogs.load(Language.EN)
    assert catalogs.get(Language.FR).gettext("Sign in") != "Sign in"
    assert catalogs.get(Language.AR).gettext("Sign in") != "Sign in"


def test_message_template_matches_the_sources() -> None:
    """Every user-visible string in templates and errors is in messages.pot (run `make messages`)."""
    from pathlib import Path

    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg
    from babel.messages.pofile import read_po

    from webmail.i18n import LOCALE_DIR

    repo = Path(__file__).resolve().parents[2]
    with (repo / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found = {
        message if isinstance(message, str) else message[0]
        for _file, _line, message, _comments, _context in extract_from_dir(str(repo), method_map, options_map)
    }
    with (LOCALE_DIR / "messages.pot").open("rb") as handle:
        template = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    assert found == template

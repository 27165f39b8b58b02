"""Translations: gettext catalogs (Babel ``.po`` files) for en, fr, es and ar.

The ``.po`` files under ``webmail/locale`` are compiled in memory at start-up,
so there is no build step and no stale ``.mo`` file. The language comes from
the ``lang`` cookie the switcher sets, then ``Accept-Language``, then the
configured default.
"""

from __future__ import annotations

import gettext
import io
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from isecom.countries import COUNTRIES
from isecom.types import Language

LOCALE_DIR = Path(__file__).parent / "locale"
COOKIE = "lang"


@dataclass(frozen=True)
class Catalogs:
    translations: Mapping[Language, gettext.NullTranslations]
    default: Language

    @classmethod
    def load(cls, default: Language) -> Catalogs:
        found: dict[Language, gettext.NullTranslations] = {Language.EN: gettext.NullTranslations()}
        for lang in Language:
            po = LOCALE_DIR / lang.value / "LC_MESSAGES" / "messages.po"
            if lang is Language.EN or not po.exists():
                continue
            with po.open("rb") as handle:
                catalog = read_po(handle, locale=lang.value)
            buffer = io.BytesIO()
            write_mo(buffer, catalog)
            buffer.seek(0)
            found[lang] = Translations(buffer)
        return cls(translations=found, default=default)

    def get(self, lang: Language) -> gettext.NullTranslations:
        return self.translations.get(lang, self.translations[Language.EN])

    def choose(self, cookie: str | None, accept_language: str | None) -> Language:
        if cookie in _CODES:
            return Language(cookie)
        for code in parse_accept_language(accept_language or ""):
            if code in _CODES:
                return Language(code)
        return self.default


_CODES = {lang.value for lang in Language}


def parse_accept_language(header: str) -> list[str]:
    """Primary language subtags, best first (``fr-CA;q=0.8`` gives ``fr``)."""
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        primary = tag.split("-")[0].strip().lower()
        if primary and quality > 0:
            weighted.append((-quality, index, primary))
    return [code for _, _, code in sorted(weighted)]


def language_name(lang: Language) -> str:
    """The language's own name for itself (the switcher shows each in its script)."""
    name: str = Locale.parse(lang.value).get_display_name(lang.value) or lang.value
    return name[:1].upper() + name[1:]


def country_name(code: str, lang: Language) -> str:
    name = Locale.parse(lang.value).territories.get(code)
    return name if isinstance(name, str) else code


def countries(lang: Language) -> list[tuple[str, str]]:
    """Every ISO 3166 country as (code, name in ``lang``), in alphabetical order of the names."""
    return sorted(((code, country_name(code, lang)) for code in COUNTRIES), key=lambda item: sort_key(item[1]))


def language_label(code: str, lang: Language) -> str:
    """The name of the language ``code`` in ``lang``, capitalised for use as a label."""
    name = Locale.parse(lang.value).languages.get(code)
    if not isinstance(name, str):
        return code
    return name[:1].upper() + name[1:]


def sort_key(text: str) -> str:
    """Order names as a reader expects, accents and case aside ("Égypte" next to "Équateur", not after "Zambie").

    Babel has no collation; dropping the combining marks after NFKD is close enough for names in
    our four languages (Arabic letters are in alphabetical order in Unicode; its vowel marks are dropped).
    """
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()

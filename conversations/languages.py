"""The languages the bot speaks, how a language tag is read, and how typed words are compared.

A language is passed around as a plain string (BCP 47 as written in a program file: "en",
"de", "pt-BR" or "pt_BR"); `supported` turns any tag into one of `LANGUAGES`, English when
the tag is unknown, so a caller never has to check first.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from functools import cache
from types import MappingProxyType

from babel import Locale
from babel.dates import get_day_names, get_month_names

from conversations.translations import (
    DEFAULT_LANGUAGE,
    SUPPORTED_LANGUAGES,
    catalog_name,
    supported_language,
)

# The languages as Babel and gettext spell them ("pt_BR").
LANGUAGES = tuple(catalog_name(tag) for tag in SUPPORTED_LANGUAGES)

# The engine's weekday codes, Monday first (Babel numbers the days the same way, 0 = Monday).
WEEKDAY_CODES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def supported(language: str | None) -> str:
    """The supported language a tag stands for, as Babel and gettext spell it: "de-AT" -> "de",
    "pt" -> "pt_BR", "xx" -> "en" (the one rule is `translations.supported_language`)."""
    return catalog_name(supported_language(language or "") or DEFAULT_LANGUAGE)


@cache
def locale(language: str) -> Locale:
    """Babel's locale for a language tag (unknown tags: English)."""
    return Locale.parse(supported(language))


def fold(text: str) -> str:
    """A typed word as it is compared: lower case, accents optional ("Mañana" == "manana")."""
    if text.isascii():
        return text.lower()  # most answers: nothing to decompose
    # NFKD also turns no-break and narrow no-break spaces into plain ones.
    decomposed = unicodedata.normalize("NFKD", text.casefold().replace("’", "'"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def fold_word(text: str) -> str:
    """`fold` of one word or short phrase, its surrounding punctuation and inner spaces tidied."""
    return " ".join(fold(text).strip(" .!?,;:¡¿\"'").split())


@cache
def weekday_names(language: str) -> Mapping[str, str]:
    """Every folded weekday name a client may type (full, abbreviated, short) -> weekday code.

    The names come from Babel's locale data; "Mo." and "Mo" both count, and so do "Tues" and
    "Thurs" in English and "segunda" without "-feira" in Portuguese.
    """
    names: dict[str, str] = {}
    for width in ("short", "abbreviated", "wide"):
        for number, name in get_day_names(width, locale=locale(language)).items():
            folded = fold_word(name)
            names.setdefault(folded, WEEKDAY_CODES[number])
            head = folded.split("-", 1)[0]  # "segunda-feira" -> "segunda"
            names.setdefault(head, WEEKDAY_CODES[number])
    return MappingProxyType(names)


@cache
def month_names(language: str) -> Mapping[str, int]:
    """Every folded month name (full and abbreviated) -> 1..12, English's added to the
    language's (its own win: "mar" is March in English and in Spanish alike)."""
    names: dict[str, int] = {}
    if supported(language) != "en":
        names.update(month_names("en"))
    for width in ("abbreviated", "wide"):
        for number, name in get_month_names(width, locale=locale(language)).items():
            names[fold_word(name)] = number
    return MappingProxyType(names)



def language_name(language: str) -> str:
    """A language's name as it calls itself ("Deutsch", "português (Brasil)"), from CLDR."""
    return str(locale(language).get_display_name(locale(language)))

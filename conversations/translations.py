"""The bot's own words in the client's language: gettext catalogs shipped with the package.

Every string the bot sends on its own is a message id in the `coachbot` catalog
(`conversations/locale/<language>/LC_MESSAGES/coachbot.po`, compiled to `.mo` with
`pybabel compile`). Code marks a message where it is written: `t.gettext("...")` or
`t.ngettext(...)` where it is said, `N_("...")` for a constant translated later. Program
texts are not in the catalog: a program file is written in its own `language:`.

The catalogs are the package's own data, read once per language and cached: the one file
read in the core, made at first use and never again, so the engine stays a pure step.
"""

from __future__ import annotations

import gettext
from functools import cache
from pathlib import Path

from babel.messages.mofile import read_mo

DOMAIN = "coachbot"
LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LANGUAGE = "en"
# BCP 47 tags of the languages with a complete catalog, as `language:` and /language take them.
SUPPORTED_LANGUAGES = ("en", "de", "es", "fr", "pt-BR")

Translator = gettext.NullTranslations


def N_(message: str) -> str:
    """Mark a constant for the catalog; it is translated where it is said."""
    return message


def supported_language(tag: str) -> str | None:
    """The supported language a BCP 47 tag means ("pt_BR", "pt-br" -> "pt-BR";
    "de-AT" -> "de"), or None."""
    wanted = tag.strip().replace("_", "-").lower()
    for language in SUPPORTED_LANGUAGES:
        if wanted == language.lower():
            return language
    primary = wanted.split("-", 1)[0]
    if primary == "pt":
        return "pt-BR"  # the one Portuguese we speak
    return primary if primary in SUPPORTED_LANGUAGES else None


def catalog_name(language: str) -> str:
    """The catalog folder of a language tag ("pt-BR" -> "pt_BR", gettext's spelling)."""
    return language.replace("-", "_")


@cache
def translator(language: str) -> Translator:
    """The compiled catalog of `language` (English for an unknown one), loaded once."""
    supported = supported_language(language) or DEFAULT_LANGUAGE
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[catalog_name(supported)],
                               fallback=True)


def _message_ids(language: str) -> set[str]:
    path = LOCALE_DIR / catalog_name(language) / "LC_MESSAGES" / f"{DOMAIN}.mo"
    if not path.is_file():
        return set()
    with path.open("rb") as compiled:
        catalog = read_mo(compiled)
    return {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id and m.string
            and all(m.string if isinstance(m.string, tuple) else (m.string,))}


def catalog_complete(language: str) -> bool:
    """Whether `language` has a compiled catalog translating every message English has."""
    supported = supported_language(language)
    if supported is None:
        return False
    english = _message_ids(DEFAULT_LANGUAGE)
    return bool(english) and english <= _message_ids(supported)

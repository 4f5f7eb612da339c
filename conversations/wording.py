"""Words the bot builds from data in the client's language: weekday and language names
(CLDR via Babel)."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache

from babel import Locale
from babel.dates import format_date, get_day_names

from conversations.translations import catalog_name, supported_language

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@cache
def _locale(language: str) -> Locale:
    return Locale.parse(catalog_name(supported_language(language) or "en"))


def short_date(day: date | datetime, language: str) -> str:
    """A day as a digest line names it: "Mon 02 Mar", "Mo. 02 März"."""
    return str(format_date(day, "EEE dd MMM", locale=_locale(language)))


def language_name(language: str) -> str:
    """A language's name as it calls itself ("Deutsch", "português (Brasil)")."""
    return str(_locale(language).get_display_name(_locale(language)))


def day_name(day: str, language: str) -> str:
    """A weekday ("tue") as the language writes it in a sentence ("Tuesday", "Dienstag",
    "martes"); anything else as it is."""
    if day not in _WEEKDAYS:
        return day
    return str(get_day_names("wide", "format", _locale(language))[_WEEKDAYS.index(day)])

"""A typed number read the way the client's language writes it: "1.200,50" in German,
"1,200.50" in English, "1 200,50" in French, "sieben", "€2,500", "2.5k".
"""

from __future__ import annotations

import re
from functools import cache

from babel.numbers import get_decimal_symbol

from conversations.language_words import words
from conversations.languages import fold_word, locale

_CURRENCY = re.compile(r"^(?:r\$|[€$£¥])|(?:eur|usd|gbp|brl|chf|r\$|€|\$|£|%)$")
_SIGNED = re.compile(r"([-+]?)(\d[\d.,]*)")


def parse_number(text: str, language: str = "en") -> float | None:
    """The number a client typed, or None when it is not one.

    Separators are read the language's way where they are ambiguous: one "," followed by
    three digits is a thousands separator in English and a decimal comma in German; a lone
    separator that cannot be grouping ("7,5", "7.5") is a decimal point in every language.
    Number words up to twenty count in the language and in English.
    """
    folded = fold_word(text)
    named = words(language).numbers.get(folded)
    if named is not None:
        return float(named)
    # Spaces of every width (NFKD made no-break ones plain), underscores and apostrophes
    # group digits ("1 200", "1_200", "1'200"); "−" is Unicode's minus sign.
    compact = re.sub(r"[\s_']", "", folded).replace("−", "-")
    compact = _CURRENCY.sub("", compact)
    multiplier = 1.0
    if compact.endswith("k"):
        compact, multiplier = compact[:-1], 1000.0
    compact = _CURRENCY.sub("", compact)
    match = _SIGNED.fullmatch(compact)
    if match is None:
        return None
    body = _plain(match.group(2), _decimal_sign(language))
    if body is None:
        return None
    return float(match.group(1) + body) * multiplier


@cache
def _decimal_sign(language: str) -> str:
    return get_decimal_symbol(locale(language))


def _plain(body: str, decimal: str) -> str | None:
    """Digits with their separators as Python reads them ("1200.5"), or None."""
    separators = [ch for ch in body if ch in ".,"]
    if not separators:
        return body
    last = separators[-1]
    others = {ch for ch in separators if ch != last}
    if others:  # both kinds: the last one is the decimal point, the other groups thousands
        group = others.pop()
        if separators.count(last) > 1 or not re.fullmatch(
                rf"\d{{1,3}}(?:{re.escape(group)}\d{{3}})+{re.escape(last)}\d+", body):
            return None
        return body.replace(group, "").replace(last, ".")
    if len(separators) > 1 or (last != decimal and re.fullmatch(rf"\d{{1,3}}{re.escape(last)}"
                                                                 rf"\d{{3}}", body)):
        # "1,200,000", or one separator that is not this language's decimal point, before
        # exactly three digits ("1,200" in English, "1.200" in German): thousands.
        if not re.fullmatch(rf"\d{{1,3}}(?:{re.escape(last)}\d{{3}})+", body):
            return None
        return body.replace(last, "")
    if not re.fullmatch(r"\d+[.,]\d+", body):
        return None
    return body.replace(last, ".")

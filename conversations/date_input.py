"""A typed date read in the client's language: "2026-03-12", "morgen", "12. März 2026",
"12 de marzo de 2026", "12/03/2026" (day first outside English), "March 12, 2026".
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from conversations.language_words import words
from conversations.languages import fold_word, month_names, supported

_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
# English keeps its one unambiguous numeric form (12.03.2026): "03/12" reads both ways there.
_DAY_FIRST = {"en": re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})"),
              "other": re.compile(r"(\d{1,2})[./-](\d{1,2})[./-](\d{4})")}
_ORDINAL = re.compile(r"^(\d{1,2})(?:st|nd|rd|th|er|e|º|o|a)?\.?$")


def parse_date(text: str, today: date, language: str = "en") -> date | None:
    """The date a client typed (`today` is the client's local date), or None."""
    folded = fold_word(text)
    offset = words(language).days.get(folded)
    if offset is not None:
        return today + timedelta(days=offset)
    compact = folded.replace(" ", "")
    if found := _ISO.fullmatch(compact):
        return _date(int(found.group(1)), int(found.group(2)), int(found.group(3)))
    numeric = _DAY_FIRST["en" if supported(language) == "en" else "other"]
    if found := numeric.fullmatch(compact):
        return _date(int(found.group(3)), int(found.group(2)), int(found.group(1)))
    return _written(folded, language)


def _written(folded: str, language: str) -> date | None:
    """A date with the month in words, day and month in either order, the year last."""
    fillers = words(language).date_fillers
    tokens = [t for t in folded.replace(",", " ").split() if t not in fillers]
    if len(tokens) != 3 or not re.fullmatch(r"\d{4}", tokens[2]):
        return None
    months = month_names(language)
    first, second = tokens[0], tokens[1]
    for day_token, month_token in ((first, second), (second, first)):
        day = _ORDINAL.match(day_token)
        month = months.get(month_token) or months.get(month_token.rstrip("."))
        if day and month:
            return _date(int(tokens[2]), month, int(day.group(1)))
    return None


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None

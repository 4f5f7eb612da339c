"""What a client may type for each kind of question, as examples in the client's language.

The re-ask's sentence is the catalog's ("Bitte antworte mit {forms}."); the forms it names
come from here, from the same tables the parser reads, so the two never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from functools import lru_cache
from typing import Literal

from conversations.formatting import format_date, format_number, format_time, format_weekday
from conversations.language_words import own_words

FormKind = Literal["yes_no", "scale", "number", "date", "schedule"]

_EXAMPLE_DATE = date(2026, 3, 2)
_EXAMPLE_NUMBER = 1200.5


@dataclass(frozen=True)
class AcceptedForms:
    """Examples of accepted answers, most typical first ("ja", "nein")."""

    examples: tuple[str, ...]

    def __str__(self) -> str:
        return " / ".join(self.examples)


@lru_cache(maxsize=512)
def accepted_forms(kind: FormKind, language: str = "en", *, low: float | None = None,
                   high: float | None = None) -> AcceptedForms:
    """The forms a client may type for a question kind, in the language.

    yes_no: the first yes and no words ("ja / nein"); scale: the range and a number word in
    it ("1-10 / sieben"); number: a number with the language's separators and a number word
    ("1.200,5 / sieben"); date: today's word, tomorrow's and a written date; schedule: a day
    and a time ("Di. 18:30").
    """
    table = own_words(language)
    match kind:
        case "yes_no":
            return AcceptedForms((table.yes[0], table.no[0]))
        case "scale":
            word = _number_word(language, low, high)
            span = f"{format_number(low or 0, language)}-{format_number(high or 10, language)}"
            return AcceptedForms((span, word) if word else (span,))
        case "number":
            example = _EXAMPLE_NUMBER
            if (high is not None and example > high) or (low is not None and example < low):
                example = high if high is not None else low or 0
            word = _number_word(language, low, high)
            shown = format_number(example, language)
            return AcceptedForms((shown, word) if word else (shown,))
        case "date":
            today, tomorrow = _day_word(language, 0), _day_word(language, 1)
            return AcceptedForms((today, tomorrow, format_date(_EXAMPLE_DATE, language)))
        case "schedule":
            return AcceptedForms((f"{format_weekday('tue', language, width='abbreviated')} "
                                  f"{format_time(time(18, 30), language)}",))
    raise AssertionError(kind)


def _number_word(language: str, low: float | None, high: float | None) -> str | None:
    """A number word inside the bounds: seven if it fits, else the lowest that does."""
    numbers = own_words(language).numbers
    by_value: dict[int, str] = {}
    for word, value in numbers.items():
        by_value.setdefault(value, word)
    fits = [v for v in by_value if (low is None or v >= low) and (high is None or v <= high)]
    if not fits:
        return None
    return by_value[7 if 7 in fits else min(fits)]


def _day_word(language: str, offset: int) -> str:
    return next(w for w, n in own_words(language).days.items() if n == offset)

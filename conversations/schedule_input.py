"""The day and time a client typed after /schedule, in the client's language.

"tue 18:30", "Tuesday 6:30pm", "di 18 Uhr", "am Dienstag um 18.30", "martes a las 18:30",
"mardi 18h30", "terça às 18h": a weekday (full or short, Babel's names) and a time (24 h, or
12 h with am/pm), in either order, with the language's small words around them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from conversations.language_words import words
from conversations.languages import fold_word, weekday_names

_TIME = re.compile(r"(\d{1,2})(?:[:.h]?(\d{2}))?(am|pm|a|p)?")


@dataclass(frozen=True)
class ScheduleChoice:
    """A weekly check-in slot: the engine's weekday code and the time as "HH:MM"."""

    day: str
    time: str


def parse_schedule(text: str, language: str = "en") -> ScheduleChoice | None:
    """The weekday and time in a /schedule argument, or None when either is missing."""
    vocabulary = words(language)
    tokens = re.sub(r"\b([ap])\.m\.?", r"\1m", fold_word(text)).split()
    day: str | None = None
    rest: list[str] = []
    for token in tokens:
        code = weekday(token, language) if day is None else None
        if code is not None:
            day = code
        else:
            rest.append(token.strip(",."))
    if day is None:
        return None
    # Small words go ("um", "à", "at"), but only before the time: "6 am" keeps its "am".
    while rest and rest[0] in vocabulary.schedule_fillers and not rest[0][:1].isdigit():
        rest.pop(0)
    at = _time("".join(rest), vocabulary.hour_marks)
    return ScheduleChoice(day=day, time=at) if at is not None else None


def weekday(token: str, language: str = "en") -> str | None:
    """The weekday code ("tue") a word names in the language or in English, or None.

    Full and short names count ("Dienstag", "Di.", "di"), a plural or an ending after a
    full name too ("Tuesdays", "dienstags"), and a start of three letters or more that
    names one day only ("tues", "thurs", "mittw").
    """
    folded = fold_word(token).rstrip(".")
    if not folded:
        return None
    for lang in (language, "en"):
        names = weekday_names(lang)
        if folded in names:
            return names[folded]
        full = _full_weekday_names(lang)
        starts = {code for name, code in full.items() if folded.startswith(name)}
        if len(starts) == 1:
            return starts.pop()
        if len(folded) >= 3:
            prefixes = {code for name, code in full.items() if name.startswith(folded)}
            if len(prefixes) == 1:
                return prefixes.pop()
    return None


@cache
def _full_weekday_names(language: str) -> dict[str, str]:
    """The weekday names longer than an abbreviation, for the start-of-a-name rules."""
    return {name: code for name, code in weekday_names(language).items() if len(name) > 3}


def _time(text: str, hour_marks: frozenset[str]) -> str | None:
    """ "18:30", "1830", "18h30", "18 Uhr", "6pm", "6:30am" as "HH:MM"; None if not a time."""
    for mark in sorted(hour_marks, key=len, reverse=True):
        if text.endswith(mark) and text[: -len(mark)][-1:].isdigit():
            text = text[: -len(mark)]
            break
    found = _TIME.fullmatch(text)
    if found is None:
        return None
    hour_text, minute_text, meridiem = found.groups()
    hour, minute = int(hour_text), int(minute_text or 0)
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem.startswith("p") else 0)
    if hour > 23 or minute > 59:
        return None
    return f"{hour:02d}:{minute:02d}"

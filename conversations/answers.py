"""Turn what a client typed or pressed into a typed answer, or say kindly what is accepted."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from conversations.messages import AnswerValue
from conversations.program import (
    ChoiceQuestion,
    DateQuestion,
    NumberQuestion,
    Question,
    ScaleQuestion,
    TextQuestion,
    YesNoQuestion,
)
from conversations.render import accepted
from conversations.translations import DEFAULT_LANGUAGE, Translator, translator

# Longest message the engine reads at all; longer input is refused before any parsing.
MAX_INPUT = 4000

_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20,
}
_YES = {"y", "yes", "yeah", "yep", "yup", "sure", "ok", "okay", "of course", "i agree",
        "agree", "true", "si", "ja", "👍", "✅"}
_NO = {"n", "no", "nope", "nah", "not really", "false", "nein", "👎", "❌"}
_NUMBER = re.compile(r"^[-+]?\d+(?:[.,]\d+)?$")


@dataclass(frozen=True)
class Invalid:
    """Why an answer was not accepted, phrased for the client."""

    reason: str


def clean_text(text: str) -> str:
    """Drop control characters (keeping newlines and tabs) and surrounding space."""
    kept = (ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C"
            or unicodedata.category(ch) == "Cf")
    return "".join(kept).strip()


def parse(question: Question, raw: str, today: date,
          language: str = DEFAULT_LANGUAGE) -> AnswerValue | Invalid:
    """Parse one answer to `question`; `today` is the client's local date. The reason of an
    `Invalid` is in `language`."""
    t = translator(language)
    text = clean_text(raw)
    if not text:
        return Invalid(t.gettext("I need an answer here: {accepted}.").format(
            accepted=accepted(question, t)))
    if len(text) > MAX_INPUT and not isinstance(question, TextQuestion):
        return Invalid(t.gettext("That's longer than I can read. Please send {accepted}.")
                       .format(accepted=accepted(question, t)))
    match question:
        case TextQuestion():
            if len(text) > question.max_length:
                return Invalid(t.ngettext(
                    "That's {count} character; please keep it under {limit}.",
                    "That's {count} characters; please keep it under {limit}.",
                    len(text)).format(count=len(text), limit=question.max_length))
            return text
        case ScaleQuestion():
            return _scale(question, text, t)
        case NumberQuestion():
            return _number(question, text, t)
        case YesNoQuestion():
            return _yes_no(text, t)
        case ChoiceQuestion():
            return _choice(question, text, t)
        case DateQuestion():
            return _date(text, today, t)
    raise AssertionError(question)


def _to_number(text: str) -> float | None:
    lowered = text.lower().strip()
    if lowered in _WORDS:
        return float(_WORDS[lowered])
    compact = re.sub(r"[\s_']", "", lowered)
    compact = re.sub(r"^[€$£¥]|(eur|usd|gbp|€|\$|£|%|k)$", _k_suffix, compact)
    multiplier = 1000.0 if compact.endswith("#k") else 1.0
    compact = compact.removesuffix("#k")
    # "1,200" is a thousands separator; "7,5" a decimal comma.
    if re.fullmatch(r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?", compact):
        compact = compact.replace(",", "")
    if not _NUMBER.match(compact):
        return None
    return float(compact.replace(",", ".")) * multiplier


def _k_suffix(match: re.Match[str]) -> str:
    return "#k" if match.group(0) == "k" else ""


def _scale(question: ScaleQuestion, text: str, t: Translator) -> int | Invalid:
    # "7/10" and "7 out of 10" mean 7.
    head = re.split(r"\s*(?:/|out of|of)\s*", text.lower(), maxsplit=1)[0]
    value = _to_number(head)
    if value is None or not value.is_integer() or not question.min <= value <= question.max:
        return Invalid(t.gettext("Please answer with {accepted}.").format(
            accepted=accepted(question, t)))
    return int(value)


def _number(question: NumberQuestion, text: str, t: Translator) -> float | int | Invalid:
    unit = (question.unit or "").lower()
    if unit and text.lower().endswith(unit):  # "10 hours" to a question asked in hours
        text = text[: -len(unit)].strip() or text
    value = _to_number(text)
    if value is None:
        return Invalid(t.gettext("I couldn't read that as a number. Please send {accepted}.")
                       .format(accepted=accepted(question, t)))
    too_low = question.min is not None and value < question.min
    too_high = question.max is not None and value > question.max
    if too_low or too_high or (question.integer and not value.is_integer()):
        return Invalid(t.gettext("Please send {accepted}.").format(
            accepted=accepted(question, t)))
    return int(value) if value.is_integer() else value


def _yes_no(text: str, t: Translator) -> bool | Invalid:
    lowered = text.lower().strip(" .!")
    if lowered in _YES:
        return True
    if lowered in _NO:
        return False
    return Invalid(t.gettext("Please answer yes or no."))


def _choice(question: ChoiceQuestion, text: str, t: Translator) -> str | Invalid:
    lowered = text.lower().strip(" .!")
    for index, option in enumerate(question.options, start=1):
        if lowered in (option.id, option.label.lower(), str(index)):
            return option.id
    numbered = ", ".join(f"{i}. {o.label}" for i, o in enumerate(question.options, start=1))
    return Invalid(t.gettext("Please pick one of: {options}.").format(options=numbered))


_DATE_FORMATS = ("%Y-%m-%d", "%d %B %Y", "%d %b %Y", "%B %d %Y", "%b %d %Y", "%d.%m.%Y")


def _date(text: str, today: date, t: Translator) -> date | Invalid:
    lowered = text.lower().strip(" .")
    if lowered == "today":
        return today
    if lowered == "tomorrow":
        return today + timedelta(days=1)
    if lowered == "yesterday":
        return today - timedelta(days=1)
    cleaned = text.replace(",", " ").strip()
    cleaned = re.sub(r"\s+", " ", cleaned)
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(cleaned, fmt).date()
        except ValueError:
            continue
    return Invalid(t.gettext("Please send a date like 2026-03-02 (or 'today', 'tomorrow')."))

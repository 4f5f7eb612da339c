"""Turn what a client typed or pressed into a typed answer, or say kindly what is accepted."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from conversations.answer_forms import accepted_forms
from conversations.date_input import parse_date
from conversations.language_words import words
from conversations.languages import fold_word
from conversations.messages import AnswerValue
from conversations.number_input import parse_number
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


@dataclass(frozen=True)
class Invalid:
    """Why an answer was not accepted, phrased for the client."""

    reason: str
    # The accepted forms in the client's language ("ja / nein"), for a re-ask sentence
    # that names them (`answer_forms.accepted_forms`); empty where the reason says it all.
    forms: str = ""


def clean_text(text: str) -> str:
    """Drop control characters (keeping newlines and tabs) and surrounding space."""
    kept = (ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C"
            or unicodedata.category(ch) == "Cf")
    return "".join(kept).strip()


def parse(question: Question, raw: str, today: date,
          language: str = DEFAULT_LANGUAGE) -> AnswerValue | Invalid:
    """Parse one answer to `question` typed in `language`; `today` is the client's local date.

    Yes/no words, number words, separators and dates are read the language's way (English
    words are understood in every language); an unknown language reads as English. The
    reason of an `Invalid` is in `language`.
    """
    t = translator(language)
    text = clean_text(raw)
    if not text:
        return Invalid(t.gettext("I need an answer here: {accepted}.").format(
            accepted=accepted(question, t, language)))
    if len(text) > MAX_INPUT and not isinstance(question, TextQuestion):
        return Invalid(t.gettext("That's longer than I can read. Please send {accepted}.")
                       .format(accepted=accepted(question, t, language)))
    match question:
        case TextQuestion():
            if len(text) > question.max_length:
                return Invalid(t.ngettext(
                    "That's {count} character; please keep it under {limit}.",
                    "That's {count} characters; please keep it under {limit}.",
                    len(text)).format(count=len(text), limit=question.max_length))
            return text
        case ScaleQuestion():
            return _scale(question, text, t, language)
        case NumberQuestion():
            return _number(question, text, t, language)
        case YesNoQuestion():
            return _yes_no(text, t, language)
        case ChoiceQuestion():
            return _choice(question, text, t)
        case DateQuestion():
            return _date(text, today, t, language)
    raise AssertionError(question)


# "7/10", "7 out of 10", "7 von 10", "7 de 10", "7 sur 10" all mean 7.
_OUT_OF = re.compile(r"\s*(?:/|out of|of|von|de|sur)\s+|\s*/\s*")


def _scale(question: ScaleQuestion, text: str, t: Translator,
           language: str) -> int | Invalid:
    head = _OUT_OF.split(text.lower(), maxsplit=1)[0]
    value = parse_number(head, language)
    if value is None or not value.is_integer() or not question.min <= value <= question.max:
        return Invalid(t.gettext("Please answer with {accepted}.").format(
            accepted=accepted(question, t, language)),
            str(accepted_forms("scale", language, low=question.min, high=question.max)))
    return int(value)


def _number(question: NumberQuestion, text: str, t: Translator,
            language: str) -> float | int | Invalid:
    unit = (question.unit or "").lower()
    if unit and text.lower().endswith(unit):  # "10 hours" to a question asked in hours
        text = text[: -len(unit)].strip() or text
    value = parse_number(text, language)
    if value is not None and _within(question, value):
        return int(value) if value.is_integer() else value
    forms = str(accepted_forms("number", language, low=question.min, high=question.max))
    shown = accepted(question, t, language)
    if value is None:
        # TRANSLATORS: {forms} are examples in the language, e.g. "1.200,5 / sieben".
        return Invalid(t.gettext("I couldn't read that as a number. Please send {accepted}, "
                                 "for example {forms}.").format(accepted=shown, forms=forms),
                       forms)
    return Invalid(t.gettext("Please send {accepted}.").format(accepted=shown), forms)


def _within(question: NumberQuestion, value: float) -> bool:
    """Inside the bounds, and whole where the question wants a whole number."""
    too_low = question.min is not None and value < question.min
    too_high = question.max is not None and value > question.max
    return not (too_low or too_high or (question.integer and not value.is_integer()))


def _yes_no(text: str, t: Translator, language: str) -> bool | Invalid:
    said = fold_word(text)
    vocabulary = words(language)
    if said in vocabulary.yes:
        return True
    if said in vocabulary.no:
        return False
    forms = str(accepted_forms("yes_no", language))
    # TRANSLATORS: {forms} are the language's own yes and no words, e.g. "ja / nein".
    return Invalid(t.gettext("Please answer {forms}.").format(forms=forms), forms)


def _choice(question: ChoiceQuestion, text: str, t: Translator) -> str | Invalid:
    said = fold_word(text)  # "Operações" or "operacoes" both pick the label "Operações"
    for index, option in enumerate(question.options, start=1):
        if said in (option.id, fold_word(option.label), str(index)):
            return option.id
    numbered = ", ".join(f"{i}. {o.label}" for i, o in enumerate(question.options, start=1))
    return Invalid(t.gettext("Please pick one of: {options}.").format(options=numbered))


def _date(text: str, today: date, t: Translator, language: str) -> date | Invalid:
    found = parse_date(text, today, language)
    if found is None:
        forms = str(accepted_forms("date", language))
        # TRANSLATORS: {forms} are examples in the language, e.g. "heute / morgen / 02.03.2026".
        return Invalid(t.gettext("Please send a date, for example {forms}.").format(forms=forms),
                       forms)
    return found

"""Channel-neutral message texts: placeholders filled in a sandbox, questions as prompts."""

from __future__ import annotations

import re
from collections.abc import Mapping

from conversations.formatting import format_number
from conversations.messages import Button
from conversations.program import (
    ChoiceQuestion,
    DateQuestion,
    NumberQuestion,
    Program,
    Question,
    ScaleQuestion,
    TextQuestion,
    YesNoQuestion,
)
from conversations.translations import Translator, translator

# Only these names can appear in program texts; nothing else is looked up, so a program
# file cannot reach attributes or code (unlike str.format on real objects).
PLACEHOLDERS = frozenset({
    "client.first_name", "client.name", "coach.name", "program.name", "week", "weeks",
    "stage", "checkin_day", "checkin_time", "booking_link",
})
# Placeholders without a value for some clients; a text must give them a fallback,
# `{coach.name|your coach}`, written in the program's language (`validate` checks it).
MAY_BE_EMPTY = frozenset({"coach.name"})
_PLACEHOLDER = re.compile(r"\{([a-z_.]+)(?:\|([^{}|]*))?\}")


def fill(text: str, values: Mapping[str, object]) -> str:
    """Replace known {placeholders} ({name|fallback}: the fallback when it has no value);
    leave anything else exactly as written."""

    def replace(match: re.Match[str]) -> str:
        name, fallback = match.group(1), match.group(2)
        if name not in PLACEHOLDERS:
            return match.group(0)
        value = values.get(name)
        if value is not None and value != "":
            return str(value)
        if fallback is not None:
            return fallback
        return match.group(0) if name not in values else ""

    return _PLACEHOLDER.sub(replace, text)


def _plain(value: float, language: str = "en") -> str:
    """A bound or an answer as typed: 12000 rather than 12000.0 or 12,000; 2.5 as it is."""
    return format_number(value, language, grouping=False)


def accepted(question: Question, t: Translator | None = None, language: str = "en") -> str:
    """What a valid answer looks like, in words a client understands (in `t`'s language,
    bounds written the `language`'s way: "0 to 7,5")."""
    t = t or translator(language)
    match question:
        case ScaleQuestion():
            return t.gettext("a number from {min} to {max}").format(min=question.min,
                                                                   max=question.max)
        case NumberQuestion():
            return _accepted_number(question, t, language)
        case YesNoQuestion():
            return t.gettext("yes or no")
        case ChoiceQuestion():
            return t.gettext("one of: {options}").format(
                options=", ".join(o.label for o in question.options))
        case DateQuestion():
            return t.gettext("a date like 2026-03-02 (or 'today', 'tomorrow')")
        case TextQuestion():
            return t.ngettext("a few words (up to {count} character)",
                              "a few words (up to {count} characters)",
                              question.max_length).format(count=question.max_length)
    raise AssertionError(question)


def _accepted_number(question: NumberQuestion, t: Translator, language: str) -> str:
    low = _plain(question.min, language) if question.min is not None else None
    high = _plain(question.max, language) if question.max is not None else None
    # Each combination is one whole sentence part, so a language may order it its own way.
    if question.integer:
        if low is not None and high is not None:
            text = t.gettext("a whole number from {min} to {max}")
        elif low is not None:
            text = t.gettext("a whole number of at least {min}")
        elif high is not None:
            text = t.gettext("a whole number up to {max}")
        else:
            text = t.gettext("a whole number")
    elif low is not None and high is not None:
        text = t.gettext("a number from {min} to {max}")
    elif low is not None:
        text = t.gettext("a number of at least {min}")
    elif high is not None:
        text = t.gettext("a number up to {max}")
    else:
        text = t.gettext("a number")
    text = text.format(min=low, max=high)
    return f"{text} ({question.unit})" if question.unit else text


def buttons(question: Question, t: Translator | None = None) -> tuple[Button, ...]:
    """The buttons a channel may show for a question (none for typed answers); labels in
    `t`'s language, values the same in every language."""
    t = t or translator("en")
    match question:
        case ScaleQuestion():
            return tuple(
                Button(label=str(n), value=str(n)) for n in range(question.min, question.max + 1))
        case YesNoQuestion():
            return (Button(label=t.gettext("Yes"), value="yes"),
                    Button(label=t.gettext("No"), value="no"))
        case ChoiceQuestion():
            return tuple(Button(label=o.label, value=o.id) for o in question.options)
    return ()


def prompt(question: Question, values: Mapping[str, object],
           t: Translator | None = None) -> str:
    """The question as the client reads it, with the scale's meaning when it has labels."""
    t = t or translator("en")
    text = fill(question.prompt, values)
    if isinstance(question, ScaleQuestion):
        hints = [f"{point} = {label}" for point, label in sorted(question.labels.items())]
        scale = f"{question.min}-{question.max}"
        text += f" ({scale}: {', '.join(hints)})" if hints else f" ({scale})"
    elif isinstance(question, NumberQuestion) and question.unit:
        text += f" ({question.unit})"
    if question.optional:
        text += "  " + t.gettext("/skip if you'd rather not say")
    return text


def answer_title(program: Program, flow_id: str, question_id: str) -> str:
    """What a coach calls an answer: the title of the metric read from it, else its id."""
    source = f"{flow_id}.{question_id}"
    for metric in program.metrics:
        if metric.source.answer == source and metric.title:
            return metric.title
    return question_id.replace("_", " ")


def shown_answer(question: Question | None, value: object, language: str = "en") -> str:
    """An answer as a coach reads it: ✓/✗ for yes/no, a choice's label, a unit, 7/10;
    a number with the reader's decimal sign ("7,5" in German)."""
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(question, ChoiceQuestion):
        return next((o.label for o in question.options if o.id == value), str(value))
    if isinstance(value, int | float):
        number = _plain(value, language)
        if isinstance(question, ScaleQuestion):
            return f"{number}/{question.max}"
        if isinstance(question, NumberQuestion) and question.unit:
            return f"{number} {question.unit}"
        return number
    return str(value)

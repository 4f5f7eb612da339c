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

# Only these names can appear in program texts; nothing else is looked up, so a program
# file cannot reach attributes or code (unlike str.format on real objects).
PLACEHOLDERS = frozenset({
    "client.first_name", "client.name", "coach.name", "program.name", "week", "weeks",
    "stage", "checkin_day", "checkin_time", "booking_link",
})
_PLACEHOLDER = re.compile(r"\{([a-z_.]+)\}")


def fill(text: str, values: Mapping[str, object]) -> str:
    """Replace known {placeholders}; leave anything else exactly as written."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in PLACEHOLDERS and name in values:
            return str(values[name])
        return match.group(0)

    return _PLACEHOLDER.sub(replace, text)


def _plain(value: float, language: str = "en") -> str:
    """A bound or an answer as typed: 12000 rather than 12000.0 or 12,000; 2.5 as it is."""
    return format_number(value, language, grouping=False)


def accepted(question: Question, language: str = "en") -> str:
    """What a valid answer looks like, in words a client understands (bounds written the
    `language`'s way: "0 to 7,5")."""
    match question:
        case ScaleQuestion():
            return f"a number from {question.min} to {question.max}"
        case NumberQuestion():
            unit = f" ({question.unit})" if question.unit else ""
            kind = "a whole number" if question.integer else "a number"
            if question.min is not None and question.max is not None:
                return (f"{kind} from {_plain(question.min, language)} to "
                        f"{_plain(question.max, language)}{unit}")
            if question.min is not None:
                return f"{kind} of at least {_plain(question.min, language)}{unit}"
            if question.max is not None:
                return f"{kind} up to {_plain(question.max, language)}{unit}"
            return f"{kind}{unit}"
        case YesNoQuestion():
            return "yes or no"
        case ChoiceQuestion():
            return "one of: " + ", ".join(o.label for o in question.options)
        case DateQuestion():
            return "a date like 2026-03-02 (or 'today', 'tomorrow')"
        case TextQuestion():
            return f"a few words (up to {question.max_length} characters)"
    raise AssertionError(question)


def buttons(question: Question) -> tuple[Button, ...]:
    """The buttons a channel may show for a question (none for typed answers)."""
    match question:
        case ScaleQuestion():
            return tuple(
                Button(label=str(n), value=str(n)) for n in range(question.min, question.max + 1))
        case YesNoQuestion():
            return (Button(label="Yes", value="yes"), Button(label="No", value="no"))
        case ChoiceQuestion():
            return tuple(Button(label=o.label, value=o.id) for o in question.options)
    return ()


def prompt(question: Question, values: Mapping[str, object]) -> str:
    """The question as the client reads it, with the scale's meaning when it has labels."""
    text = fill(question.prompt, values)
    if isinstance(question, ScaleQuestion):
        hints = [f"{point} = {label}" for point, label in sorted(question.labels.items())]
        scale = f"{question.min}-{question.max}"
        text += f" ({scale}: {', '.join(hints)})" if hints else f" ({scale})"
    elif isinstance(question, NumberQuestion) and question.unit:
        text += f" ({question.unit})"
    if question.optional:
        text += "  /skip if you'd rather not say"
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

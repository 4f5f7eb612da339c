"""Action items a coach sets after a session, asked about at the next weekly check-in. Pure.

Each open item becomes one choice question (Done / Partly / Not yet) put in front of the
check-in's own questions; its question id carries the item's id, so the answer is stored
like any other and the item can be found from it. How much an answer counts towards the
client's implementation is written here once (`SCORES`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime

from pydantic import BaseModel

from conversations.formatting import format_day
from conversations.metrics import AnswerPoint
from conversations.program import ChoiceQuestion, Flow, Metric, Option, Program
from conversations.translations import DEFAULT_LANGUAGE, N_, Translator, translator

QUESTION_PREFIX = "action_item_"
SCORES: dict[str, float] = {"done": 1.0, "partly": 0.5, "not_yet": 0.0}
# English message ids; the client reads (and may type) them in their own language.
_LABELS: dict[str, str] = {"done": N_("Done"), "partly": N_("Partly"),
                           "not_yet": N_("Not yet")}
# What the completion is called where the program's metric has no title of its own.
DONE_TITLE = N_("Action items done")
# TRANSLATORS: how a check-in asks about an action item; {item} is the coach's words for it,
# {due} its due date ("Fri 06 Mar") or "no date".
DEFAULT_QUESTION = N_("From your last session: \"{item}\" (due {due}). How did it go?")
MAX_ITEMS = 5
MAX_TEXT = 300


class AskedItem(BaseModel):
    """An open action item as a check-in asks about it (kept in the conversation's state, so
    the check-in asks about the items it opened with, whatever the coach adds meanwhile)."""

    id: int
    text: str
    due: date | None = None


def question_id(item_id: int) -> str:
    """The id of the check-in question about one action item."""
    return f"{QUESTION_PREFIX}{item_id}"


def item_of(question: str) -> int | None:
    """The action item a check-in question asks about, if it is one."""
    if not question.startswith(QUESTION_PREFIX):
        return None
    rest = question[len(QUESTION_PREFIX):]
    return int(rest) if rest.isdigit() else None


def score(answer: object) -> float | None:
    """What an answer about an action item counts: done 1, partly 0.5, not yet 0."""
    return SCORES.get(str(answer)) if answer is not None else None


def completion(scores: Iterable[float]) -> float | None:
    """The share of a check-in's action items done, 0..1 (None: none asked about)."""
    values = list(scores)
    return round(sum(values) / len(values), 4) if values else None


def completions(scored: Iterable[tuple[int, datetime, float]]) -> list[AnswerPoint]:
    """The completion metric over a history: one point per check-in that asked about items,
    at its first answer about one, from (conversation id, answered at, score) in the order
    given."""
    by_checkin: dict[int, tuple[datetime, list[float]]] = {}
    for conversation_id, at, value in scored:
        by_checkin.setdefault(conversation_id, (at, []))[1].append(value)
    points = [AnswerPoint(at, value) for at, scores in by_checkin.values()
              if (value := completion(scores)) is not None]
    return sorted(points, key=lambda p: p.at)


def options(t: Translator) -> list[Option]:
    """Done / Partly / Not yet in `t`'s language (the ids the same in every language)."""
    return [Option(id=key, label=t.gettext(text)) for key, text in _LABELS.items()]


def label(answer: object, t: Translator | None = None) -> str:
    """An answer about an action item as a reader of `t`'s language calls it: Done, Erledigt."""
    text = _LABELS.get(str(answer))
    return (t or translator(DEFAULT_LANGUAGE)).gettext(text) if text else str(answer)


def shown(value: float) -> str:
    """A completion as a coach or client reads it: 75%."""
    return f"{round(value * 100)}%"


def metric_of(program: Program) -> Metric | None:
    """The program's metric of action-item completion, if it has one."""
    return next((m for m in program.metrics if m.source.behaviour == "action_items"), None)


def question_for(item: AskedItem, wording: str | None,
                 language: str = DEFAULT_LANGUAGE) -> ChoiceQuestion:
    """The question about one item, in the program's words ({item}, {due}) or, when the
    program has none, the catalog's in the client's `language`."""
    t = translator(language)
    due = format_day(item.due, language) if item.due else t.gettext("no date")
    text = wording if wording is not None else t.gettext(DEFAULT_QUESTION)
    # Replaced here, not by the placeholder sandbox: the item's own words are not a template.
    text = text.replace("{due}", due).replace("{item}", item.text[:MAX_TEXT])
    return ChoiceQuestion(id=question_id(item.id), type="choice", prompt=text[:1000],
                          options=options(t))


def with_items(flow: Flow, items: Sequence[AskedItem], wording: str | None,
               language: str = DEFAULT_LANGUAGE) -> Flow:
    """The check-in flow asking about each item first, then its own questions."""
    if not items:
        return flow
    asked = [question_for(item, wording, language) for item in items]
    return flow.model_copy(update={"questions": [*asked, *flow.questions]})

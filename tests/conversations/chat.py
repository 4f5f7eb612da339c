"""A client talking to the pure engine: no database, no network, a hand-made Context."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path

from conversations.action_items import AskedItem
from conversations.engine import Context, FlowState, Status, Step, start_flow, step
from conversations.loader import parse_program
from conversations.messages import AcceptedAnswer, Inbound, Reply
from conversations.program import Program

SAMPLE_PATH = Path(__file__).parents[2] / "bot" / "programs" / "business-coaching-12w.yaml"
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
TODAY = date(2026, 3, 2)
VALUES = {
    "client.first_name": "Ana", "client.name": "Ana Lima", "coach.name": "Casey Coach",
    "program.name": "Grow", "week": 3, "weeks": 12, "stage": "active",
    "checkin_day": "mon", "checkin_time": "09:00",
}


def sample_text() -> str:
    """The bundled sample program file, as text."""
    return SAMPLE_PATH.read_text(encoding="utf-8")


def revised_sample_text() -> str:
    """The sample revised as an owner would after a review: the blocker question and the
    rule reading it removed, revenue renamed revenue_eur (renamed_from; its metric
    following), and the weekly check-in moved from Monday 09:00 to Tuesday 18:00."""
    text = sample_text()
    blocker = ('      - id: blocker\n        type: text\n        max_length: 1000\n'
               '        when: {question: confidence, below: 5}\n'
               '        prompt: "Sorry to hear that. What got in the way?"\n')
    churn = text[text.index("  - id: churn_words"):text.index("  - id: revenue_plateau")]
    assert blocker in text
    text = text.replace(blocker, "").replace(churn, "")
    text = text.replace("      - id: revenue\n",
                        "      - id: revenue_eur\n        renamed_from: revenue\n")
    text = text.replace("from: {answer: weekly_checkin.revenue}",
                        "from: {answer: weekly_checkin.revenue_eur}")
    return text.replace('weekly: {day: mon, time: "09:00"}', 'weekly: {day: tue, time: "18:00"}')


@cache
def sample() -> Program:
    """The bundled sample program, parsed once."""
    return parse_program(sample_text(), str(SAMPLE_PATH))


@dataclass
class Chat:
    """One client's conversation state, moved on only by the engine's steps."""

    program: Program = field(default_factory=sample)
    status: Status = "consent"
    flow_state: FlowState | None = None
    steps: list[Step] = field(default_factory=list)
    received: list[Reply] = field(default_factory=list)
    # The client's open action items, as storage would hand them in.
    action_items: tuple[AskedItem, ...] = ()
    language: str = "en"

    @property
    def context(self) -> Context:
        return Context(program=self.program, status=self.status, flow_state=self.flow_state,
                       now=NOW, today=TODAY, values=VALUES, action_items=self.action_items,
                       language=self.language)

    def _apply(self, outcome: Step) -> list[str]:
        self.status, self.flow_state = outcome.status, outcome.flow_state
        self.steps.append(outcome)
        self.received.extend(outcome.replies)
        return [r.text for r in outcome.replies]

    def start(self, flow_id: str) -> list[str]:
        """The bot opens a flow (as a touchpoint or joining would)."""
        return self._apply(start_flow(self.context, flow_id))

    def send(self, message: Inbound) -> list[str]:
        """Any message: typed text or a pressed button."""
        return self._apply(step(self.context, message))

    def says(self, text: str) -> list[str]:
        """The client types `text`; the texts the bot replies with."""
        return self._apply(step(self.context, Inbound(text=text)))

    def presses(self, value: str, *, question: str | None = None) -> list[str]:
        """The client presses a button of `question` (default: the question last asked)."""
        asked = question or next(r.question for r in reversed(self.received) if r.question)
        return self._apply(step(self.context, Inbound(button=value, button_question=asked)))

    @property
    def last(self) -> Step:
        return self.steps[-1]

    @property
    def answers(self) -> list[AcceptedAnswer]:
        """Every answer the engine accepted, in order."""
        return [a for s in self.steps for a in s.answers]

    @property
    def events(self) -> list[str]:
        return [e.kind for s in self.steps for e in s.events]

    @property
    def asked(self) -> str | None:
        return self.flow_state.asked if self.flow_state else None


INTAKE = [("yes", "In your own words"), ("Double my revenue", "monthly revenue today"),
          ("12,000", "How confident are you"), ("6", "How many hours"),
          ("10", "first coaching session"), ("/skip", "first weekly check-in is ready")]


def after_intake() -> Chat:
    """A client who gave consent and finished the intake."""
    chat = Chat()
    chat.start("intake")
    for typed, _ in INTAKE:
        chat.says(typed)
    assert chat.status == "active" and chat.flow_state is None
    return chat


def in_checkin() -> Chat:
    """A client who has just been asked the first check-in question."""
    chat = after_intake()
    chat.says("/checkin")
    assert chat.asked == "confidence"
    return chat

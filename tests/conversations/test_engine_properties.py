"""Whatever a client sends, in whatever order, the engine keeps its promises.

Random sequences of typed answers, commands and button presses (fresh and stale):
- nothing raises;
- every accepted answer stays in the conversation until its flow completes;
- `edited` is set exactly when an answer replaces one given earlier in the same flow;
- every step answers the client (unless it is a stale press or an event for the handler);
- from any state reached, answering the question asked (and /resume when paused) finishes
  the flow: no conversation is stuck.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conversations.engine import _json_value
from conversations.messages import Inbound
from conversations.program import (
    ChoiceQuestion,
    DateQuestion,
    NumberQuestion,
    Question,
    ScaleQuestion,
    TextQuestion,
    YesNoQuestion,
)
from tests.conversations.chat import Chat, sample

QUESTION_IDS = sorted({q.id for f in sample().flows for q in f.questions})
COMMANDS = ["/help", "/start", "/skip", "/back", "/later", "/checkin", "/pause", "/resume",
            "/progress", "/privacy", "/schedule tue 18:30", "/schedule never", "/nope", "/"]
ANSWERS = ["yes", "no", "y", "nope", "1", "3", "4", "5", "8", "10", "11", "3/10", "seven",
           "2500", "€2,500", "-1", "sales", "Hiring", "today", "2026-02-30", "", "   ",
           "Double my revenue", "🚀", "\x00\x07", "x" * 5000]

typed = st.one_of(st.sampled_from(ANSWERS), st.sampled_from(COMMANDS),
                  st.text(max_size=40)).map(lambda text: Inbound(text=text))
pressed = st.builds(lambda value, question: Inbound(button=value, button_question=question),
                    st.sampled_from(["1", "3", "8", "yes", "no", "sales", "not_yet", "99", ""]),
                    st.one_of(st.none(), st.sampled_from(QUESTION_IDS)))
# Commands and plausible answers come up often, so /back followed by an answer (an edit) does.
messages = st.lists(st.one_of(typed, pressed, st.just(Inbound(text="/back")),
                              st.sampled_from(ANSWERS[:16]).map(lambda t: Inbound(text=t))),
                    min_size=3, max_size=40)
starts = st.sampled_from(["intake", "after_intake"])

FAST = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


def valid_answer(question: Question) -> str:
    """Something the client could always type to answer `question`."""
    match question:
        case TextQuestion():
            return "fine"
        case ScaleQuestion():
            return str(question.max)
        case NumberQuestion():
            return str(int(question.min or 0))
        case YesNoQuestion():
            return "yes"
        case ChoiceQuestion():
            return question.options[-1].id
        case DateQuestion():
            return "today"
    raise AssertionError(question)


class Watcher:
    """Replays a chat step by step and checks the promises after each one."""

    def __init__(self, chat: Chat) -> None:
        self.chat = chat
        self.flow: str | None = chat.flow_state.flow if chat.flow_state else None
        self.kept: dict[str, object] = dict(chat.flow_state.answers) if chat.flow_state else {}

    def send(self, message: Inbound) -> None:
        chat = self.chat
        before = chat.flow_state
        chat.send(message)
        result = chat.last
        kinds = [e.kind for e in result.events]
        if "flow_started" in kinds:
            self.flow, self.kept = result.flow_state.flow, {}
        for answer in result.answers:
            assert answer.flow == self.flow
            assert answer.edited == (answer.question in self.kept), answer
            self.kept[answer.question] = _json_value(answer.value)
        if "flow_completed" in kinds or "consent_declined" in kinds:
            assert result.flow_state is None
            self.flow, self.kept = None, {}
        state = result.flow_state
        if state is not None:
            assert state.flow == self.flow
            for question, value in self.kept.items():
                assert state.answers.get(question) == value, (question, state.answers)
            assert state.asked is not None
            assert chat.program.flow(state.flow).question(state.asked) is not None
        else:
            assert not self.kept
        if result.stale:
            assert result.flow_state == before and not result.replies and not result.answers
        else:
            assert result.replies or kinds == ["progress_requested"], message

    def finish(self) -> None:
        """Answer whatever is asked until nothing is open; it must not take long."""
        chat = self.chat
        for _ in range(40):
            if chat.status == "paused":
                self.send(Inbound(text="/resume"))
            elif chat.flow_state is None:
                return
            else:
                flow = chat.program.flow(chat.flow_state.flow)
                question = flow.question(chat.flow_state.asked)
                self.send(Inbound(text=valid_answer(question)))
        raise AssertionError(f"stuck: {chat.status} {chat.flow_state}")


def begin(start: str) -> Chat:
    chat = Chat()
    if start == "intake":
        chat.start("intake")
    else:
        chat.start("intake")
        for typed_answer in ["yes", "goal", "100", "5", "10", "today"]:
            chat.says(typed_answer)
        assert chat.flow_state is None
    return chat


@FAST
@given(start=starts, sent=messages)
def test_any_sequence_keeps_answers_and_never_gets_stuck(start, sent):
    watcher = Watcher(begin(start))
    for message in sent:
        watcher.send(message)
    watcher.finish()
    assert watcher.chat.status in ("active", "declined")


@FAST
@given(sent=messages)
def test_any_sequence_inside_a_checkin_then_answers_complete_it(sent):
    chat = begin("after_intake")
    chat.says("/checkin")
    watcher = Watcher(chat)
    for message in sent:
        watcher.send(message)
    watcher.finish()
    completed = [s for s in chat.steps
                 if any(e.kind == "flow_completed" and e.flow == "weekly_checkin"
                        for e in s.events)]
    if chat.status == "active":
        assert completed


@FAST
@given(raw=st.text(max_size=300), button=st.booleans())
def test_any_text_to_any_question_is_accepted_or_re_asked(raw, button):
    for flow in sample().flows:
        for question in flow.questions:
            chat = Chat(status="active")
            chat.start(flow.id)
            chat.flow_state = chat.flow_state.model_copy(update={"asked": question.id})
            message = (Inbound(button=raw, button_question=question.id) if button
                       else Inbound(text=raw))
            if not button and raw.strip().startswith("/"):
                continue
            replies = chat.send(message)
            if chat.last.answers:
                assert chat.last.answers[0].question == question.id
            else:
                assert replies[0].startswith("Sorry, I didn't get that.")
                assert chat.asked == question.id


def test_valid_answers_finish_every_flow_of_the_sample():
    for flow in sample().flows:
        chat = Chat(status="active")
        chat.start(flow.id)
        Watcher(chat).finish()
        assert chat.events[-1] == "flow_completed"

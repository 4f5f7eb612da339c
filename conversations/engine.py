"""The conversation engine: one pure step from (state, message, now) to (state, answers, replies).

No I/O: storage loads a `Context`, calls `step` or `start_flow`, and persists the `Step`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from conversations.action_items import AskedItem, with_items
from conversations.answer_forms import accepted_forms
from conversations.answers import MAX_INPUT, Invalid, clean_text, parse
from conversations.formatting import format_time, format_weekday
from conversations.languages import language_name
from conversations.messages import AcceptedAnswer, AnswerValue, Event, Inbound, Reply
from conversations.program import (
    WEEKDAYS,
    Condition,
    Flow,
    Program,
    Question,
    YesNoQuestion,
)
from conversations.render import buttons, fill, prompt
from conversations.schedule_input import parse_schedule
from conversations.translations import (
    DEFAULT_LANGUAGE,
    N_,
    SUPPORTED_LANGUAGES,
    Translator,
    supported_language,
    translator,
)

Status = Literal["consent", "active", "paused", "declined", "graduated", "dropped"]


class FlowState(BaseModel):
    """Where one open conversation stands; stored as JSON so it survives restarts."""

    flow: str
    asked: str | None = None
    answers: dict[str, str | float | int | bool] = Field(default_factory=dict)
    skipped: list[str] = Field(default_factory=list)
    order: list[str] = Field(default_factory=list)
    editing: bool = False
    snoozed: bool = False
    started_at: datetime
    # The action items this check-in asks about before its own questions.
    items: list[AskedItem] = Field(default_factory=list)


@dataclass(frozen=True)
class Context:
    """Everything the engine may know about one client at one moment."""

    program: Program
    status: Status
    flow_state: FlowState | None
    now: datetime
    today: date
    values: Mapping[str, object] = field(default_factory=dict)
    # The client's open action items: the next check-in asks about each (if the program
    # says so).
    action_items: tuple[AskedItem, ...] = ()
    # The language the client is spoken to in (BCP 47; the program's unless they chose one):
    # how answers are read and dates and numbers written.
    language: str = DEFAULT_LANGUAGE


@dataclass(frozen=True)
class Step:
    """The outcome of one step: what to store and what to send."""

    status: Status
    flow_state: FlowState | None
    replies: tuple[Reply, ...] = ()
    answers: tuple[AcceptedAnswer, ...] = ()
    events: tuple[Event, ...] = ()
    # A pressed button that belonged to an earlier question: nothing changed.
    stale: bool = False


def _json_value(value: AnswerValue) -> str | float | int | bool:
    return value.isoformat() if isinstance(value, date) else value


def _holds(condition: Condition, answers: Mapping[str, object]) -> bool:
    if condition.question not in answers:
        return False
    value = answers[condition.question]
    if condition.equals is not None:
        if isinstance(condition.equals, bool) or isinstance(value, bool):
            return value is condition.equals
        return str(value).lower() == str(condition.equals).lower()
    if condition.one_of is not None:
        return str(value) in condition.one_of
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if condition.below is not None:
        return value < condition.below
    return condition.above is not None and value > condition.above


def next_question(flow: Flow, state: FlowState) -> Question | None:
    """The first question not yet answered or skipped whose condition holds."""
    for question in flow.questions:
        if question.id in state.answers or question.id in state.skipped:
            continue
        if question.when is not None and not _holds(question.when, state.answers):
            continue
        return question
    return None


class _Turn:
    """Collects one step's output while the step's logic runs."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.status: Status = ctx.status
        self.state = ctx.flow_state.model_copy(deep=True) if ctx.flow_state else None
        self.replies: list[Reply] = []
        self.answers: list[AcceptedAnswer] = []
        self.events: list[Event] = []
        self.t: Translator = translator(ctx.language)

    def say(self, text: str) -> None:
        self.replies.append(Reply(text=fill(text, self.ctx.values)))

    def ask(self, question: Question, lead: str | None = None,
            opening: tuple[str, ...] = ()) -> None:
        """Ask `question`; `lead` on the line above (a re-ask's reason), `opening` the
        paragraphs above that (a flow's intro)."""
        assert self.state is not None
        self.state.asked = question.id
        text = prompt(question, self.ctx.values, self.t)
        if isinstance(question, YesNoQuestion) and question.consent:
            text = f"{self.ctx.program.privacy.statement.strip()}\n\n{text}"
        if lead:
            text = f"{lead}\n{text}"
        text = "\n\n".join((*opening, text))
        self.replies.append(Reply(text=text, buttons=buttons(question, self.t),
                                  question=question.id, flow=self.state.flow,
                                  commands=("skip",) if question.optional else (),
                                  language=self.ctx.language))

    def done(self, *, stale: bool = False) -> Step:
        return Step(status=self.status, flow_state=self.state, replies=tuple(self.replies),
                    answers=tuple(self.answers), events=tuple(self.events), stale=stale)


def flow_of(program: Program, state: FlowState,
            language: str = DEFAULT_LANGUAGE) -> Flow | None:
    """The flow a conversation runs: the program's, with its action items in front (asked,
    and their answers read, in the client's `language`)."""
    flow = program.flows_by_id().get(state.flow)
    if flow is None or not state.items:
        return flow
    return with_items(flow, state.items, program.action_items.question, language)


def start_flow(ctx: Context, flow_id: str, *, lead: str | None = None) -> Step:
    """Open `flow_id` for the client and ask its first question (a check-in asks about
    the client's open action items first) in one message that opens with `lead` (a catalog
    message id, e.g. the catch-up line, in the client's language) and the flow's intro."""
    turn = _Turn(ctx)
    turn.state = FlowState(flow=flow_id, started_at=ctx.now)
    if flow_id == ctx.program.checkin_flow and ctx.program.action_items.enabled:
        turn.state.items = list(ctx.action_items)
    flow = flow_of(ctx.program, turn.state, ctx.language)
    assert flow is not None, "start_flow is given a flow of the program"
    turn.events.append(Event("flow_started", flow=flow_id))
    # The lead and the intro open the first question's message: one message, not two the
    # chat's pace keeps a second apart (and half the messages of a Monday's check-ins).
    opening = [turn.t.gettext(lead)] if lead else []
    if flow.intro:
        opening.append(fill(flow.intro, ctx.values))
    first = next_question(flow, turn.state)
    assert first is not None, "a flow has at least one unconditional question"
    turn.ask(first, opening=tuple(opening))
    return turn.done()


def step(ctx: Context, message: Inbound) -> Step:
    """Handle one inbound message from the client."""
    text = message.text.strip()
    if message.button is None and text.startswith("/"):
        return _command(ctx, text)
    if message.button is not None and (ctx.flow_state is None or ctx.flow_state.asked is None):
        return _Turn(ctx).done(stale=True)  # a keyboard left over from a finished flow
    turn = _Turn(ctx)
    if ctx.status == "paused":
        turn.say(turn.t.gettext("You're on pause, so I'm not asking anything. Send /resume "
                                "when you're ready to pick up again."))
        return turn.done()
    if ctx.status in ("declined", "graduated", "dropped"):
        turn.say(_closed_text(ctx.status, turn.t))
        return turn.done()
    state = turn.state
    if state is None or state.asked is None:
        turn.say(_idle_text(ctx))
        return turn.done()
    current = _current(turn)
    if current is None:
        return _moved_forward(turn)
    flow, question = current
    if message.button is not None and message.button_question not in (None, question.id):
        return turn.done(stale=True)
    if state.snoozed and message.button is None:
        state.snoozed = False
        turn.events.append(Event("resumed", flow=state.flow))
        turn.ask(question, lead=turn.t.gettext("Welcome back! Here's where we were:"))
        return turn.done()
    state.snoozed = False
    raw = message.button if message.button is not None else message.text
    value = parse(question, raw, ctx.today, ctx.language)
    if isinstance(value, Invalid):
        turn.ask(question, lead=turn.t.gettext("Sorry, I didn't get that. {reason}").format(
            reason=value.reason))
        return turn.done()
    _accept(turn, flow, question, value, raw)
    return turn.done()


def _accept(turn: _Turn, flow: Flow, question: Question, value: AnswerValue, raw: str) -> None:
    state = turn.state
    assert state is not None
    edited = question.id in state.answers
    state.answers[question.id] = _json_value(value)
    if question.id in state.skipped:
        state.skipped.remove(question.id)
    if question.id not in state.order:
        state.order.append(question.id)
    state.editing = False
    # The raw text is kept cleaned too: a NUL byte is something PostgreSQL refuses to store.
    turn.answers.append(AcceptedAnswer(flow=flow.id, question=question.id, value=value,
                                       raw=clean_text(raw)[:MAX_INPUT], edited=edited))
    if isinstance(question, YesNoQuestion) and question.consent:
        if value is False:
            turn.status = "declined"
            turn.state = None
            turn.events.append(Event("consent_declined", flow=flow.id))
            turn.say(turn.t.gettext(
                "Understood, and thank you for telling me. I won't ask you anything else or "
                "keep anything beyond this answer. If you change your mind, ask your coach "
                "for a new link."))
            return
        turn.status = "active"
        turn.events.append(Event("consent_given", flow=flow.id))
    _advance(turn, flow)


def _advance(turn: _Turn, flow: Flow) -> None:
    state = turn.state
    assert state is not None
    following = next_question(flow, state)
    if following is not None:
        turn.ask(following)
        return
    turn.state = None
    turn.events.append(Event("flow_completed", flow=flow.id))
    turn.say(flow.outro)
    program = turn.ctx.program
    if flow.id == program.intake_flow.id and program.checkin_flow != flow.id:
        turn.say(_first_checkin_offer(turn.ctx))


def _first_checkin_offer(ctx: Context) -> str:
    t = translator(ctx.language)
    return t.gettext("Your first weekly check-in is ready: send /checkin to do it now (it "
                     "takes about two minutes), or I'll ask you {when}.").format(
        when=_checkin_when(ctx))


def _checkin_when(ctx: Context) -> str:
    t = translator(ctx.language)
    day = ctx.values.get("checkin_day_id") or ctx.values.get("checkin_day")
    hour = ctx.values.get("checkin_time")
    if day and hour:
        # TRANSLATORS: when the next check-in comes, e.g. "on Tuesday at 18:30".
        return t.gettext("on {day} at {time}").format(
            day=format_weekday(str(day), ctx.language), time=format_time(str(hour), ctx.language))
    return t.gettext("at the usual time")


def _idle_text(ctx: Context) -> str:
    t = translator(ctx.language)
    return t.gettext("There's nothing to answer right now. Your next check-in comes {when}; "
                     "send /checkin to do it now, or /help to see what I can do.").format(
        when=_checkin_when(ctx))


def _closed_text(status: Status, t: Translator) -> str:
    if status == "declined":
        return t.gettext("You chose not to take part, so I'm not keeping anything. Ask your "
                         "coach for a new link if you change your mind.")
    return t.gettext("Your program has ended. Thank you for taking part! Ask your coach if "
                     "you'd like to join again.")


# --- commands ---------------------------------------------------------------------------

def _command(ctx: Context, text: str) -> Step:
    name, _, argument = text[1:].partition(" ")
    name = name.split("@", 1)[0].lower()  # "/help@coachbot" in group chats
    handler = _COMMANDS.get(name)
    turn = _Turn(ctx)
    if handler is None:
        turn.say(turn.t.gettext("I don't know /{command}.").format(command=name[:30]) + " "
                 + help_text(ctx))
        return turn.done()
    if ctx.status in ("declined", "graduated", "dropped") and name not in (
            "help", "privacy", "mydata", "delete", "language"):
        turn.say(_closed_text(ctx.status, turn.t))
        return turn.done()
    handler(turn, argument.strip())
    return turn.done()


def _current(turn: _Turn) -> tuple[Flow, Question] | None:
    state = turn.state
    if state is None or state.asked is None:
        return None
    flow = flow_of(turn.ctx.program, state, turn.ctx.language)
    question = flow.question(state.asked) if flow is not None else None
    return (flow, question) if flow is not None and question is not None else None


MOVED_ON = N_("The program has changed since I asked that, so let's carry on from here:")
FLOW_GONE = N_("The program has changed and the conversation we were in is no longer part of "
               "it, so there's nothing to answer now. Your answers so far are kept.")


def _moved_forward(turn: _Turn) -> Step:
    """The stated rule for a conversation whose version is gone: continue from the next
    question that still exists, keeping the answers whose questions still exist.

    Conversations finish on the version they opened on; this runs only when that version
    was never stored (one opened before versions were kept).
    """
    state = turn.state
    assert state is not None
    flow = flow_of(turn.ctx.program, state, turn.ctx.language)
    if flow is None:
        turn.state = None
        turn.events.append(Event("flow_abandoned", flow=state.flow))
        turn.say(turn.t.gettext(FLOW_GONE))
        return turn.done()
    known = {q.id for q in flow.questions}
    state.answers = {k: v for k, v in state.answers.items() if k in known}
    state.skipped = [q for q in state.skipped if q in known]
    state.order = [q for q in state.order if q in known]
    state.asked = None
    following = next_question(flow, state)
    if following is None:
        _advance(turn, flow)
    else:
        turn.ask(following, lead=turn.t.gettext(MOVED_ON))
    return turn.done()


def _cmd_help(turn: _Turn, _: str) -> None:
    turn.say(help_text(turn.ctx))


def _cmd_start(turn: _Turn, _: str) -> None:
    current = _current(turn)
    if current is not None:
        turn.ask(current[1], lead=turn.t.gettext("You're already with us. Here's where we "
                                                 "were:"))
    else:
        turn.say(turn.t.gettext("You're already with us.") + " " + help_text(turn.ctx))


def _cmd_skip(turn: _Turn, _: str) -> None:
    current = _current(turn)
    if current is None:
        turn.say(turn.t.gettext("There's nothing to skip right now."))
        return
    flow, question = current
    if not question.optional:
        turn.ask(question, lead=turn.t.gettext("This one can't be skipped, sorry."))
        return
    state = turn.state
    assert state is not None
    state.skipped.append(question.id)
    state.order.append(question.id)
    state.snoozed = False
    turn.events.append(Event("skipped", flow=flow.id, data={"question": question.id}))
    _advance(turn, flow)


def _cmd_back(turn: _Turn, _: str) -> None:
    current = _current(turn)
    state = turn.state
    if current is None or state is None:
        turn.say(turn.t.gettext("/back changes your previous answer while we're in a "
                                "conversation; there's none open right now."))
        return
    flow, _question = current
    editable = [q for q in state.order if not _is_consent(flow.question(q))]
    if not editable:
        turn.ask(current[1], lead=turn.t.gettext("There's no earlier answer to change here."))
        return
    target = editable[-1]
    state.order.remove(target)
    state.editing = True
    state.snoozed = False
    question = flow.question(target)
    assert question is not None
    if target in state.answers:
        lead = turn.t.gettext("Let's change that. You answered: {answer}").format(
            answer=_shown(question, state.answers[target], turn.t))
    else:
        lead = turn.t.gettext("Let's go back to this one (you skipped it):")
    turn.ask(question, lead=lead)


def _is_consent(question: Question | None) -> bool:
    return isinstance(question, YesNoQuestion) and question.consent


def _shown(question: Question, value: object, t: Translator) -> str:
    if isinstance(value, bool):
        return t.gettext("yes") if value else t.gettext("no")
    options = getattr(question, "options", None)
    if options:
        return next((o.label for o in options if o.id == value), str(value))
    return str(value)


def _cmd_later(turn: _Turn, _: str) -> None:
    state = turn.state
    if state is None or state.asked is None:
        turn.say(turn.t.gettext("Nothing is waiting for you right now."))
        return
    state.snoozed = True
    turn.events.append(Event("snoozed", flow=state.flow))
    turn.say(turn.t.gettext("No problem, I'll check back later. Send /checkin whenever you're "
                            "ready."))


def _cmd_checkin(turn: _Turn, _: str) -> None:
    ctx = turn.ctx
    if ctx.status == "consent":
        current = _current(turn)
        if current is not None:
            turn.ask(current[1], lead=turn.t.gettext("First things first:"))
        return
    if ctx.status == "paused":
        turn.say(turn.t.gettext("You're on pause. Send /resume first, then /checkin."))
        return
    current = _current(turn)
    if current is not None:
        flow, question = current
        assert turn.state is not None
        turn.state.snoozed = False
        lead = (turn.t.gettext("Here's where we were:") if flow.id == ctx.program.checkin_flow
                else turn.t.gettext("Let's finish the {flow} first:").format(flow=flow.title))
        turn.ask(question, lead=lead)
        return
    started = start_flow(replace(ctx, flow_state=None), ctx.program.checkin_flow)
    turn.state = started.flow_state
    turn.events.extend(started.events)
    turn.events.append(Event("checkin_requested", flow=ctx.program.checkin_flow))
    turn.replies.extend(started.replies)


def _cmd_pause(turn: _Turn, _: str) -> None:
    if turn.ctx.status == "paused":
        turn.say(turn.t.gettext("You're already on pause. Send /resume when you're back."))
        return
    if turn.ctx.status != "active":
        turn.say(turn.t.gettext("Let's finish getting you started first; you can pause after "
                                "that."))
        return
    turn.status = "paused"
    turn.events.append(Event("paused"))
    turn.say(turn.t.gettext("Paused. I won't send check-ins or reminders until you send "
                            "/resume. Enjoy the break!"))


def _cmd_resume(turn: _Turn, _: str) -> None:
    if turn.ctx.status != "paused":
        turn.say(turn.t.gettext("You're not on pause, so nothing to resume."))
        return
    turn.status = "active"
    turn.events.append(Event("resumed"))
    current = _current(turn)
    if current is not None:
        turn.ask(current[1], lead=turn.t.gettext("Welcome back! Here's where we were:"))
    else:
        turn.say(turn.t.gettext("Welcome back! I'll pick up your check-ins from here."))


def _cmd_progress(turn: _Turn, _: str) -> None:
    turn.events.append(Event("progress_requested"))


def _cmd_privacy(turn: _Turn, _: str) -> None:
    turn.events.append(Event("privacy_requested"))
    turn.say(turn.ctx.program.privacy.statement.strip() + "\n\n"
             + turn.t.gettext(PRIVACY_RIGHTS))


PRIVACY_RIGHTS = N_("Send /mydata for a copy of everything I keep about you, or /delete to "
                    "erase it.")


def _cmd_mydata(turn: _Turn, _: str) -> None:
    # The handler reads the data and attaches the file: the engine sees no storage.
    turn.events.append(Event("data_requested"))


ERASE_CONFIRM = "confirm"


def _cmd_delete(turn: _Turn, argument: str) -> None:
    if argument.lower() != ERASE_CONFIRM:
        turn.say(turn.t.gettext(
            "This erases everything I keep about you: your answers, progress, conversations "
            "and how to reach you. It can't be undone, and your coach will be told. To go "
            "ahead, send: /delete confirm\n(Send /mydata first if you'd like a copy.)"))
        return
    turn.status = "dropped"
    turn.state = None
    turn.events.append(Event("erase_requested"))
    turn.say(turn.t.gettext("Done: everything I kept about you is erased. Thank you for taking "
                            "part, and take care!"))


def _cmd_schedule(turn: _Turn, argument: str) -> None:
    language = turn.ctx.language
    choice = parse_schedule(argument, language)
    if choice is None:
        # TRANSLATORS: {example} is a day and time the language's way, e.g. "Di. 18:30".
        turn.say(turn.t.gettext("Your check-in is {when}. To change it, send the day and "
                                "time, for example: /schedule {example}").format(
            when=_checkin_when(turn.ctx), example=accepted_forms("schedule", language)))
        return
    assert choice.day in WEEKDAYS
    turn.events.append(Event("schedule_changed", data={"day": choice.day, "time": choice.time}))
    turn.say(turn.t.gettext("Done: your weekly check-in is now every {day} at {time}.").format(
        day=format_weekday(choice.day, language), time=format_time(choice.time, language)))


def _cmd_language(turn: _Turn, argument: str) -> None:
    chosen = supported_language(argument) if argument else None
    if chosen is None:
        listed = ", ".join(SUPPORTED_LANGUAGES)
        if argument:
            turn.say(turn.t.gettext("I don't speak \"{language}\" yet. I can speak: {languages}. "
                                    "Send, for example: /language de").format(
                language=argument[:20], languages=listed))
        else:
            turn.say(turn.t.gettext("I speak {language} with you. I can speak: {languages}. To "
                                    "change it, send, for example: /language de").format(
                language=language_name(turn.ctx.language), languages=listed))
        return
    turn.events.append(Event("language_changed", data={"language": chosen}))
    # The confirmation is already in the language chosen.
    turn.replies.append(Reply(text=translator(chosen).gettext(
        "Done: I'll speak English with you from now on.")))


_COMMANDS = {
    "help": _cmd_help, "start": _cmd_start, "skip": _cmd_skip, "back": _cmd_back,
    "later": _cmd_later, "checkin": _cmd_checkin, "pause": _cmd_pause, "resume": _cmd_resume,
    "progress": _cmd_progress, "privacy": _cmd_privacy, "schedule": _cmd_schedule,
    "mydata": _cmd_mydata, "delete": _cmd_delete, "language": _cmd_language,
}

# English message ids; `command_descriptions(language)` has them translated.
COMMAND_DESCRIPTIONS = {
    "checkin": N_("start your weekly check-in now"),
    "skip": N_("skip an optional question"),
    "back": N_("change your previous answer"),
    "later": N_("snooze the open conversation"),
    "pause": N_("pause all check-ins (holidays)"),
    "resume": N_("pick up again after a pause"),
    "progress": N_("see your progress"),
    "schedule": N_("change your check-in day and time"),
    "language": N_("choose the language I speak"),
    "privacy": N_("what we collect and why"),
    "mydata": N_("get a copy of your data"),
    "delete": N_("erase your data"),
    "help": N_("what you can do now"),
}


def command_descriptions(language: str) -> dict[str, str]:
    """Each command's description in `language` (Telegram's menu, /help)."""
    t = translator(language)
    return {name: t.gettext(text) for name, text in COMMAND_DESCRIPTIONS.items()}


# Commands a client may also send as a plain word ("skip"), where a leading "/" is taken by
# the platform (Slack reads any message starting with "/" as a slash command). A bare
# "start" is more likely an answer than a request to join: only "start CODE" joins.
WORD_COMMANDS = frozenset(COMMAND_DESCRIPTIONS)
_TAKES_ARGUMENT = {"schedule", "delete", "language"}


def as_command(text: str) -> str | None:
    """The "/command" a plain-word message stands for ("Skip" -> "/skip"), if it is one."""
    words = text.strip().rstrip(".!").split()
    name = words[0].lower() if words else ""
    if name == "start":
        return f"/start {words[1]}" if len(words) == 2 else None
    if name not in WORD_COMMANDS:
        return None
    if len(words) > 1 and name not in _TAKES_ARGUMENT:
        return None  # "back pain again" is an answer, not /back
    return " ".join([f"/{name}", *words[1:]])


def help_text(ctx: Context) -> str:
    """The commands that make sense for this client right now."""
    state = ctx.flow_state
    open_question = state is not None and state.asked is not None
    if ctx.status == "paused":
        names = ["resume", "progress", "language", "privacy", "mydata", "delete", "help"]
    elif ctx.status == "consent":
        names = ["language", "privacy", "help"]
    else:
        names = ["checkin", "progress", "schedule", "pause", "language", "privacy", "mydata",
                 "delete", "help"]
        if open_question:
            names = ["back", "skip", "later", *names]
    t = translator(ctx.language)
    described = command_descriptions(ctx.language)
    lines = [f"/{name} - {described[name]}" for name in names]
    lead = (t.gettext("Just type your answer, or use:") if open_question
            else t.gettext("Here's what you can do:"))
    return lead + "\n" + "\n".join(lines)

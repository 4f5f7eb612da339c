"""The program file's schema: stages, flows, touchpoints, metrics and rules.

Everything here is declarative data validated by pydantic; nothing is evaluated
as code. Cross-references (a rule naming a metric, a condition naming a question)
are checked by `conversations.references`, which can report several errors at once.
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PrivateAttr,
    field_validator,
    model_validator,
)

from conversations.translations import DEFAULT_LANGUAGE, SUPPORTED_LANGUAGES, supported_language

_ID = r"^[a-z][a-z0-9_]*$"
Identifier = Annotated[str, Field(pattern=_ID, max_length=64)]

_DURATION = re.compile(r"^\s*(\d+)\s*(m|min|h|d|w)\s*$")
_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def _parse_duration(value: object) -> timedelta:
    if isinstance(value, timedelta):
        return value
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError("a duration like '10m', '24h', '7d' or '2w'")
    amount, unit = match.groups()
    return timedelta(**{_UNITS[unit]: int(amount)})


def _parse_clock(value: object) -> time:
    if isinstance(value, time):
        return value
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", str(value).strip())
    if not match:
        raise ValueError("a time of day like '09:00' (24-hour clock)")
    return time(int(match[1]), int(match[2]))


def _check_zone(value: object) -> str:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"'{value}' is not an IANA time zone such as 'Europe/Berlin'") from exc
    return str(value)


Duration = Annotated[
    timedelta,
    BeforeValidator(_parse_duration),
    PlainSerializer(lambda d: f"{int(d.total_seconds() // 60)}m", return_type=str),
]
ClockTime = Annotated[
    time, BeforeValidator(_parse_clock), PlainSerializer(lambda t: t.strftime("%H:%M"))
]
TimeZone = Annotated[str, BeforeValidator(_check_zone)]


def _check_language(value: object) -> str:
    found = supported_language(str(value)) if isinstance(value, str) else None
    if found is None:
        raise ValueError(f"'{value}' is not a supported language; use one of "
                         f"{', '.join(SUPPORTED_LANGUAGES)} (BCP 47)")
    return found


Language = Annotated[str, BeforeValidator(_check_language)]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Strict(BaseModel):
    """Base for program-file models: unknown fields are errors, models are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --- flows and questions -----------------------------------------------------------------


class Condition(Strict):
    """Show a question only when an earlier answer in the same flow matches."""

    question: Identifier
    equals: str | float | bool | None = None
    below: float | None = None
    above: float | None = None
    one_of: list[str] | None = None

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        tests = [self.equals, self.below, self.above, self.one_of]
        if sum(t is not None for t in tests) != 1:
            raise ValueError("give exactly one of equals, below, above, one_of")
        return self


class QuestionBase(Strict):
    id: Identifier
    prompt: str = Field(min_length=1, max_length=1000)
    optional: bool = False
    when: Condition | None = None
    # The id this question had in an earlier version: its answers join under the new id.
    renamed_from: Identifier | None = None


class TextQuestion(QuestionBase):
    type: Literal["text"]
    max_length: int = Field(default=1000, ge=1, le=4000)


class NumberQuestion(QuestionBase):
    type: Literal["number"]
    min: float | None = None
    max: float | None = None
    unit: str | None = Field(default=None, max_length=20)
    integer: bool = False

    @model_validator(mode="after")
    def _bounds(self) -> NumberQuestion:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is greater than max")
        return self


class ScaleQuestion(QuestionBase):
    type: Literal["scale"]
    min: int = 1
    max: int = 10
    labels: dict[int, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _range(self) -> ScaleQuestion:
        if not self.min < self.max:
            raise ValueError("min must be below max")
        if self.max - self.min > 10:
            raise ValueError("a scale has at most 11 points; use a number question instead")
        for point in self.labels:
            if not self.min <= point <= self.max:
                raise ValueError(f"label {point} is outside {self.min}..{self.max}")
        return self


class YesNoQuestion(QuestionBase):
    type: Literal["yes_no"]
    consent: bool = False


class Option(Strict):
    id: Identifier
    label: str = Field(min_length=1, max_length=64)


class ChoiceQuestion(QuestionBase):
    type: Literal["choice"]
    options: list[Option] = Field(min_length=2, max_length=12)

    @field_validator("options")
    @classmethod
    def _unique(cls, options: list[Option]) -> list[Option]:
        ids = [o.id for o in options]
        if len(set(ids)) != len(ids):
            raise ValueError("option ids must be unique")
        return options


class DateQuestion(QuestionBase):
    type: Literal["date"]


Question = Annotated[
    TextQuestion | NumberQuestion | ScaleQuestion | YesNoQuestion | ChoiceQuestion | DateQuestion,
    Field(discriminator="type"),
]


class Flow(Strict):
    """One conversation: an ordered list of questions and a closing message."""

    id: Identifier
    title: str = Field(min_length=1, max_length=100)
    intro: str | None = Field(default=None, max_length=1000)
    outro: str = Field(default="Thank you, that's everything for now.", max_length=1000)
    questions: list[Question] = Field(min_length=1)

    @field_validator("questions")
    @classmethod
    def _unique(cls, questions: list[Question]) -> list[Question]:
        seen: set[str] = set()
        for q in questions:
            if q.id in seen:
                raise ValueError(f"question id '{q.id}' is used twice")
            seen.add(q.id)
        return questions

    def question(self, question_id: str) -> Question | None:
        """The question with that id, if any."""
        return next((q for q in self.questions if q.id == question_id), None)


# --- journey ---------------------------------------------------------------------------


class Stage(Strict):
    """A step of the client's journey and what moves the client on."""

    id: Identifier
    title: str | None = None
    duration: Duration | None = None
    until_flow_done: Identifier | None = None
    next: Identifier | None = None


class Weekly(Strict):
    day: Weekday
    time: ClockTime


class Schedule(Strict):
    """When a touchpoint happens: exactly one trigger, optional time of day and stage window."""

    after_enrolment: Duration | None = None
    weekly: Weekly | None = None
    stage_start: Identifier | None = None
    stage_week: int | None = Field(default=None, ge=1, le=104)
    stage: Identifier | None = None
    before_session: Duration | None = None
    after_session: Duration | None = None
    cron: str | None = None
    time: ClockTime | None = None
    stages: list[Identifier] | None = None

    @model_validator(mode="after")
    def _one_trigger(self) -> Schedule:
        triggers = {
            "after_enrolment": self.after_enrolment,
            "weekly": self.weekly,
            "stage_start": self.stage_start,
            "stage_week": self.stage_week,
            "before_session": self.before_session,
            "after_session": self.after_session,
            "cron": self.cron,
        }
        given = [name for name, value in triggers.items() if value is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of " + ", ".join(triggers))
        if self.stage_week is not None and self.stage is None:
            raise ValueError("stage_week needs stage: the stage whose week it counts")
        return self

    @property
    def kind(self) -> str:
        """The name of the trigger in use."""
        for name in ("after_enrolment", "weekly", "stage_start", "stage_week",
                     "before_session", "after_session", "cron"):
            if getattr(self, name) is not None:
                return name
        raise AssertionError("validated to have one trigger")


class Send(Strict):
    """What a touchpoint sends: a flow to start, or a plain message."""

    flow: Identifier | None = None
    message: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _one(self) -> Send:
        if (self.flow is None) == (self.message is None):
            raise ValueError("give exactly one of flow, message")
        return self


class NoAnswerPolicy(Strict):
    """What happens when a touchpoint's flow is not answered."""

    remind_after: Duration
    max_reminders: int = Field(default=1, ge=0, le=5)
    then: Literal["mark_missed", "flag_coach", "escalate"] = "mark_missed"


Owner = Literal["coach", "team", "client", "program_owner"]


class Touchpoint(Strict):
    """A moment that matters: what is sent, when, who owns it, and its SLA."""

    id: Identifier
    title: str | None = None
    when: Schedule
    send: Send
    owner: Owner = "coach"
    sla: Duration | None = None
    on_no_answer: NoAnswerPolicy | None = None


class QuietHours(Strict):
    start: ClockTime = time(21, 0)
    end: ClockTime = time(8, 0)


# --- metrics and rules -----------------------------------------------------------------

# "action_items": how far the client got with their coach's action items, one value per
# check-in that asked about them (done 1, partly 0.5, not yet 0; see conversations/action_items).
Behaviour = Literal["response_rate", "on_time_rate", "streak", "days_since_reply",
                    "action_items"]


class MetricSource(Strict):
    """Where a metric's values come from: an answer (flow.question) or behaviour."""

    answer: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
    behaviour: Behaviour | None = None

    @model_validator(mode="after")
    def _one(self) -> MetricSource:
        if (self.answer is None) == (self.behaviour is None):
            raise ValueError("give exactly one of answer, behaviour")
        return self


class Metric(Strict):
    id: Identifier
    title: str | None = None
    bucket: Literal["engagement", "implementation", "outcome"]
    source: MetricSource = Field(alias="from")
    baseline: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
    main: bool = False
    # The id this metric had in an earlier version: its stored values join under the new id.
    renamed_from: Identifier | None = None


class Threshold(Strict):
    metric: Identifier
    below: float | None = None
    above: float | None = None
    for_checkins: int = Field(default=1, ge=1, le=52)

    @model_validator(mode="after")
    def _one(self) -> Threshold:
        if (self.below is None) == (self.above is None):
            raise ValueError("give exactly one of below, above")
        return self


class Plateau(Strict):
    metric: Identifier
    weeks: int = Field(ge=2, le=52)


class Keyword(Strict):
    question: str = Field(pattern=r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
    any: list[str] = Field(min_length=1)


class Milestone(Strict):
    metric: Identifier
    change_from_baseline: float | None = None
    reaches: float | None = None

    @model_validator(mode="after")
    def _one(self) -> Milestone:
        if (self.change_from_baseline is None) == (self.reaches is None):
            raise ValueError("give exactly one of change_from_baseline, reaches")
        return self


class RuleCondition(Strict):
    """Exactly one structured condition; never evaluated as code."""

    threshold: Threshold | None = None
    no_reply_days: int | None = Field(default=None, ge=1, le=365)
    plateau: Plateau | None = None
    keyword: Keyword | None = None
    milestone: Milestone | None = None

    @model_validator(mode="after")
    def _one(self) -> RuleCondition:
        given = [v for v in (self.threshold, self.no_reply_days, self.plateau,
                             self.keyword, self.milestone) if v is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of threshold, no_reply_days, plateau, keyword, milestone")
        return self


class Escalate(Strict):
    owner: Owner
    sla: Duration
    reason: str = Field(min_length=1, max_length=300)


class RuleAction(Strict):
    """Exactly one action."""

    escalate: Escalate | None = None
    message: str | None = Field(default=None, max_length=2000)
    celebrate: str | None = Field(default=None, max_length=2000)
    cadence: Weekly | None = None
    move_to_stage: Identifier | None = None

    @model_validator(mode="after")
    def _one(self) -> RuleAction:
        given = [v for v in (self.escalate, self.message, self.celebrate, self.cadence,
                             self.move_to_stage) if v is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of escalate, message, celebrate, cadence, move_to_stage")
        return self


class Rule(Strict):
    id: Identifier
    title: str | None = None
    when: RuleCondition
    then: RuleAction


# --- the door in and the next step --------------------------------------------------------

Ending = Literal["end", "pause"]


class Offer(Strict):
    """How a program is sold: the Stripe price that enrols a paying client, and what a refund
    or a cancelled subscription does to the enrolment."""

    stripe_price: str | None = Field(default=None, pattern=r"^price_[A-Za-z0-9_]+$")
    # Where a client pays (a Stripe Payment Link); the next-step offer sends them there.
    payment_link: str | None = Field(default=None, pattern=r"^https://\S+$", max_length=500)
    # The coach a paying client gets (a name given to `coachbot staff add`).
    coach: str | None = Field(default=None, min_length=1, max_length=200)
    on_refund: Ending = "end"
    on_subscription_cancelled: Ending = "end"

    @model_validator(mode="after")
    def _link_needs_price(self) -> Offer:
        if self.payment_link is not None and self.stripe_price is None:
            raise ValueError("payment_link needs stripe_price: the price that link sells")
        return self


class ReviewScore(Strict):
    """A final-review answer good enough to make the next-step offer there and then."""

    question: str = Field(pattern=r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
    at_least: float


class NextStep(Strict):
    """The program a client is offered when they finish this one."""

    program: Identifier
    message: str = Field(
        default="Would you like to go on with {next.name}?", min_length=1, max_length=1000)
    after_review: ReviewScore | None = None


class ActionItemSettings(Strict):
    """Whether the weekly check-in first asks about each open action item a coach set after
    a session, and in what words ({item}: the action item, {due}: its due date; without
    `question`, the bot's own words in the client's language)."""

    enabled: bool = True
    # None: the bot's own words, from the catalog in the client's language.
    question: str | None = Field(default=None, min_length=1, max_length=500)


class Privacy(Strict):
    """What the consent question tells the client, in the program's own words."""

    statement: str = Field(min_length=20, max_length=3000)
    retention_days_after_end: int | None = Field(default=None, ge=1)


class Variant(Strict):
    """A variation tried on a share of new enrolments: its own check-in slot, rules that
    replace or add to the program's (same id: replaced), touchpoints likewise."""

    id: Identifier
    title: str | None = Field(default=None, max_length=100)
    share: int = Field(ge=1, le=100)  # percent of new enrolments
    checkin: Weekly | None = None
    rules: list[Rule] = Field(default_factory=list)
    touchpoints: list[Touchpoint] = Field(default_factory=list)


def _merged(base: list, extra: list) -> list:
    """`base` with each item of `extra` replacing the one with its id, or added after."""
    by_id = {item.id: item for item in extra}
    kept = [by_id.pop(item.id, item) for item in base]
    return kept + [item for item in extra if item.id in by_id]


class Program(Strict):
    """A whole coaching program: the single source of truth for the bot."""

    id: Identifier
    name: str = Field(min_length=1, max_length=120)
    weeks: int = Field(ge=1, le=104)
    timezone: TimeZone = "UTC"
    # The language the program is written in and the bot speaks (BCP 47), see translations.
    language: Language = DEFAULT_LANGUAGE
    privacy: Privacy
    checkin_flow: Identifier
    quiet_hours: QuietHours = QuietHours()
    stages: list[Stage] = Field(min_length=1)
    flows: list[Flow] = Field(min_length=1)
    touchpoints: list[Touchpoint] = Field(min_length=1)
    metrics: list[Metric] = Field(default_factory=list)
    rules: list[Rule] = Field(default_factory=list)
    offer: Offer | None = None
    # The page where a client books a coaching session ({booking_link} in texts).
    booking_link: str | None = Field(default=None, pattern=r"^https://\S+$", max_length=500)
    next: NextStep | None = None
    action_items: ActionItemSettings = ActionItemSettings()
    variants: list[Variant] = Field(default_factory=list)
    _resolved: dict[str, Program] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _shares(self) -> Program:
        if sum(v.share for v in self.variants) > 100:
            raise ValueError("variants: the shares add up to more than 100 (percent of new "
                             "enrolments)")
        return self

    def with_variant(self, variant_id: str | None) -> Program:
        """The program as one variant runs it; unknown or None: the program as written."""
        variant = next((v for v in self.variants if v.id == variant_id), None)
        if variant is None:
            return self
        found = self._resolved.get(variant.id)
        if found is None:
            touchpoints = _merged(self.touchpoints, variant.touchpoints)
            if variant.checkin is not None:
                touchpoints = [
                    t.model_copy(update={"when": t.when.model_copy(
                        update={"weekly": variant.checkin})})
                    if t.send.flow == self.checkin_flow and t.when.weekly else t
                    for t in touchpoints]
            # The resolved program has no variants of its own: resolving again is a no-op.
            found = self.model_copy(update={"rules": _merged(self.rules, variant.rules),
                                            "touchpoints": touchpoints, "variants": []})
            self._resolved[variant.id] = found
        return found

    def flow(self, flow_id: str) -> Flow:
        """The flow with that id (validated to exist wherever it is referenced)."""
        return next(f for f in self.flows if f.id == flow_id)

    def flows_by_id(self) -> dict[str, Flow]:
        """Every flow by id (a stored conversation may name one this version dropped)."""
        return {f.id: f for f in self.flows}

    def stage(self, stage_id: str) -> Stage:
        """The stage with that id."""
        return next(s for s in self.stages if s.id == stage_id)

    @property
    def intake_flow(self) -> Flow:
        """The flow a new client starts with: the first stage's flow, else the first flow."""
        first = self.stages[0].until_flow_done
        return self.flow(first) if first else self.flows[0]

    @property
    def checkin_schedule(self) -> Weekly | None:
        """The default weekly day and hour of the check-in flow."""
        for tp in self.touchpoints:
            if tp.send.flow == self.checkin_flow and tp.when.weekly:
                return tp.when.weekly
        return None

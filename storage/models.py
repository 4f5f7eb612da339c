"""SQLModel tables. Every datetime is stored in UTC; each person carries an IANA zone."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from storage.types import AnswerValue, UTCDateTime

# An enrolment's `replan_at` when its plan inputs changed: the earliest time there is, so
# the next sweep plans it first.
PLAN_NOW = datetime(1970, 1, 1, tzinfo=UTC)
# The condition of the partial index on touchpoint due times; queries that want the index
# say it literally (a bound parameter would not prove it to the planner).
PLANNED_ROW = "status = 'planned'"
# The condition of the partial index on answers' platform messages.
HAS_SOURCE = "source_ref IS NOT NULL"
HAS_REPLAN = "replan_at IS NOT NULL"


def _utc(**kwargs) -> object:
    """A timezone-aware UTC datetime column (storage/types.UTCDateTime)."""
    return Field(sa_column=Column(UTCDateTime(), **kwargs))


class Program(SQLModel, table=True):
    """A program file as loaded: kept so data can be read back against its definition."""

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=120)
    source_path: str = Field(max_length=500)
    # The version running now; older ones stay in program_version.
    checksum: str = Field(max_length=64)
    loaded_at: datetime = _utc(nullable=False)


class ProgramVersion(SQLModel, table=True):
    """A version of a program file that has run: its text, so a conversation opened on it
    finishes on it and reports can tell the versions apart."""

    __tablename__ = "program_version"
    __table_args__ = (UniqueConstraint("program_id", "checksum"),
                      UniqueConstraint("program_id", "version"))
    id: int | None = Field(default=None, primary_key=True)
    program_id: str = Field(max_length=64)
    version: int
    checksum: str = Field(max_length=64)
    text: str = Field(sa_column=Column(Text, nullable=False))
    source_path: str = Field(max_length=500)
    recorded_at: datetime = _utc(nullable=False)


class Person(SQLModel, table=True):
    """A client, coach or team member."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    role: str = Field(max_length=16, index=True)  # client | coach | team
    timezone: str = Field(max_length=64)
    quiet_start: str | None = Field(default=None, max_length=5)
    quiet_end: str | None = Field(default=None, max_length=5)
    backup_id: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = _utc(nullable=False)
    # A coach's own digest time (HH:MM, their zone); None: COACHBOT_DIGEST_TIME.
    digest_time: str | None = Field(default=None, max_length=5)
    # Where a coach's check-in cards go: a Slack channel id; None means their DM.
    checkin_channel: str | None = Field(default=None, max_length=32)
    # Lower-cased: payments and bookings find the client by it.
    email: str | None = Field(default=None, max_length=254, index=True)
    # A coach's or team member's language for what the bot writes them (BCP 47); None: en.
    language: str | None = Field(default=None, max_length=16)


class Identity(SQLModel, table=True):
    """How a person is reached on one channel (Telegram chat id, Slack user id, console)."""

    __table_args__ = (UniqueConstraint("channel", "address"),)
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    channel: str = Field(max_length=16)
    address: str = Field(max_length=64)
    unreachable_since: datetime | None = _utc(nullable=True)


class Enrolment(SQLModel, table=True):
    """A client in a program: stage, status, coach and check-in slot."""

    __table_args__ = (
        # Only enrolments with something ahead are looked up by `replan_at`: a finished
        # one (graduated with nothing after, dropped, declined) has none and costs no
        # index space.
        Index("ix_enrolment_replan_at", "replan_at", sqlite_where=text(HAS_REPLAN),
              postgresql_where=text(HAS_REPLAN)),
    )
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    program_id: str = Field(max_length=64, index=True)
    coach_id: int | None = Field(default=None, foreign_key="person.id")
    stage: str = Field(max_length=64)
    # invited | consent | active | paused | declined | graduated | dropped
    status: str = Field(max_length=16, index=True)
    invite_code: str | None = Field(default=None, max_length=32, unique=True)
    invite_expires_at: datetime | None = _utc(nullable=True)
    checkin_day: str = Field(max_length=3)
    checkin_time: str = Field(max_length=5)
    enrolled_at: datetime = _utc(nullable=False)
    stage_started_at: datetime = _utc(nullable=False)
    joined_at: datetime | None = _utc(nullable=True)
    # The program's variant drawn at enrolment (None: the program as written).
    variant: str | None = Field(default=None, max_length=64)
    # The language the client chose with /language (BCP 47); None: the program's.
    language: str | None = Field(default=None, max_length=16)
    # When its touchpoints must next be planned (storage/plan_changes.py): PLAN_NOW once
    # an input changed, else a little before its first occurrence beyond the rows stored;
    # None: nothing ahead. Indexed, so finding what to plan costs what is due, not the
    # number of clients.
    replan_at: datetime | None = Field(default=PLAN_NOW, sa_column=Column(
        UTCDateTime(), nullable=True, default=PLAN_NOW))


class Conversation(SQLModel, table=True):
    """One run of a flow with a client; `state` is the engine's FlowState as JSON while it is
    open, empty once closed (its answers are rows of their own)."""

    __table_args__ = (Index("ix_conversation_open", "enrolment_id", "closed_at"),)
    id: int | None = Field(default=None, primary_key=True)
    enrolment_id: int = Field(foreign_key="enrolment.id")
    flow_id: str = Field(max_length=64)
    state: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    started_at: datetime = _utc(nullable=False)
    updated_at: datetime = _utc(nullable=False)
    closed_at: datetime | None = _utc(nullable=True)
    outcome: str | None = Field(default=None, max_length=16)  # completed | declined | missed
    # The program version it was opened on: it finishes on it. None: the running one.
    program_version_id: int | None = Field(default=None, foreign_key="program_version.id")


class Answer(SQLModel, table=True):
    """One accepted answer: the typed value, a number when it has one, and the raw text.
    Its flow is its conversation's (not stored twice)."""

    __table_args__ = (
        UniqueConstraint("conversation_id", "question_id"),
        # The digest reads a week of answers for each of a coach's clients: a range per
        # enrolment, whatever the length of the history (benchmarks/digest.py).
        Index("ix_answer_window", "enrolment_id", "answered_at"),
        # Only answers given by a platform message can be edited, so only they are indexed
        # (a lookup by `source_ref = ...` implies it is not NULL, so it uses the index).
        Index("ix_answer_source_ref", "source_ref", sqlite_where=text(HAS_SOURCE),
              postgresql_where=text(HAS_SOURCE)),
    )
    id: int | None = Field(default=None, primary_key=True)
    # No index of its own: ix_answer_window's first column serves every query by enrolment.
    enrolment_id: int = Field(foreign_key="enrolment.id")
    conversation_id: int = Field(foreign_key="conversation.id")
    question_id: str = Field(max_length=64)
    value: dict = Field(sa_column=Column(AnswerValue, nullable=False))  # {"v": typed value}
    number: float | None = None
    # The message as typed; "" when that is the value itself (a text answer, stored once).
    # Read `text`; write `stored_raw(...)`.
    raw_text: str = Field(max_length=4000)
    answered_at: datetime = _utc(nullable=False)
    edited_at: datetime | None = _utc(nullable=True)
    # The platform message that gave this answer (e.g. "telegram:CHAT:MESSAGE"), so that
    # editing that message can edit the answer.
    source_ref: str | None = Field(default=None, max_length=128)

    @property
    def text(self) -> str:
        """What the client typed."""
        return answer_text(self.raw_text, self.value.get("v"))


def stored_raw(raw: str, value: object) -> str:
    """An answer's raw text as stored: "" when it is the text value itself."""
    return "" if raw == value else raw


def answer_text(raw_text: str, value: object) -> str:
    """What the client typed, from an answer's stored raw text and its value."""
    return value if not raw_text and isinstance(value, str) else raw_text


class Consent(SQLModel, table=True):
    """The client's yes or no to the privacy statement, with the statement's checksum."""

    id: int | None = Field(default=None, primary_key=True)
    enrolment_id: int = Field(foreign_key="enrolment.id", index=True)
    given: bool
    statement_checksum: str = Field(max_length=64)
    at: datetime = _utc(nullable=False)


class MetricValue(SQLModel, table=True):
    """A metric's value at a time, computed when its inputs changed: one per metric and instant."""

    # Keyed as every read asks (an enrolment's metric in time order); on SQLite the rows are
    # stored in that key's b-tree (no rowid), not in a table and again in an index over it.
    __table_args__ = {"sqlite_with_rowid": False}
    enrolment_id: int = Field(foreign_key="enrolment.id", primary_key=True)
    metric_id: str = Field(max_length=64, primary_key=True)
    at: datetime = _utc(primary_key=True)
    value: float
    # The program version that computed it: reports can tell the versions apart.
    program_version_id: int | None = Field(default=None, foreign_key="program_version.id")


class MetricAggregate(SQLModel, table=True):
    """The settled part of an enrolment's history as its metrics need it (running counts,
    the last values a rule looks at), so an evaluation reads only what came after it."""

    __tablename__ = "metric_aggregate"
    enrolment_id: int = Field(primary_key=True, foreign_key="enrolment.id")
    state: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class RuleFiring(SQLModel, table=True):
    """A rule that fired, with the values that made it fire; cleared when it stops holding."""

    id: int | None = Field(default=None, primary_key=True)
    enrolment_id: int = Field(foreign_key="enrolment.id", index=True)
    rule_id: str = Field(max_length=64)
    values: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    fired_at: datetime = _utc(nullable=False)
    cleared_at: datetime | None = _utc(nullable=True)


class Escalation(SQLModel, table=True):
    """A case for a human: owner, SLA, acknowledgement and resolution."""

    id: int | None = Field(default=None, primary_key=True)
    enrolment_id: int = Field(foreign_key="enrolment.id", index=True)
    rule_firing_id: int | None = Field(default=None, foreign_key="rulefiring.id")
    reason: str = Field(max_length=300)
    owner_role: str = Field(max_length=16)
    owner_id: int | None = Field(default=None, foreign_key="person.id")
    opened_at: datetime = _utc(nullable=False)
    sla_due_at: datetime = _utc(nullable=False)
    acknowledged_by_id: int | None = Field(default=None, foreign_key="person.id")
    acknowledged_at: datetime | None = _utc(nullable=True)
    resolved_at: datetime | None = _utc(nullable=True)
    resolution_note: str | None = Field(default=None, max_length=1000)
    slack_channel: str | None = Field(default=None, max_length=32)
    slack_ts: str | None = Field(default=None, max_length=32)


class PlannedTouchpoint(SQLModel, table=True):
    """A touchpoint occurrence for one enrolment, due at a UTC time; claimed with a lease."""

    __tablename__ = "touchpoint"
    __table_args__ = (
        UniqueConstraint("enrolment_id", "touchpoint_id", "occurrence"),
        # Only rows still planned are looked up by due time (the claim, the next due row):
        # the rows that ended, most of them over a journey, cost no index space.
        Index("ix_touchpoint_due", "due_at", sqlite_where=text(PLANNED_ROW),
              postgresql_where=text(PLANNED_ROW)),
    )
    id: int | None = Field(default=None, primary_key=True)
    enrolment_id: int | None = Field(default=None, foreign_key="enrolment.id")
    touchpoint_id: str = Field(max_length=64)
    occurrence: str = Field(max_length=64)
    due_at: datetime = _utc(nullable=False)
    status: str = Field(default="planned", max_length=16)  # planned | done | skipped | missed
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = _utc(nullable=True)
    done_at: datetime | None = _utc(nullable=True)
    attempts: int = 0
    # send | remind | no_answer | stage: reminders and stage moves are rows like any other,
    # so one claim query runs every timed thing and its cost follows the rows due, not
    # the number of clients.
    kind: str = Field(default="send", max_length=16)
    # Why a row was skipped or failed (downtime, paused, answered, replanned...); no PII.
    reason: str | None = Field(default=None, max_length=32)
    # For reminders and the no-answer step: the row that sent the flow.
    parent_id: int | None = Field(default=None, foreign_key="touchpoint.id")


class OutboxMessage(SQLModel, table=True):
    """A message waiting to be sent; the idempotency key makes every send happen once."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=200, unique=True)
    channel: str = Field(max_length=16)
    address: str = Field(max_length=64)
    person_id: int | None = Field(default=None, foreign_key="person.id")
    payload: dict = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(default="queued", max_length=16)  # queued | sent | failed
    attempts: int = 0
    next_attempt_at: datetime = _utc(nullable=False)
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = _utc(nullable=True)
    platform_message_id: str | None = Field(default=None, max_length=64)
    error: str | None = Field(default=None, max_length=300)
    created_at: datetime = _utc(nullable=False)
    sent_at: datetime | None = _utc(nullable=True)


class InboundEvent(SQLModel, table=True):
    """Platform event ids already handled, so a retried delivery changes nothing."""

    __table_args__ = (UniqueConstraint("channel", "event_id"),)
    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    event_id: str = Field(max_length=128)
    received_at: datetime = _utc(nullable=False)


class AuditEntry(SQLModel, table=True):
    """Who did what to whose data, and when. Never holds answer text."""

    __tablename__ = "audit_log"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _utc(nullable=False)
    actor: str = Field(max_length=100)
    action: str = Field(max_length=64)
    enrolment_id: int | None = Field(default=None, index=True)
    detail: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class CoachingSession(SQLModel, table=True):
    """A coaching session booked for an enrolment; prep and follow-up touchpoints follow it."""

    __tablename__ = "coaching_session"
    id: int | None = Field(default=None, primary_key=True)
    enrolment_id: int = Field(foreign_key="enrolment.id", index=True)
    at: datetime = _utc(nullable=False)
    created_at: datetime = _utc(nullable=False)
    cancelled_at: datetime | None = _utc(nullable=True)


class TouchpointPlan(SQLModel, table=True):
    """What an enrolment's touchpoints were last planned from; any difference means replan."""

    __tablename__ = "touchpoint_plan"
    enrolment_id: int = Field(foreign_key="enrolment.id", primary_key=True)
    # The start of the version's checksum (storage/plans.PLAN_CHECKSUM_LENGTH).
    program_checksum: str = Field(max_length=16)
    timezone: str = Field(max_length=64)
    quiet_start: str | None = Field(default=None, max_length=5)
    quiet_end: str | None = Field(default=None, max_length=5)
    stage: str = Field(max_length=64)
    stage_started_at: datetime = _utc(nullable=False)
    status: str = Field(max_length=16)
    checkin_day: str = Field(max_length=3)
    checkin_time: str = Field(max_length=5)
    planned_at: datetime = _utc(nullable=False)


class Payment(SQLModel, table=True):
    """A Stripe payment as we know it: what it bought, whom it enrolled, how it ended.

    Keyed by whichever Stripe id arrived first (events come in any order): a refund can be
    recorded before the checkout it refunds, and the checkout then finds it.
    """

    __tablename__ = "payment"
    id: int | None = Field(default=None, primary_key=True)
    checkout_session_id: str | None = Field(default=None, max_length=255, unique=True)
    payment_intent_id: str | None = Field(default=None, max_length=255, index=True)
    subscription_id: str | None = Field(default=None, max_length=255, index=True)
    price_id: str | None = Field(default=None, max_length=255)
    program_id: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=254)
    # received | enrolled | paid_again | unmatched | refunded | partly_refunded | cancelled
    status: str = Field(max_length=24)
    # The client's zone was a guess (the program's): /join asks their browser for it.
    zone_guessed: bool = False
    enrolment_id: int | None = Field(default=None, foreign_key="enrolment.id", index=True)
    created_at: datetime = _utc(nullable=False)
    updated_at: datetime = _utc(nullable=False)


class Booking(SQLModel, table=True):
    """A booking from a scheduling tool (Cal.com, Calendly) and the coaching session it made.

    Kept even when it matched no client (it went to a human), and when it was cancelled
    before it was created (so the late creation is recognised and ignored).
    """

    __table_args__ = (UniqueConstraint("source", "external_id"),)
    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=16)
    external_id: str = Field(max_length=255)
    email: str | None = Field(default=None, max_length=254)
    starts_at: datetime | None = _utc(nullable=True)
    status: str = Field(max_length=16)  # booked | moved | cancelled | unmatched
    session_id: int | None = Field(default=None, foreign_key="coaching_session.id")
    enrolment_id: int | None = Field(default=None, foreign_key="enrolment.id", index=True)
    created_at: datetime = _utc(nullable=False)
    updated_at: datetime = _utc(nullable=False)


class ApiToken(SQLModel, table=True):
    """A bearer token of the HTTP API: only its SHA-256 is kept; revoked, never deleted."""

    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = _utc(nullable=False)
    revoked_at: datetime | None = _utc(nullable=True)
    last_used_at: datetime | None = _utc(nullable=True)


class NextOffer(SQLModel, table=True):
    """The next program offered to a client who finished one, and what they said."""

    __tablename__ = "next_offer"
    id: int | None = Field(default=None, primary_key=True)
    enrolment_id: int = Field(foreign_key="enrolment.id", unique=True)
    program_id: str = Field(max_length=64)
    offered_at: datetime = _utc(nullable=False)
    answer: str | None = Field(default=None, max_length=8)  # yes | no
    answered_at: datetime | None = _utc(nullable=True)
    next_enrolment_id: int | None = Field(default=None, foreign_key="enrolment.id")


class Tally(SQLModel, table=True):
    """Anonymous counts per UTC day (floods refused, wrong invite codes): never whose."""

    name: str = Field(primary_key=True, max_length=32)
    day: date = Field(primary_key=True)
    count: int = 0


class RelayedMessage(SQLModel, table=True):
    """A message between a coach and a client through the bot, in the thread of a check-in."""

    # The `card` (a completed check-in posted to the coach) anchors the thread: its Slack
    # post is (slack_channel, slack_ts). A coach's reply in that thread is a `to_client`
    # row, the client's answer to it a `to_coach` row. Erasing the client deletes the
    # replies and blanks the card (no enrolment, no text), so a coach's late reply can be
    # told the client is gone.
    __tablename__ = "relayed_message"
    id: int | None = Field(default=None, primary_key=True)
    enrolment_id: int | None = Field(default=None, foreign_key="enrolment.id", index=True)
    coach_id: int = Field(foreign_key="person.id")
    direction: str = Field(max_length=16)  # card | to_client | to_coach
    card_id: int | None = Field(default=None, foreign_key="relayed_message.id", index=True)
    text: str = Field(default="", max_length=4000)
    at: datetime = _utc(nullable=False)
    slack_channel: str | None = Field(default=None, max_length=32)
    slack_ts: str | None = Field(default=None, max_length=32, index=True)
    # A coach's message the client has not answered yet: their next free message answers it.
    answered_at: datetime | None = _utc(nullable=True)


class SessionNote(SQLModel, table=True):
    """What a coach wrote for the client after a session: notes, the next checkpoint, and
    (in `action_item`) up to five things the client agreed to do."""

    __tablename__ = "session_note"
    id: int | None = Field(default=None, primary_key=True)
    enrolment_id: int = Field(foreign_key="enrolment.id", index=True)
    coach_id: int | None = Field(default=None, foreign_key="person.id")
    session_id: int | None = Field(default=None, foreign_key="coaching_session.id")
    notes: str = Field(default="", max_length=3000)
    next_checkpoint: date | None = None
    created_at: datetime = _utc(nullable=False)


class ActionItem(SQLModel, table=True):
    """One action item of a session's notes; open until the client answers "Done"."""

    __tablename__ = "action_item"
    id: int | None = Field(default=None, primary_key=True)
    enrolment_id: int = Field(foreign_key="enrolment.id", index=True)
    note_id: int = Field(foreign_key="session_note.id", index=True)
    text: str = Field(max_length=300)
    due: date | None = None
    status: str = Field(default="open", max_length=16)  # open | done
    # The client's latest answer at a check-in (done | partly | not_yet) and when.
    last_answer: str | None = Field(default=None, max_length=16)
    answered_at: datetime | None = _utc(nullable=True)
    created_at: datetime = _utc(nullable=False)


class SendSlot(SQLModel, table=True):
    """One slot of a bot's send budget, shared by every worker of the bot (PostgreSQL).

    A gate ("*" for the whole bot, or one address) has as many slots as sends it allows per
    period; a slot is held while its request is in flight and free again one period after
    the answer. Times are the database's own clock, the one every worker shares.
    """

    __tablename__ = "send_slot"
    bot: str = Field(max_length=64, primary_key=True)
    gate: str = Field(max_length=64, primary_key=True)
    slot: int = Field(primary_key=True)
    free_at: datetime = _utc(nullable=False)

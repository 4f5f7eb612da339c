"""The inbound path: dedupe, identify, engine step, and one transaction for everything it changed.

Also the entry for starting a flow from outside a message (the console's first run, the
scheduler's touchpoints), so both paths store state and queue replies the same way.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session

from bot import data_rights, decisions, edits
from bot.inbound import Inbound
from bot.progress import progress_reply
from conversations import engine as core
from conversations.messages import Message, Reply
from conversations.program import Program
from scheduler.clock import Clock
from services import next_offer
from services.unit_of_work import Runtime, UnitOfWork
from storage import conversations as convs
from storage import enrolments, inbound, outbox, people
from storage.db import retry_when_locked
from storage.db import session as new_session
from storage.models import Consent, Enrolment, Person

log = logging.getLogger("coachbot.inbound")

Outcome = Literal["duplicate", "stranger", "joined", "stale", "handled"]

JOIN_TEXT = ("Hi! I don't know you yet. coachbot is for clients of a coaching program: "
             "ask your coach for your personal invite link (or code), then send /start "
             "followed by the code.")


@dataclass(frozen=True)
class Handled:
    """What happened to one inbound message."""

    outcome: Outcome
    enrolment_id: int | None = None
    replies: int = 0


class InboundHandler:
    """Turns an `Inbound` into stored answers, state and queued replies."""

    def __init__(self, *, db: Engine, programs: Mapping[str, Program], clock: Clock,
                 team_channel: str | None = None) -> None:
        self.db = db
        self.programs = programs
        self.clock = clock
        self.runtime = Runtime(db=db, clock=clock, programs=programs, team_channel=team_channel)

    # --- messages from people -----------------------------------------------------------

    @retry_when_locked
    def handle(self, message: Inbound) -> Handled:
        """Handle one inbound message exactly once, whatever the number of deliveries."""
        now = self.clock.now()
        with new_session(self.db) as session, session.begin():
            if not inbound.first_delivery(session, channel=message.channel,
                                          event_id=message.event_id, now=now):
                log.info("duplicate channel=%s event=%s", message.channel, message.event_id)
                return Handled("duplicate")
            code = _start_code(message.text) if message.button is None else None
            if code is not None:
                joined = self._join(session, message, code, now)
                if joined is not None:
                    return joined
            found = enrolments.enrolment_at(session, channel=message.channel,
                                            address=message.sender)
            if found is None or found[0].status == "invited":
                self._queue(session, message, found[1].id if found else None,
                            [Reply(JOIN_TEXT)], now)
                log.info("stranger channel=%s event=%s", message.channel, message.event_id)
                return Handled("stranger", replies=1)
            enrolment, person = found
            if message.button is not None and message.button_question == next_offer.QUESTION:
                return self._next_step(session, message, person, now)
            conversation = convs.open_conversation(session, enrolment.id or 0)
            ctx = self._context(session, enrolment, person, convs.flow_state(conversation), now)
            result = core.step(ctx, Message(text=message.text, button=message.button,
                                            button_question=message.button_question))
            if result.stale:
                log.info("stale button enrolment=%s", enrolment.id)
                return Handled("stale", enrolment_id=enrolment.id)
            if any(e.kind == "erase_requested" for e in result.events):
                return self._erase(session, message, person, list(result.replies), now)
            replies = list(result.replies)
            if any(e.kind == "data_requested" for e in result.events):
                replies.append(data_rights.export_reply(session, person, actor="client",
                                                        now=now))
            if any(e.kind == "progress_requested" for e in result.events):
                replies.append(progress_reply(session, self.programs[enrolment.program_id],
                                              enrolment, channel=message.channel))
            self._apply(session, enrolment, conversation, result, now)
            self._queue(session, message, person.id, replies, now)
            self._offer_after_review(session, enrolment, ctx, result, now)
            if decisions.needed(self.programs[enrolment.program_id], result):
                self.decide(session, enrolment, person, now)
            log.info("handled channel=%s event=%s enrolment=%s answers=%d replies=%d",
                     message.channel, message.event_id, enrolment.id, len(result.answers),
                     len(replies))
            return Handled("handled", enrolment_id=enrolment.id, replies=len(replies))

    @retry_when_locked
    def edit(self, message: Inbound, *, ref: str) -> edits.EditOutcome:
        """The client edited the message `ref` to `message.text`: update the answer it gave
        (their latest only), once; a changed answer of a finished flow is decided on again."""
        now = self.clock.now()
        with new_session(self.db) as session, session.begin():
            edited = edits.apply_edit(session, self.programs, message, ref=ref, now=now)
            if edited.outcome == "updated" and edited.flow_done:
                assert edited.enrolment is not None and edited.person is not None
                self.decide(session, edited.enrolment, edited.person, now)
            return edited.outcome

    def erase_client(self, person_id: int, *, actor: str) -> data_rights.erasure.Erased | None:
        """Erase a client on a staff member's request (the CLI); their coach is told."""
        now = self.clock.now()
        with new_session(self.db) as session, session.begin():
            person = session.get(Person, person_id)
            if person is None or person.role != "client":
                return None
            return data_rights.erase_client(
                session, person, actor=actor, now=now, notify=lambda pid, key, notes:
                self._queue_to_person(session, pid, key, notes, now))

    def _erase(self, session: Session, message: Inbound, person: Person,
               replies: list[Reply], now: datetime) -> Handled:
        """The client confirmed /delete: erase them, tell their coach, say goodbye."""
        erased = data_rights.erase_client(
            session, person, actor="client", now=now,
            notify=lambda pid, key, notes: self._queue_to_person(session, pid, key, notes, now))
        # The goodbye is not theirs to keep: no person id, so nothing links it to them.
        self._queue(session, message, None, replies, now)
        log.info("erased channel=%s event=%s enrolments=%s", message.channel,
                 message.event_id, ",".join(map(str, erased.enrolment_ids)))
        return Handled("handled", replies=len(replies))

    def _next_step(self, session: Session, message: Inbound, person: Person,
                   now: datetime) -> Handled:
        """A press on the next-step offer: a yes may start the next program's intake."""
        answered = next_offer.answer(self.runtime, UnitOfWork(session=session, now=now),
                                     person, message.button or "")
        replies = list(answered.replies)
        if answered.started is not None:
            intake = self.programs[answered.started.program_id].intake_flow.id
            replies += self._begin(session, answered.started, intake, now)
        self._queue(session, message, person.id, replies, now)
        return Handled("handled", enrolment_id=answered.started.id if answered.started
                       else None, replies=len(replies))

    def _offer_after_review(self, session: Session, enrolment: Enrolment, ctx: core.Context,
                            result: core.Step, now: datetime) -> None:
        """A good score in the final review earns the next-step offer there and then."""
        program = self.programs[enrolment.program_id]
        for event in result.events:
            if event.kind != "flow_completed" or event.flow is None:
                continue
            answers = {**(ctx.flow_state.answers if ctx.flow_state else {}),
                       **{a.question: a.value for a in result.answers}}
            if next_offer.good_review(program, event.flow, answers):
                next_offer.offer(self.runtime, UnitOfWork(session=session, now=now), enrolment)

    def _join(self, session: Session, message: Inbound, code: str,
              now: datetime) -> Handled | None:
        enrolment = enrolments.redeem_invite(session, code, now=now)
        if enrolment is None:
            return None
        people.bind_identity(session, person_id=enrolment.person_id, channel=message.channel,
                             address=message.sender)
        intake = self.programs[enrolment.program_id].intake_flow.id
        replies = self._begin(session, enrolment, intake, now)
        self._queue(session, message, enrolment.person_id, replies, now)
        log.info("joined channel=%s enrolment=%s", message.channel, enrolment.id)
        return Handled("joined", enrolment_id=enrolment.id, replies=len(replies))

    # --- flows started by the bot -------------------------------------------------------

    def start_flow(self, enrolment_id: int, flow_id: str, *, key: str,
                   lead: str | None = None) -> int:
        """Open a flow for an enrolment and queue its first question on every identity.

        `key` makes it idempotent: starting the same touchpoint twice queues nothing new.
        Returns the number of messages queued.
        """
        now = self.clock.now()
        with new_session(self.db) as session, session.begin():
            enrolment = session.get(Enrolment, enrolment_id, with_for_update=True)
            if enrolment is None or enrolment.status not in ("consent", "active"):
                return 0
            replies = self._begin(session, enrolment, flow_id, now, lead=lead)
            return self._queue_to_person(session, enrolment.person_id, key, replies, now)

    def send_to_client(self, enrolment_id: int, *, key: str,
                       build: Callable[[core.Context], list[Reply]]) -> int:
        """Queue replies built from the client's current context on every identity.

        For what the bot says unprompted besides flows (scheduled messages, reminders);
        `key` makes it idempotent. Returns the number of messages queued.
        """
        now = self.clock.now()
        with new_session(self.db) as session, session.begin():
            enrolment = session.get(Enrolment, enrolment_id)
            person = session.get(Person, enrolment.person_id) if enrolment else None
            if enrolment is None or person is None:
                return 0
            conversation = convs.open_conversation(session, enrolment_id)
            ctx = self._context(session, enrolment, person, convs.flow_state(conversation), now)
            return self._queue_to_person(session, person.id or 0, key, build(ctx), now)

    def _begin(self, session: Session, enrolment: Enrolment, flow_id: str, now: datetime,
               lead: str | None = None) -> list[Reply]:
        person = session.get(Person, enrolment.person_id)
        assert person is not None
        conversation = convs.open_conversation(session, enrolment.id or 0)
        if conversation is not None:
            # Never interrupt an open conversation; a stale one of another flow is closed.
            state = convs.flow_state(conversation)
            if state is not None and state.flow == flow_id:
                return []
        ctx = self._context(session, enrolment, person, None, now)
        result = core.start_flow(ctx, flow_id, lead=lead)
        self._apply(session, enrolment, conversation, result, now, outcome="abandoned")
        return list(result.replies)

    # --- decisions from data ---------------------------------------------------------------

    def decide(self, session: Session, enrolment: Enrolment, person: Person,
               now: datetime) -> decisions.Outcome:
        """Recompute the enrolment's metrics and act on its rules, in the caller's transaction."""
        return decisions.evaluate(
            session, program=self.programs[enrolment.program_id], enrolment=enrolment, now=now,
            values=lambda: self._context(session, enrolment, person, None, now).values,
            queue=lambda key, replies: self._queue_to_person(
                session, person.id or 0, key, replies, now))

    def reevaluate(self, enrolment_id: int) -> decisions.Outcome | None:
        """Recompute one enrolment's metrics and rules now (a missed check-in, a quiet day)."""
        now = self.clock.now()
        with new_session(self.db) as session, session.begin():
            enrolment = session.get(Enrolment, enrolment_id, with_for_update=True)
            person = session.get(Person, enrolment.person_id) if enrolment else None
            if enrolment is None or person is None:
                return None
            return self.decide(session, enrolment, person, now)

    # --- shared ---------------------------------------------------------------------------

    def _context(self, session: Session, enrolment: Enrolment, person: Person,
                 state: core.FlowState | None, now: datetime) -> core.Context:
        program = self.programs[enrolment.program_id]
        zone = ZoneInfo(person.timezone)
        coach = session.get(Person, enrolment.coach_id) if enrolment.coach_id else None
        week = max(1, (now - enrolment.enrolled_at).days // 7 + 1)
        status = enrolment.status if enrolment.status != "invited" else "consent"
        values = {
            "client.first_name": person.name.split()[0] if person.name.split() else person.name,
            "client.name": person.name,
            "coach.name": coach.name if coach else "your coach",
            "program.name": program.name,
            "week": min(week, program.weeks),
            "weeks": program.weeks,
            "stage": enrolment.stage,
            "checkin_day": core.DAY_NAMES.get(enrolment.checkin_day, enrolment.checkin_day),
            "checkin_time": enrolment.checkin_time,
            "booking_link": program.booking_link or "",
        }
        return core.Context(program=program, status=status,  # type: ignore[arg-type]
                            flow_state=state, now=now, today=now.astimezone(zone).date(),
                            values=values)

    def _apply(self, session: Session, enrolment: Enrolment, conversation, result: core.Step,
               now: datetime, outcome: str = "completed") -> None:
        program = self.programs[enrolment.program_id]
        declined = any(e.kind == "consent_declined" for e in result.events)
        stored = convs.save_flow_state(
            session, enrolment_id=enrolment.id or 0, current=conversation,
            state=result.flow_state, now=now, outcome="declined" if declined else outcome)
        conversation_id = stored.id if stored is not None else (
            conversation.id if conversation is not None else None)
        for answer in result.answers:
            assert conversation_id is not None
            convs.store_answer(session, enrolment_id=enrolment.id or 0,
                               conversation_id=conversation_id, answer=answer, now=now)
        checksum = hashlib.sha256(program.privacy.statement.encode()).hexdigest()
        for event in result.events:
            if event.kind in ("consent_given", "consent_declined"):
                session.add(Consent(enrolment_id=enrolment.id or 0,
                                    given=event.kind == "consent_given",
                                    statement_checksum=checksum, at=now))
            elif event.kind == "schedule_changed":
                enrolment.checkin_day = event.data["day"]
                enrolment.checkin_time = event.data["time"]
            elif event.kind == "flow_completed":
                stage = program.stage(enrolment.stage)
                if stage.until_flow_done == event.flow and stage.next:
                    enrolment.stage = stage.next
                    enrolment.stage_started_at = now
        enrolment.status = result.status
        session.add(enrolment)
        session.flush()

    def _queue(self, session: Session, message: Inbound, person_id: int | None,
               replies: list[Reply], now: datetime) -> None:
        for index, reply in enumerate(replies):
            outbox.enqueue(session, key=f"in:{message.channel}:{message.event_id}:{index}",
                           channel=message.channel, address=message.sender,
                           person_id=person_id, reply=reply, now=now)

    def _queue_to_person(self, session: Session, person_id: int, key: str,
                         replies: list[Reply], now: datetime) -> int:
        queued = 0
        for identity in people.identities_of(session, person_id):
            if identity.unreachable_since is not None:
                continue
            for index, reply in enumerate(replies):
                queued += outbox.enqueue(
                    session, key=f"{key}:{identity.channel}:{index}", channel=identity.channel,
                    address=identity.address, person_id=person_id, reply=reply, now=now)
        return queued


def _start_code(text: str) -> str | None:
    """The code of '/start CODE' (Telegram deep links arrive this way), if any."""
    parts = text.strip().split()
    if len(parts) == 2 and parts[0].split("@", 1)[0].lower() == "/start":
        return parts[1]
    return None


"""What the engine knows of one client at one moment, and what its steps change.

`context` builds the engine's input (placeholders included); `apply_step` stores a step's
result. Engine events map to their effects in one table, `EFFECTS`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from conversations import engine as core
from conversations.action_items import AskedItem, item_of
from conversations.formatting import format_weekday
from conversations.journey import conversation_status, program_week
from conversations.messages import Event, Reply
from conversations.program import Program
from conversations.translations import DEFAULT_LANGUAGE
from storage import action_item_store
from storage import conversation_store as convs
from storage.models import Consent, Conversation, Enrolment, Person


def context(session: Session, program: Program, enrolment: Enrolment, person: Person,
            state: core.FlowState | None, now: datetime, *,
            items: tuple[AskedItem, ...] | None = None) -> core.Context:
    """The engine's view of a client: program, status, open flow, today, placeholders;
    `items`: its open action items, when the caller read them already."""
    zone = ZoneInfo(person.timezone)
    language = client_language(program, enrolment)
    coach = session.get(Person, enrolment.coach_id) if enrolment.coach_id else None
    words = person.name.split()
    values = {
        "client.first_name": words[0] if words else person.name,
        "client.name": person.name,
        # No coach: no value, and the text's own fallback reads ({coach.name|your coach}).
        "coach.name": coach.name if coach else None,
        "program.name": program.name,
        "week": program_week(enrolment.enrolled_at, now, program.weeks),
        "weeks": program.weeks,
        "stage": enrolment.stage,
        "checkin_day": format_weekday(enrolment.checkin_day, language),
        "checkin_day_id": enrolment.checkin_day,
        "checkin_time": enrolment.checkin_time,
        "booking_link": program.booking_link or "",
    }
    # Only a check-in about to open reads the open action items: mid-flow, none are needed.
    if state is not None and state.asked is not None:
        items = ()
    elif items is None:
        items = tuple(action_item_store.open_items(session, enrolment.id or 0))
    return core.Context(program=program,
                        status=conversation_status(enrolment.status),  # type: ignore[arg-type]
                        flow_state=state, now=now, today=now.astimezone(zone).date(),
                        values=values, action_items=items, language=language)


def client_language(program: Program, enrolment: Enrolment) -> str:
    """The language a client is spoken to in: the one they chose, else the program's."""
    return enrolment.language or program.language


def staff_language(session: Session, person_id: int) -> str:
    """The language a coach or team member is written to in (`staff add --language`)."""
    return person_language(session.get(Person, person_id))


def person_language(person: Person | None) -> str:
    """A staff member's own language (`staff add --language`), else English."""
    return (person.language if person is not None else None) or DEFAULT_LANGUAGE


def shared_language(programs: Iterable[Program]) -> str:
    """The language of whoever has no language of their own (someone the bot does not know
    yet, the team channel): the one every running program speaks, else English."""
    spoken = {program.language for program in programs}
    return spoken.pop() if len(spoken) == 1 else DEFAULT_LANGUAGE


# --- what each engine event changes in the tables ---------------------------------------

Effect = Callable[[Session, Program, Enrolment, Event, datetime], None]


def _consent(session: Session, program: Program, enrolment: Enrolment, event: Event,
             now: datetime) -> None:
    checksum = hashlib.sha256(program.privacy.statement.encode()).hexdigest()
    session.add(Consent(enrolment_id=enrolment.id or 0, given=event.kind == "consent_given",
                        statement_checksum=checksum, at=now))


def _schedule(session: Session, program: Program, enrolment: Enrolment, event: Event,
              now: datetime) -> None:
    # The plan inputs change; the scheduler replans the check-ins on its next tick.
    enrolment.checkin_day = event.data["day"]
    enrolment.checkin_time = event.data["time"]


def _flow_completed(session: Session, program: Program, enrolment: Enrolment, event: Event,
                    now: datetime) -> None:
    stage = program.stage(enrolment.stage)
    if stage.until_flow_done == event.flow and stage.next:
        enrolment.stage = stage.next
        enrolment.stage_started_at = now


def _language(session: Session, program: Program, enrolment: Enrolment, event: Event,
              now: datetime) -> None:
    enrolment.language = event.data["language"]


EFFECTS: dict[str, Effect] = {
    "language_changed": _language,
    "consent_given": _consent,
    "consent_declined": _consent,
    "schedule_changed": _schedule,
    "flow_completed": _flow_completed,
}
# Events with an effect outside the tables, handled by the inbound service itself:
# erase_requested, data_requested, progress_requested (each queues or erases something).


def apply_step(session: Session, program: Program, enrolment: Enrolment,
               conversation: Conversation | None, result: core.Step, now: datetime, *,
               outcome: str = "completed", message_ref: str | None = None,
               raw: str | None = None, version: int | None = None) -> int | None:
    """Store one step: the conversation's state, its answers, and each event's effect; the
    id of the conversation left open (None when the flow ended).

    `message_ref` ties the answer that `raw` gave to the platform message it came from; a
    conversation the step opens records program `version`, the one it will finish on.
    """
    kinds = {e.kind for e in result.events}
    if "consent_declined" in kinds:
        outcome = "declined"
    elif "flow_abandoned" in kinds:
        outcome = "abandoned"  # its flow left the program (see the engine's stated rule)
    stored = convs.save_flow_state(
        session, enrolment_id=enrolment.id or 0, current=conversation,
        state=result.flow_state, now=now, outcome=outcome,
        version=version)
    conversation_id = stored if stored is not None else (
        conversation.id if conversation is not None else None)
    for answer in result.answers:
        assert conversation_id is not None
        ref = message_ref if message_ref and answer.raw == raw else None
        convs.store_answer(session, enrolment_id=enrolment.id or 0,
                           conversation_id=conversation_id, answer=answer, now=now,
                           source_ref=ref)
        item = item_of(answer.question)
        if item is not None:
            action_item_store.record_answer(session, enrolment_id=enrolment.id or 0,
                                            item_id=item, answer=str(answer.value), now=now)
    for event in result.events:
        effect = EFFECTS.get(event.kind)
        if effect is not None:
            effect(session, program, enrolment, event, now)
    if enrolment.status != result.status:  # setting it unchanged would still cost a flush
        enrolment.status = result.status
        session.add(enrolment)
    session.flush()
    return stored


def in_conversation(replies: list[Reply], conversation_id: int | None) -> list[Reply]:
    """The replies with their questions' buttons tied to the conversation that asked them."""
    if conversation_id is None:
        return replies
    return [replace(r, conversation=conversation_id) if r.buttons and r.question else r
            for r in replies]


def begin_flow(session: Session, program: Program, enrolment: Enrolment, flow_id: str,
               now: datetime, lead: str | None = None, *,
               version: int | None = None,
               open_now: Conversation | convs.LookUp | None = convs.LOOK_UP,
               items: tuple[AskedItem, ...] | None = None) -> list[Reply]:
    """Open `flow_id` for the enrolment; its first replies. Never interrupts the same flow.
    `open_now`, `items`: its open conversation and open action items, when the caller read
    them already."""
    person = session.get(Person, enrolment.person_id)
    assert person is not None
    conversation = (convs.open_conversation(session, enrolment.id or 0)
                    if isinstance(open_now, convs.LookUp) else open_now)
    if conversation is not None:
        # A stale conversation of another flow is closed; the same flow is left alone.
        state = convs.flow_state(conversation)
        if state is not None and state.flow == flow_id:
            return []
    ctx = context(session, program, enrolment, person, None, now, items=items)
    result = core.start_flow(ctx, flow_id, lead=lead)
    opened = apply_step(session, program, enrolment, conversation, result, now,
                        outcome="abandoned", version=version)
    return in_conversation(list(result.replies), opened)

"""What the bot says unprompted: opening a flow, or a message built from the client's context.

Both run inside the caller's unit of work and queue on every reachable identity of the
client under an idempotency key, so a retried touchpoint or rule queues nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable

from conversations import engine as core
from conversations.action_items import AskedItem
from conversations.journey import may_start_flow
from conversations.messages import Reply
from services.client_context import begin_flow, context
from services.program_versions import program_for
from services.unit_of_work import Runtime, UnitOfWork
from storage import conversation_store as convs
from storage.models import Conversation, Enrolment, Person

Build = Callable[[core.Context], list[Reply]]


def start_flow(rt: Runtime, uow: UnitOfWork, enrolment_id: int, flow_id: str, *, key: str,
               lead: str | None = None,
               open_now: Conversation | convs.LookUp | None = convs.LOOK_UP,
               items: tuple[AskedItem, ...] | None = None) -> int:
    """Open a flow and queue its first question; how many messages were queued.
    `open_now`, `items`: the enrolment's open conversation and open action items, when the
    caller read them already."""
    # An enrolment its batch has locked is in the session already: no second SELECT.
    enrolment = uow.session.get(Enrolment, enrolment_id,
                                with_for_update=enrolment_id not in uow.locked)
    if enrolment is None or not may_start_flow(enrolment.status):
        return 0
    replies = begin_flow(uow.session, rt.program(enrolment.program_id), enrolment, flow_id,
                         uow.now, lead=lead, version=rt.catalog.version_id(enrolment.program_id),
                         open_now=open_now, items=items)
    return uow.queue_to_person(enrolment.person_id, key, replies)


def send_to_client(rt: Runtime, uow: UnitOfWork, enrolment_id: int, *, key: str,
                   build: Build) -> int:
    """Queue replies built from the client's current context; how many were queued."""
    enrolment = uow.session.get(Enrolment, enrolment_id)
    person = uow.session.get(Person, enrolment.person_id) if enrolment else None
    if enrolment is None or person is None:
        return 0
    conversation = convs.open_conversation(uow.session, enrolment_id)
    program, _ = program_for(rt, uow.session, enrolment.program_id, conversation)
    ctx = context(uow.session, program, enrolment, person, convs.flow_state(conversation),
                  uow.now)
    return uow.queue_to_person(person.id or 0, key, build(ctx))


def open_flow_now(rt: Runtime, enrolment_id: int, flow_id: str, *, key: str) -> int:
    """Open a flow for a client right away, in its own transaction (a coach's nudge)."""
    with rt.transaction() as uow:
        return start_flow(rt, uow, enrolment_id, flow_id, key=key)

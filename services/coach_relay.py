"""The coach in the loop: a completed check-in is posted to the client's coach as a card,
the coach's reply in its thread reaches the client as "From your coach: ...", and the
client's next free message goes back into that thread.

The relayed words are stored (`relayed_message`), erased with the client, audited by id
only, and never sent to a client the bot may not message (paused, ended, erased, blocked).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Literal

from conversations.action_items import item_of, label
from conversations.journey import is_current, may_receive, program_week
from conversations.messages import Reply
from conversations.program import Program
from conversations.render import answer_title, shown_answer
from conversations.translations import N_, translator
from services import coach_home, keys
from services.client_context import client_language, person_language
from services.unit_of_work import Runtime, UnitOfWork
from storage import action_item_store, audit, dedupe, people, relay_store, staff
from storage.models import Enrolment, Person

log = logging.getLogger("coachbot.coach_relay")

SLACK = "slack"
# TRANSLATORS: {message} is the coach's own words, relayed to the client as written.
FROM_COACH = N_("From your coach: {message}")
SENT_TO_COACH = N_("Sent to your coach.")
Relayed = Literal["duplicate", "not_a_card", "not_theirs", "erased", "paused", "ended",
                  "unreachable", "sent"]
# What the coach is told, privately, when their reply cannot be delivered.
# Told to the coach, in their language (translated where it is said).
REFUSALS: dict[str, str] = {
    "erased": N_("Not sent: this client has erased their data, so they can no longer be "
                 "reached through coachbot."),
    "paused": N_("Not sent: this client has paused the program. They'll hear from you once "
                 "they send resume."),
    "ended": N_("Not sent: this client is no longer in the program."),
    "unreachable": N_("Not sent: this client has blocked the bot or left the workspace, so "
                      "nothing can reach them right now."),
}


def post_checkin(uow: UnitOfWork, program: Program, enrolment: Enrolment, client: Person,
                 answers: Mapping[str, object]) -> bool:
    """Queue the card of a completed check-in to the client's coach; False if none on Slack."""
    session = uow.session
    coach = session.get(Person, enrolment.coach_id) if enrolment.coach_id else None
    if coach is None:
        return False
    address = coach.checkin_channel or staff.slack_id_of(session, coach.id)
    if not address:
        return False
    card = relay_store.add(session, enrolment_id=enrolment.id or 0, coach_id=coach.id or 0,
                           direction="card", now=uow.now)
    flow = program.flow(program.checkin_flow)
    week = program_week(enrolment.enrolled_at, uow.now, program.weeks)
    items = {item_of(q): q for q in answers if item_of(q) is not None}
    named = action_item_store.texts(session, [i for i in items if i is not None])
    language = person_language(coach)
    t = translator(language)
    lines = [t.gettext("Action item \"{item}\": {answer}").format(
        item=named.get(item or 0, "?"), answer=label(answers[q], t)) for item, q in items.items()]
    lines += [f"{answer_title(program, flow.id, q.id)}: {shown_answer(q, answers[q.id], language)}"
              for q in flow.questions if q.id in answers]
    title = t.gettext("Check-in: {client}, week {week}").format(client=client.name, week=week)
    text = "\n".join([title, *lines])
    # The client's id on the row: erasing them takes a card still waiting in the outbox.
    uow.queue(key=keys.relay_card(card.id or 0), channel=SLACK, address=address,
              person_id=client.id, reply=Reply(text=text, relay_card=card.id,
                                               language=language))
    coach_home.refresh(uow, coach.id, f"card:{card.id}")
    return True


def from_coach(rt: Runtime, *, event_id: str, user: str, channel: str, ts: str,
               text: str) -> Relayed:
    """A reply in a card's thread: deliver it to the client if the card's coach wrote it."""
    with rt.transaction() as uow:
        session = uow.session
        card = relay_store.card_at(session, channel=channel, ts=ts)
        if card is None:
            return "not_a_card"
        if not dedupe.first_delivery(session, channel=SLACK, event_id=event_id, now=uow.now):
            return "duplicate"
        coach = staff.staff_at(session, user)
        if coach is None or coach.id != card.coach_id:
            log.info("reply in a card thread by someone else card=%s", card.id)
            return "not_theirs"
        enrolment = session.get(Enrolment, card.enrolment_id) if card.enrolment_id else None
        refused = refusal(session, enrolment)
        if refused is not None or enrolment is None:
            log.info("coach reply not relayed card=%s reason=%s", card.id, refused)
            return refused or "erased"
        row = relay_store.add(session, enrolment_id=enrolment.id or 0, coach_id=coach.id or 0,
                              direction="to_client", card_id=card.id, text=text, now=uow.now)
        t = translator(client_language(rt.program(enrolment.program_id), enrolment))
        uow.queue_to_person(enrolment.person_id, keys.relay_message(row.id or 0),
                            [Reply(text=t.gettext(FROM_COACH).format(message=text))])
        audit.record(session, at=uow.now, actor=f"person:{coach.id}",
                     action="coach_message_relayed", enrolment_id=enrolment.id,
                     message=row.id or 0)
        log.info("coach reply relayed card=%s message=%s", card.id, row.id)
        return "sent"


def refusal(session, enrolment: Enrolment | None) -> Relayed | None:
    """Why nothing may be sent to this client now (erased, paused, ended, unreachable)."""
    if enrolment is None:
        return "erased"
    if enrolment.status == "paused":
        return "paused"
    if not may_receive(enrolment.status):
        return "ended"
    if all(i.unreachable_since is not None
           for i in people.identities_of(session, enrolment.person_id)):
        return "unreachable"
    return None


def answer_coach(uow: UnitOfWork, enrolment: Enrolment, client: Person, text: str) -> bool:
    """The client's free message after a coach's: into the card's thread. False if none waits."""
    session = uow.session
    waiting = relay_store.awaiting_answer(session, enrolment.id or 0)
    if waiting is None or not is_current(enrolment.status) or waiting.card_id is None:
        return False
    card = relay_store.card(session, waiting.card_id)
    if card is None or not card.slack_channel or not card.slack_ts:
        return False
    row = relay_store.add(session, enrolment_id=enrolment.id or 0, coach_id=card.coach_id,
                          direction="to_coach", card_id=card.id, text=text, now=uow.now)
    relay_store.mark_answered(session, enrolment_id=enrolment.id or 0, now=uow.now)
    uow.queue(key=keys.relay_message(row.id or 0), channel=SLACK, address=card.slack_channel,
              person_id=client.id, reply=Reply(text=f"{client.name}: {text}",
                                               thread_of=card.id))
    audit.record(session, at=uow.now, actor="client", action="client_message_relayed",
                 enrolment_id=enrolment.id, message=row.id or 0)
    log.info("client reply relayed card=%s message=%s", card.id, row.id)
    return True


def record_post(session, card_id: int, *, channel: str, ts: str | None) -> None:
    """The card went out: its thread is where the coach answers."""
    relay_store.mark_posted(session, card_id, channel=channel, ts=ts)


def anchor_of(session, card_id: int) -> str | None:
    """The Slack ts of a card's post, which its thread replies hang under."""
    card = relay_store.card(session, card_id)
    return card.slack_ts if card is not None else None

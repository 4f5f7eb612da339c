"""Handle a message from someone: dedupe, identify, engine step, and one transaction.

Everything one message changes commits together: the dedupe row, the answer (with the
platform message it came from), the conversation's state, the effects of its events, the
rules it triggers, and the replies queued in the outbox. A platform is told the message was
received only after this returns.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from conversations import engine as core
from conversations.journey import has_joined
from conversations.messages import Inbound, Reply
from services import coach_relay, data_rights, decisions, edits, keys, next_offer
from services.client_context import apply_step, begin_flow, context
from services.progress import progress_reply
from services.unit_of_work import Runtime, UnitOfWork, retry_when_locked
from storage import conversation_store as convs
from storage import dedupe, enrolments, people
from storage.models import Enrolment, Person

log = logging.getLogger("coachbot.inbound")

Outcome = Literal["duplicate", "stranger", "joined", "stale", "handled"]

JOIN_TEXT = ("Hi! I don't know you yet. coachbot is for clients of a coaching program: "
             "ask your coach for your personal invite link (or code), then send /start "
             "followed by the code.")


@dataclass(frozen=True)
class Handled:
    """What happened to one inbound message; `answered` names the question it answered."""

    outcome: Outcome
    enrolment_id: int | None = None
    replies: int = 0
    answered: str | None = None


class InboundService:
    """Turns an `Inbound` into stored answers, state and queued replies."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    @retry_when_locked
    def handle(self, message: Inbound) -> Handled:
        """Handle one inbound message exactly once, whatever the number of deliveries."""
        with self.rt.transaction() as uow:
            if not dedupe.first_delivery(uow.session, channel=message.channel,
                                         event_id=message.event_id, now=uow.now):
                log.info("duplicate channel=%s event=%s", message.channel, message.event_id)
                return Handled("duplicate")
            code = start_code(message.text) if message.button is None else None
            if code is not None:
                joined = self._join(uow, message, code)
                if joined is not None:
                    return joined
            found = enrolments.enrolment_at(uow.session, channel=message.channel,
                                            address=message.sender)
            if found is None or not has_joined(found[0].status):
                _reply(uow, message, found[1].id if found else None, [Reply(JOIN_TEXT)])
                log.info("stranger channel=%s event=%s", message.channel, message.event_id)
                return Handled("stranger", replies=1)
            enrolment, person, unreachable = found
            if unreachable:
                # They wrote to us, so they can be reached again (they unblocked the bot).
                people.mark_reachable(uow.session, channel=message.channel,
                                      address=message.sender)
            if message.button is not None and message.button_question == next_offer.QUESTION:
                return self._next_step(uow, message, person)
            return self._step(uow, message, enrolment, person)

    def _step(self, uow: UnitOfWork, message: Inbound, enrolment: Enrolment,
              person: Person) -> Handled:
        session, now = uow.session, uow.now
        program = self.rt.program(enrolment.program_id)
        conversation = convs.open_conversation(session, enrolment.id or 0)
        state = convs.flow_state(conversation)
        if _free_message(message, state) and coach_relay.answer_coach(
                uow, enrolment, person, message.text):
            _reply(uow, message, person.id, [Reply(coach_relay.SENT_TO_COACH)])
            return Handled("handled", enrolment_id=enrolment.id, replies=1)
        ctx = context(session, program, enrolment, person, state, now)
        result = core.step(ctx, message)
        if result.stale:
            log.info("stale button enrolment=%s", enrolment.id)
            return Handled("stale", enrolment_id=enrolment.id)
        kinds = {e.kind for e in result.events}
        if "erase_requested" in kinds:
            return self._erase(uow, message, person, list(result.replies))
        replies = list(result.replies)
        if "data_requested" in kinds:
            replies.append(data_rights.export_reply(session, person, actor="client", now=now))
        if "progress_requested" in kinds:
            replies.append(progress_reply(session, program, enrolment,
                                          channel=message.channel))
        raw = message.button if message.button is not None else message.text
        apply_step(session, program, enrolment, conversation, result, now,
                   message_ref=message.message_ref, raw=raw)
        _reply(uow, message, person.id, replies)
        self._offer_after_review(uow, enrolment, ctx, result)
        self._card_for_coach(uow, enrolment, person, ctx, result)
        if decisions.needed(program, result):
            decisions.evaluate(self.rt, uow, program=program, enrolment=enrolment, person=person)
        log.info("handled channel=%s event=%s enrolment=%s answers=%d replies=%d",
                 message.channel, message.event_id, enrolment.id, len(result.answers),
                 len(replies))
        asked = state.asked if state is not None else None
        answered = asked if any(a.question == asked for a in result.answers) else None
        return Handled("handled", enrolment_id=enrolment.id, replies=len(replies),
                       answered=answered)

    @retry_when_locked
    def edit(self, message: Inbound) -> edits.EditOutcome:
        """The client edited the message `message.message_ref` to `message.text`: update the
        answer it gave (their latest only), once; a finished flow's rules see the change."""
        with self.rt.transaction() as uow:
            edited = edits.apply_edit(uow, self.rt.programs, message)
            if edited.outcome == "updated" and edited.flow_done:
                assert edited.enrolment is not None and edited.person is not None
                program = self.rt.program(edited.enrolment.program_id)
                decisions.evaluate(self.rt, uow, program=program, enrolment=edited.enrolment,
                                   person=edited.person)
            return edited.outcome

    def _erase(self, uow: UnitOfWork, message: Inbound, person: Person,
               replies: list[Reply]) -> Handled:
        """The client confirmed /delete: erase them, tell their coach, say goodbye."""
        erased = data_rights.erase_client(uow, person, actor="client")
        # The goodbye is not theirs to keep: no person id, so nothing links it to them.
        _reply(uow, message, None, replies)
        log.info("erased channel=%s event=%s enrolments=%s", message.channel,
                 message.event_id, ",".join(map(str, erased.enrolment_ids)))
        return Handled("handled", replies=len(replies))

    def _next_step(self, uow: UnitOfWork, message: Inbound, person: Person) -> Handled:
        """A press on the next-step offer: a yes may start the next program's intake."""
        answered = next_offer.answer(self.rt, uow, person, message.button or "")
        replies = list(answered.replies)
        if answered.started is not None:
            program = self.rt.program(answered.started.program_id)
            replies += begin_flow(uow.session, program, answered.started,
                                  program.intake_flow.id, uow.now)
        _reply(uow, message, person.id, replies)
        return Handled("handled", enrolment_id=answered.started.id if answered.started
                       else None, replies=len(replies))

    def _offer_after_review(self, uow: UnitOfWork, enrolment: Enrolment, ctx: core.Context,
                            result: core.Step) -> None:
        """A good score in the final review earns the next-step offer there and then."""
        program = self.rt.program(enrolment.program_id)
        for event in result.events:
            if event.kind != "flow_completed" or event.flow is None:
                continue
            answers = {**(ctx.flow_state.answers if ctx.flow_state else {}),
                       **{a.question: a.value for a in result.answers}}
            if next_offer.good_review(program, event.flow, answers):
                next_offer.offer(self.rt, uow, enrolment)

    def _card_for_coach(self, uow: UnitOfWork, enrolment: Enrolment, person: Person,
                        ctx: core.Context, result: core.Step) -> None:
        """A completed check-in goes to the coach at once, to be answered in its thread."""
        program = self.rt.program(enrolment.program_id)
        if not any(e.kind == "flow_completed" and e.flow == program.checkin_flow
                   for e in result.events):
            return
        answers = {**(ctx.flow_state.answers if ctx.flow_state else {}),
                   **{a.question: a.value for a in result.answers}}
        coach_relay.post_checkin(uow, program, enrolment, person, answers)

    def _join(self, uow: UnitOfWork, message: Inbound, code: str) -> Handled | None:
        enrolment = enrolments.redeem_invite(uow.session, code, now=uow.now)
        if enrolment is None:
            return None
        people.bind_identity(uow.session, person_id=enrolment.person_id,
                             channel=message.channel, address=message.sender)
        program = self.rt.program(enrolment.program_id)
        replies = begin_flow(uow.session, program, enrolment, program.intake_flow.id, uow.now)
        _reply(uow, message, enrolment.person_id, replies)
        log.info("joined channel=%s enrolment=%s", message.channel, enrolment.id)
        return Handled("joined", enrolment_id=enrolment.id, replies=len(replies))


def _reply(uow: UnitOfWork, message: Inbound, person_id: int | None,
           replies: list[Reply]) -> None:
    """Queue the replies to the address the message came from."""
    for index, reply in enumerate(replies):
        uow.queue(key=keys.reply(message.channel, message.event_id, index),
                  channel=message.channel, address=message.sender, person_id=person_id,
                  reply=reply)


def _free_message(message: Inbound, state: core.FlowState | None) -> bool:
    """Typed words that answer no open question and are no command."""
    return (message.button is None and not message.text.strip().startswith("/")
            and (state is None or state.asked is None))


def start_code(text: str) -> str | None:
    """The code of '/start CODE' (Telegram deep links arrive this way), if any."""
    parts = text.strip().split()
    if len(parts) == 2 and parts[0].split("@", 1)[0].lower() == "/start":
        return parts[1]
    return None


"""Handle a message from someone: dedupe, identify, engine step, and one transaction.

Everything one message changes commits together: the dedupe row, the answer (with the
platform message it came from), the conversation's state, the effects of its events, the
rules it triggers, and the replies queued in the outbox. A platform is told the message was
received only after this returns.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from typing import Literal

from conversations import engine as core
from conversations.journey import has_joined
from conversations.messages import Inbound, Reply
from conversations.translations import N_, translator
from services import coach_relay, data_rights, decisions, edits, invites, keys, next_offer
from services.client_context import (
    apply_step,
    begin_flow,
    client_language,
    context,
    in_conversation,
    shared_language,
)
from services.flood import SLOW_DOWN, FloodGate, Verdict
from services.flood import TALLY as FLOOD_TALLY
from services.program_versions import program_for
from services.progress import progress_reply
from services.unit_of_work import Runtime, UnitOfWork, retry_when_locked
from storage import conversation_store as convs
from storage import dedupe, enrolments, people, tallies
from storage.models import Conversation, Enrolment, Person

log = logging.getLogger("coachbot.inbound")

Outcome = Literal["duplicate", "stranger", "joined", "stale", "closed", "handled", "flooded",
                  "throttled"]

# What no database column can hold: NUL (PostgreSQL refuses it in text) and lone UTF-16
# surrogates (no UTF-8 encoding exists; a client's JSON may carry "\ud800").
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

CLOSED_TEXT = N_("That check-in is closed.")
JOIN_TEXT = N_("Hi! I don't know you yet. coachbot is for clients of a coaching program: ask "
               "your coach for your personal invite link (or code), then send /start "
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
        self.flood = FloodGate(rt.flood_limit)
        self.throttle = invites.InviteThrottle()

    def admit(self, message: Inbound) -> Verdict:
        """Count the message against its chat's flood limit; no I/O, so an event loop may ask."""
        return self.flood.check(message.channel, message.sender, self.rt.clock.now())

    def handle(self, message: Inbound, *, admitted: Verdict | None = None) -> Handled:
        """Handle one inbound message exactly once, unless its chat is over the flood limit."""
        # `admitted`: what `admit` already said of this message (it counts once).
        verdict = admitted if admitted is not None else self.admit(message)
        if verdict == "refuse":
            return Handled("flooded")
        return self._handle(message, flooded=verdict == "warn")

    @retry_when_locked
    def _handle(self, message: Inbound, *, flooded: bool) -> Handled:
        message = storable(message)
        with self.rt.transaction() as uow:
            if not dedupe.first_delivery(uow.session, channel=message.channel,
                                         event_id=message.event_id, now=uow.now):
                log.info("duplicate channel=%s event=%s", message.channel, message.event_id)
                return Handled("duplicate")
            tallies.add(uow.session, FLOOD_TALLY, day=uow.now.date(),
                        count=self.flood.take_refused())
            # One query finds the enrolment, the person, the coach and the open conversation;
            # the enrolment says the language, which even the flood warning is in.
            found = enrolments.enrolment_and_conversation_at(
                uow.session, channel=message.channel, address=message.sender)
            language = self._language(found[0] if found else None)
            t = translator(language)
            if flooded:
                _reply(uow, message, None, [Reply(t.gettext(SLOW_DOWN))], keep=False)
                log.info("flood channel=%s event=%s", message.channel, message.event_id)
                return Handled("flooded", replies=1)
            bound = found is not None and has_joined(found[0].status)
            code = start_code(message.text) if message.button is None else None
            if code is not None:
                handled = self._code(uow, message, code, language,
                                     owner=found[1].id if found and bound else None)
                if handled is not None:
                    return handled
            if found is None or not bound:
                if found is None:  # a stranger: counted, and their reply forgotten once sent
                    tallies.add(uow.session, "stranger_message", day=uow.now.date())
                _reply(uow, message, found[1].id if found else None,
                       [Reply(t.gettext(JOIN_TEXT))], keep=found is not None)
                log.info("stranger channel=%s event=%s", message.channel, message.event_id)
                return Handled("stranger", replies=1)
            # The coach is held here so the session keeps it: the context reads its name.
            enrolment, person, unreachable, conversation, _coach = found
            if unreachable:
                # They wrote to us, so they can be reached again (they unblocked the bot).
                people.mark_reachable(uow.session, channel=message.channel,
                                      address=message.sender)
            if message.button is not None and message.button_question == next_offer.QUESTION:
                return self._next_step(uow, message, person)
            if message.button is not None and \
                    message.button_question == invites.SWITCH_QUESTION:
                return self._switch(uow, message, person, message.button, language)
            return self._step(uow, message, enrolment, person, conversation)

    def language_at(self, channel: str, address: str) -> str:
        """The language the bot speaks in this chat (for what a channel says on its own)."""
        with self.rt.transaction() as uow:
            found = enrolments.enrolment_at(uow.session, channel=channel, address=address)
            return self._language(found[0] if found else None)

    def _language(self, enrolment: Enrolment | None) -> str:
        """Whom the bot does not know yet hears the language every program speaks (else
        English); a client, their own."""
        if enrolment is not None and enrolment.program_id in self.rt.programs:
            return client_language(self.rt.program(enrolment.program_id), enrolment)
        return shared_language(self.rt.programs.values())

    def _step(self, uow: UnitOfWork, message: Inbound, enrolment: Enrolment,
              person: Person, conversation: Conversation | None) -> Handled:
        session, now = uow.session, uow.now
        program = self.rt.program(enrolment.program_id)
        t = translator(client_language(program, enrolment))
        if message.button is not None and message.button_conversation is not None and (
                conversation is None or conversation.id != message.button_conversation):
            # A keyboard of a conversation that has ended: its question may be asked again
            # in a new one, and this press must not answer (or rewrite) that.
            _reply(uow, message, person.id, [Reply(t.gettext(CLOSED_TEXT))])
            log.info("closed conversation's button enrolment=%s", enrolment.id)
            return Handled("closed", enrolment_id=enrolment.id, replies=1)
        state = convs.flow_state(conversation)
        if _free_message(message, state) and coach_relay.answer_coach(
                uow, enrolment, person, message.text):
            _reply(uow, message, person.id, [Reply(t.gettext(coach_relay.SENT_TO_COACH))])
            return Handled("handled", enrolment_id=enrolment.id, replies=1)
        # The step runs on the version its conversation opened on; the rest on the running one.
        opened_on, version = program_for(self.rt, session, enrolment.program_id, conversation)
        ctx = context(session, opened_on, enrolment, person, state, now)
        result = core.step(ctx, message)
        if result.stale:
            log.info("stale button enrolment=%s", enrolment.id)
            return Handled("stale", enrolment_id=enrolment.id)
        kinds = {e.kind for e in result.events}
        if "erase_requested" in kinds:
            return self._erase(uow, message, person, list(result.replies))
        replies = list(result.replies)
        if "data_requested" in kinds:
            replies.append(data_rights.export_reply(session, person, actor="client", now=now,
                                                    language=ctx.language))
        if "progress_requested" in kinds:
            replies.append(progress_reply(session, program, enrolment,
                                          channel=message.channel, language=ctx.language))
        raw = message.button if message.button is not None else message.text
        opened = apply_step(session, program, enrolment, conversation, result, now,
                            message_ref=message.message_ref, raw=raw, version=version)
        replies = in_conversation(replies, opened)
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
        message = storable(message)
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
                                  program.intake_flow.id, uow.now,
                                  version=self.rt.catalog.version_id(program.id))
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

    def _code(self, uow: UnitOfWork, message: Inbound, code: str, language: str, *,
              owner: int | None) -> Handled | None:
        """'/start CODE': join, ask an enrolled chat before moving it, or count a wrong code."""
        t = translator(language)
        # `owner`: the client the chat belongs to. None returned: handled as any message.
        if self.throttle.blocked(message.channel, message.sender, uow.now):
            tallies.add(uow.session, invites.THROTTLED_TALLY, day=uow.now.date())
            _reply(uow, message, owner, [Reply(t.gettext(invites.THROTTLED_TEXT))],
                   keep=owner is not None)
            log.info("invite code throttled channel=%s event=%s", message.channel,
                     message.event_id)
            return Handled("throttled", replies=1)
        invited = enrolments.invited_by(uow.session, code, now=uow.now)
        if invited is None:
            self.throttle.wrong(message.channel, message.sender, uow.now)
            tallies.add(uow.session, invites.WRONG_TALLY, day=uow.now.date())
            return None
        if owner is not None:
            # Someone else's code (or a second enrolment) must not silently take this chat.
            _reply(uow, message, owner, [invites.switch_question(code, language)])
            log.info("switch asked channel=%s event=%s", message.channel, message.event_id)
            return Handled("handled", replies=1)
        return self._join(uow, message, code)

    def _switch(self, uow: UnitOfWork, message: Inbound, person: Person,
                value: str, language: str) -> Handled:
        """The answer to "switch this chat to the new enrolment?"."""
        t = translator(language)
        code = invites.switch_code(value)
        if code is None:
            _reply(uow, message, person.id, [Reply(t.gettext(invites.KEPT_TEXT))])
            return Handled("handled", replies=1)
        joined = self._join(uow, message, code)
        if joined is None:
            _reply(uow, message, person.id, [Reply(t.gettext(invites.EXPIRED_TEXT))])
            return Handled("handled", replies=1)
        return joined

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
        replies = begin_flow(uow.session, program, enrolment, program.intake_flow.id, uow.now,
                             version=self.rt.catalog.version_id(program.id))
        _reply(uow, message, enrolment.person_id, replies)
        log.info("joined channel=%s enrolment=%s", message.channel, enrolment.id)
        return Handled("joined", enrolment_id=enrolment.id, replies=len(replies))


def _reply(uow: UnitOfWork, message: Inbound, person_id: int | None,
           replies: list[Reply], *, keep: bool = True) -> None:
    """Queue the replies to the sender; unless `keep`, their rows go once sent."""
    key = keys.reply if keep else keys.passing_reply
    for index, reply in enumerate(replies):
        uow.queue(key=key(message.channel, message.event_id, index),
                  channel=message.channel, address=message.sender, person_id=person_id,
                  reply=reply)


def storable(message: Inbound) -> Inbound:
    """The message with what cannot be stored replaced: NUL dropped, a lone surrogate U+FFFD."""
    # Otherwise its transaction fails on every delivery and the client never hears back.
    if not UNSTORABLE.search(message.text):
        return message
    text = UNSTORABLE.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", message.text)
    return replace(message, text=text)


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

